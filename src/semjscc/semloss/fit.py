"""Fitting the families to measured points, with diagnostics and cross-validation.

Inputs are 1-D arrays of equal length N: ``cr`` (realised R > 0), ``snr_db`` and ``values``
(normalised quality M). Fits are bounded nonlinear least squares on M − M̂ (scipy
``least_squares``, trust-region reflective) from seeded multi-starts: the centre of the
family's start box, any ``init`` vectors, then random draws; the lowest cost wins, so a
result is deterministic given ``seed``.

Diagnostics: MAPE (percent, over points with M ≠ 0), RMSE and R² on the training points, and
two cross-validation schemes that predict each held-out group from a fit without it:
leave-one-SNR-out and leave-one-R-out (skipped when there is a single R or a single SNR).
Each fold is a fresh fit of the points it keeps by the full fit's own recipe (same seed, same
starts; U3's N-term fold starts from that fold's N − 1 fit), never from the full fit's
parameters, so a held-out group cannot shape its own prediction. The combined CV MAPE pools
the held-out errors of both schemes; families are ranked by it, and the lead of the best over
the runner-up gets a bootstrap interval (:mod:`.margin`).

Each start runs at most MAX_NFEV evaluations. The amplitudes of U3 and U4 enter linearly:
for each value of the other parameters they are solved by linear least squares (variable
projection, with Kaufman's Jacobian), which keeps these exponential sums well conditioned.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import least_squares

from ..errors import ConfigError, describe
from .families import FAMILIES, Family, LinearFamily, Scope
from .margin import Margin, family_margin, held_out_errors, pooled_mape

SCHEMES = {"leave_one_snr_out": "SNR", "leave_one_cr_out": "R"}
MAX_TERMS = 5
MAX_NFEV = 60  # per start: later iterations mostly crawl along flat valleys
# U3 takes the smallest N whose CV MAPE is within max(TERMS_RTOL * best, TERMS_ATOL) of the
# best: at noise level the curve is flat and its wiggles are noise.
TERMS_RTOL, TERMS_ATOL = 0.15, 0.05


class FitError(ConfigError):
    """Data that cannot be fitted (missing, non-finite, R <= 0, too few points)."""


def _key(x: np.ndarray) -> np.ndarray:
    """Values rounded so that repeated settings (e.g. R = 1/12 written twice) group together."""
    return np.round(x, 9)


def _listed(labels: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(str(v) for v in labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def family_of(name: str) -> Family:
    if name not in FAMILIES:
        raise FitError(f"unknown model family {name!r}; choose from {', '.join(FAMILIES)}")
    return FAMILIES[name]


def check_points(cr: ArrayLike, snr_db: ArrayLike, values: ArrayLike,
                 rows: Sequence[Any] | None = None, row_label: str = "rows",
                 names: tuple[str, str, str] = ("cr", "snr_db", "values"),
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float copies of the three arrays; FitError on unequal shapes, non-finite entries or
    R <= 0, naming the offending ``rows`` (labels, default 0-based indices) and arrays
    (``names``)."""
    arrays = [np.asarray(a, float).ravel() for a in (cr, snr_db, values)]
    if len({a.size for a in arrays}) != 1:
        raise FitError(f"{', '.join(names)} must have the same length; got "
                       f"{', '.join(str(a.size) for a in arrays)}")
    labels = list(range(arrays[0].size)) if rows is None else list(rows)
    for name, a in zip(names, arrays):
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            raise FitError(f"non-finite {name} at {row_label} {_listed([labels[i] for i in bad])};"
                           " fix or drop those rows")
    bad = np.flatnonzero(arrays[0] <= 0)
    if bad.size:
        raise FitError(f"compression ratio {names[0]} <= 0 at {row_label} "
                       f"{_listed([labels[i] for i in bad])}; R is the realised k/n > 0")
    return arrays[0], arrays[1], arrays[2]


def held_parameters(family: str, n_terms: int, single_cr: bool,
                    fixed: dict[str, float] | None = None) -> dict[str, float]:
    """Parameters not fitted: the single-R collapse, then ``fixed`` (unknown names rejected)."""
    fam = family_of(family)
    names = fam.names(n_terms)
    unknown = sorted(set(fixed or {}) - set(names))
    if unknown:
        raise FitError(f"{family} has no parameter {', '.join(unknown)}; its parameters: "
                       f"{', '.join(names)}")
    lo, hi = fam.bounds(n_terms)
    for name, value in (fixed or {}).items():
        low, high = lo[names.index(name)], hi[names.index(name)]
        if not low <= value <= high:
            raise FitError(f"{family}'s {name} held at {value:g} is outside its bounds "
                           f"{low:g}..{high:g}; hold it at a value inside them")
    return {**(fam.collapsed(n_terms) if single_cr else {}), **(fixed or {})}


def points_needed(family: str, n_terms: int = 1, single_cr: bool = False,
                  fixed: dict[str, float] | None = None) -> int:
    """Number of free parameters, the fewest points a fit accepts."""
    names = family_of(family).names(n_terms)
    return len(names) - len(held_parameters(family, n_terms, single_cr, fixed))


@dataclass(frozen=True)
class FittedFamily:
    """A family with its parameter values; ``fixed`` lists those held during the fit and
    the ranges record the data it was fitted to."""

    family: str
    params: dict[str, float]
    n_terms: int = 1
    fixed: dict[str, float] = field(default_factory=dict)
    cr_range: tuple[float, float] | None = None
    snr_range: tuple[float, float] | None = None
    n_points: int = 0

    def __post_init__(self) -> None:
        family = family_of(self.family)
        if not 1 <= self.n_terms <= (len(self.params) if family.multi_term else 1):
            raise FitError(f"{self.family} cannot have {self.n_terms} terms with "
                           f"{len(self.params)} parameters")
        names = family.names(self.n_terms)
        if sorted(self.params) != sorted(names):
            raise FitError(f"{self.family} with {self.n_terms} term(s) has parameters "
                           f"{', '.join(names)}; got {', '.join(self.params) or 'none'}")

    @property
    def theta(self) -> np.ndarray:
        return np.array([self.params[n] for n in family_of(self.family).names(self.n_terms)])

    @property
    def formula(self) -> str:
        return family_of(self.family).formula

    def predict(self, cr: ArrayLike, snr_db: ArrayLike) -> np.ndarray:
        """Quality M, broadcasting ``cr`` against ``snr_db``."""
        return family_of(self.family).evaluate(self.theta, cr, snr_db)

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "formula": self.formula, "n_terms": self.n_terms,
                "params": dict(self.params), "fixed": dict(self.fixed),
                "cr_range": self.cr_range and list(self.cr_range),
                "snr_range": self.snr_range and list(self.snr_range), "n_points": self.n_points}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FittedFamily:
        try:
            return cls(family=str(data["family"]),
                       params={str(k): float(v) for k, v in data["params"].items()},
                       n_terms=int(data.get("n_terms") or 1),
                       fixed={str(k): float(v) for k, v in (data.get("fixed") or {}).items()},
                       cr_range=data.get("cr_range") and tuple(data["cr_range"]),
                       snr_range=data.get("snr_range") and tuple(data["snr_range"]),
                       n_points=int(data.get("n_points") or 0))
        except FitError:
            raise
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise FitError(f"not a fitted model entry ({describe(exc)}); "
                           "expected family, n_terms and params") from None


def _fit(cr: np.ndarray, snr: np.ndarray, y: np.ndarray, family: str, n_terms: int,
         fixed: dict[str, float] | None, rng: np.random.Generator, n_random: int,
         init: Sequence[np.ndarray] = (), centre: bool = True) -> FittedFamily:
    """Best of the multi-start least-squares fits on checked arrays."""
    fam = family_of(family)
    names = fam.names(n_terms)
    single_cr = np.unique(_key(cr)).size == 1
    held = held_parameters(family, n_terms, single_cr, fixed)
    need = points_needed(family, n_terms, single_cr, fixed)
    if y.size < need:
        raise FitError(f"{family} needs at least {need} points (its free parameters"
                       f"{' with a single R' if single_cr else ''}); got {y.size}")
    free = np.array([n not in held for n in names])
    linear = fam.linear_mask(len(names)) if isinstance(fam, LinearFamily) \
        else np.zeros(len(names), bool)
    optimised, solved = free & ~linear, free & linear
    lo, hi = fam.bounds(n_terms)
    box = fam.start_box(Scope(float(snr.min()), float(snr.max()), float(y.min()),
                              float(y.max())), n_terms)
    starts = ([box.centre()] if centre else []) + list(init)
    starts += [box.draw(rng) for _ in range(n_random)]
    base = box.centre()
    base[~free] = [held[n] for n, f in zip(names, free) if not f]

    cache: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}

    def complete(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """theta from the optimised parameters with the amplitudes solved by linear least
        squares, its residual, and an orthonormal basis of the solved amplitudes' columns
        (None without amplitudes). The last call is cached for the Jacobian."""
        key = z.tobytes()
        if key not in cache:
            theta = base.copy()
            theta[optimised] = z
            q = None
            if solved.any():
                basis = fam.basis(theta, cr, snr)
                rest = y - basis[:, (~free)[linear]] @ theta[linear & ~free]
                u, sv, vt = np.linalg.svd(basis[:, solved[linear]], full_matrices=False)
                keep = sv > sv[0] * 1e-12 if sv.size and sv[0] > 0 else np.zeros(sv.size, bool)
                q = u[:, keep]
                theta[solved] = vt[keep].T @ ((q.T @ rest) / sv[keep])
            cache.clear()
            cache[key] = (theta, fam.evaluate(theta, cr, snr) - y, q)
        return cache[key]

    def residual(z: np.ndarray) -> np.ndarray:
        return complete(z)[1]

    def jacobian(z: np.ndarray) -> np.ndarray:
        """Kaufman's variable-projection Jacobian: ∂M/∂z at fixed amplitudes, projected off
        the amplitudes' columns."""
        theta, _, q = complete(z)
        d = fam.gradient(theta, cr, snr)[:, optimised]
        return d - q @ (q.T @ d)

    best: tuple[float, np.ndarray] | None = None
    for start in starts:
        x0 = np.clip(np.asarray(start, float)[optimised], lo[optimised], hi[optimised])
        try:
            res = least_squares(residual, x0, jac=jacobian if solved.any() else "2-point",
                                bounds=(lo[optimised], hi[optimised]), x_scale="jac",
                                max_nfev=MAX_NFEV)
        except (ValueError, np.linalg.LinAlgError):  # non-finite residuals at this start
            continue
        if np.isfinite(res.cost) and (best is None or res.cost < best[0]):
            best = (float(res.cost), res.x)
    if best is None:
        raise FitError(f"{family} could not be fitted: every start gave non-finite residuals")
    theta = complete(best[1])[0]
    return FittedFamily(family, {n: float(v) for n, v in zip(names, theta)}, n_terms,
                        {n: float(held[n]) for n in names if n in held},
                        (float(cr.min()), float(cr.max())),
                        (float(snr.min()), float(snr.max())), int(y.size))


def _seeded_fit(cr: np.ndarray, snr: np.ndarray, y: np.ndarray, family: str, n_terms: int,
                fixed: dict[str, float] | None, starts: int, seed: int,
                init: Sequence[np.ndarray] = ()) -> FittedFamily:
    """The fit of :func:`assess` and of every CV fold: the start box's centre, ``init``, then
    about starts / N random draws of a generator seeded by (seed, family, N)."""
    rng = np.random.default_rng([seed, list(FAMILIES).index(family), n_terms])
    n_random = max(starts - 1 - len(init), 0) // n_terms
    return _fit(cr, snr, y, family, n_terms, fixed, rng, n_random, init)


def _next_term(fit: FittedFamily) -> np.ndarray:
    """U3's start for N + 1 terms: the N-term parameters plus a zero term."""
    return np.concatenate([fit.theta, [0.0, 0.0, 0.0]])


def scores(measured: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAPE (percent; points with M = 0 left out), RMSE and R² (NaN when undefined)."""
    err = predicted - measured
    nonzero = measured != 0
    mape = float(100 * np.mean(np.abs(err[nonzero] / measured[nonzero]))) if nonzero.any() \
        else float("nan")
    ss_tot = float(np.sum((measured - measured.mean()) ** 2))
    r2 = 1.0 - float(np.sum(err ** 2)) / ss_tot if ss_tot > 0 else float("nan")
    return {"mape": mape, "rmse": float(np.sqrt(np.mean(err ** 2))), "r2": r2}


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/inf become None, recursively."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


@dataclass(frozen=True)
class CrossValidation:
    """Both CV schemes of one family with N terms. ``scores`` maps scheme to mape, rmse,
    n_folds, n_groups and ``unfitted`` ([{held_out, reason}] for folds not fitted), or to
    ``skipped``; ``predicted`` maps scheme to each point's prediction by the fold that held
    it out (NaN where that fold was not fitted); ``folds`` holds the fold fits by (scheme,
    held-out value)."""

    scores: dict[str, dict[str, Any]]
    mape: float
    predicted: dict[str, np.ndarray]
    folds: dict[tuple[str, float], FittedFamily] = field(default_factory=dict)


def cross_validate(cr: np.ndarray, snr: np.ndarray, y: np.ndarray, family: str,
                   n_terms: int = 1, fixed: dict[str, float] | None = None, starts: int = 20,
                   seed: int = 0, previous: CrossValidation | None = None) -> CrossValidation:
    """Leave-one-SNR-out and leave-one-R-out of ``family`` with ``n_terms`` terms and the
    user's ``fixed`` parameters. Each fold is fitted to the points it keeps exactly as the
    full fit is (:func:`_seeded_fit`, same ``starts`` and ``seed``); for U3 the fold's start
    from N − 1 terms is the same fold's fit in ``previous``. The MAPE pools the held-out
    points of both schemes."""
    table: dict[str, dict[str, Any]] = {}
    predicted: dict[str, np.ndarray] = {}
    folds: dict[tuple[str, float], FittedFamily] = {}
    for scheme, what in SCHEMES.items():
        key = _key(snr if what == "SNR" else cr)
        groups = np.unique(key)
        guess = predicted[scheme] = np.full(y.shape, np.nan)
        if groups.size < 2:
            table[scheme] = {"skipped": f"a single {what} value: nothing to hold out"}
            continue
        unfitted = []
        for value in groups:
            test = key == value
            train = ~test
            before = previous.folds.get((scheme, float(value))) if previous else None
            try:  # FitError: too few points left, or no start converged
                sub = _seeded_fit(cr[train], snr[train], y[train], family, n_terms, fixed,
                                  starts, seed, [_next_term(before)] if before else [])
            except FitError as exc:
                unfitted.append({"held_out": float(value), "reason": str(exc)})
                continue
            folds[(scheme, float(value))] = sub
            guess[test] = sub.predict(cr[test], snr[test])
        done = np.isfinite(guess)
        if not done.any():
            table[scheme] = {"skipped": "no fold could be fitted: " + unfitted[0]["reason"],
                             "unfitted": unfitted}
            continue
        sc = scores(y[done], guess[done])
        table[scheme] = {"mape": sc["mape"], "rmse": sc["rmse"],
                         "n_folds": int(np.unique(key[done]).size), "n_groups": int(groups.size),
                         **({"unfitted": unfitted} if unfitted else {})}
    return CrossValidation(table, pooled_mape(held_out_errors(y, predicted)), predicted, folds)


@dataclass(frozen=True)
class Assessment:
    """A fit with its diagnostics. ``cv`` maps scheme to mape/rmse/n_folds (or ``skipped``);
    ``cv_mape`` pools both schemes; ``cv_predicted`` maps scheme to the held-out prediction
    of every point (NaN where its fold was not fitted); ``terms_curve`` (U3) records MAPE vs
    number of terms."""

    fit: FittedFamily
    train: dict[str, float]
    cv: dict[str, dict[str, Any]]
    cv_mape: float
    terms_curve: list[dict[str, Any]] | None = None
    cv_predicted: dict[str, np.ndarray] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {**self.fit.to_dict(),
               "diagnostics": {"train": self.train, "cv": self.cv,
                               "cv_mape_combined": self.cv_mape}}
        if self.terms_curve is not None:
            out["terms_curve"] = self.terms_curve
        return _clean(out)


def _assess_terms(cr: np.ndarray, snr: np.ndarray, y: np.ndarray, family: str, n_terms: int,
                  fixed: dict[str, float] | None, starts: int, seed: int,
                  previous: tuple[Assessment, CrossValidation] | None = None,
                  ) -> tuple[Assessment, CrossValidation]:
    """The fit with N terms (U3: started also from ``previous``, the N − 1 fit and its
    folds) and its cross-validation."""
    init = [_next_term(previous[0].fit)] if previous else []
    fit = _seeded_fit(cr, snr, y, family, n_terms, fixed, starts, seed, init)
    cv = cross_validate(cr, snr, y, family, n_terms, fixed, starts, seed,
                        previous[1] if previous else None)
    return Assessment(fit, scores(y, fit.predict(cr, snr)), cv.scores, cv.mape,
                      cv_predicted=cv.predicted), cv


def _selects_terms(family: str, n_terms: int | None, starts: int, seed: int,
                   max_terms: int) -> bool:
    """Whether N is to be chosen (a multi-term family without ``n_terms``); FitError on
    options out of range (``n_terms`` > 1 is for multi-term families only)."""
    multi = family_of(family).multi_term
    if n_terms is not None and (n_terms < 1 or (n_terms > 1 and not multi)):
        raise FitError(f"{family} cannot have {n_terms} terms; only U3 takes more than one")
    if min(starts, max_terms) < 1 or seed < 0:
        raise FitError(f"starts and max_terms must be >= 1 and seed >= 0; got "
                       f"{starts}, {max_terms} and {seed}")
    return multi and n_terms is None


def _ranked(value: float) -> float:
    return value if np.isfinite(value) else np.inf


def _select_terms(cr: np.ndarray, snr: np.ndarray, y: np.ndarray, family: str,
                  fixed: dict[str, float] | None, starts: int, seed: int,
                  max_terms: int) -> Assessment:
    """Fits with N = 1..max_terms terms, each started from the box centre, the N − 1 fit
    plus a zero new term and about starts / N random draws (each CV fold likewise from its
    own N − 1 fit). The smallest N whose CV MAPE is within TERMS_RTOL / TERMS_ATOL of the
    best (training MAPE when no CV is possible) wins; the whole curve is recorded."""
    single_cr = np.unique(_key(cr)).size == 1
    tried: list[Assessment] = []
    last: tuple[Assessment, CrossValidation] | None = None
    curve: list[dict[str, Any]] = []
    for n in range(1, max_terms + 1):
        need = points_needed(family, n, single_cr, fixed)
        if y.size < need:
            curve.append({"n_terms": n, "skipped": f"needs at least {need} points"})
            continue
        last = _assess_terms(cr, snr, y, family, n, fixed, starts, seed, last)
        a = last[0]
        tried.append(a)
        curve.append({"n_terms": n, "train_mape": a.train["mape"], "cv_mape": a.cv_mape})
    if not tried:
        raise FitError(f"{family} needs at least {points_needed(family, 1, single_cr, fixed)} "
                       f"points (its free parameters); got {y.size}")
    crit = [a.cv_mape for a in tried]
    if not np.isfinite(crit).any():
        crit = [a.train["mape"] for a in tried]
    best = min(_ranked(c) for c in crit)
    chosen = next(a for a, c in zip(tried, crit)
                  if _ranked(c) <= best + max(TERMS_RTOL * best, TERMS_ATOL))
    for entry in curve:
        entry["chosen"] = entry["n_terms"] == chosen.fit.n_terms
    return Assessment(chosen.fit, chosen.train, chosen.cv, chosen.cv_mape, _clean(curve),
                      chosen.cv_predicted)


def assess(cr: ArrayLike, snr_db: ArrayLike, values: ArrayLike, family: str = "U1", *,
           n_terms: int | None = None, fixed: dict[str, float] | None = None, starts: int = 20,
           seed: int = 0, max_terms: int = MAX_TERMS) -> Assessment:
    """Fit ``family`` and score it (training and both CV schemes, every fold fitted with the
    same ``starts`` and ``seed``). For a multi-term family (U3) ``n_terms=None`` picks N from
    the MAPE-vs-N curve over 1..max_terms."""
    cr, snr, y = check_points(cr, snr_db, values)
    if _selects_terms(family, n_terms, starts, seed, max_terms):
        return _select_terms(cr, snr, y, family, fixed, starts, seed, max_terms)
    return _assess_terms(cr, snr, y, family, n_terms or 1, fixed, starts, seed)[0]


def fit_family(cr: ArrayLike, snr_db: ArrayLike, values: ArrayLike, family: str = "U1", *,
               n_terms: int | None = None, fixed: dict[str, float] | None = None,
               starts: int = 20, seed: int = 0) -> FittedFamily:
    """Fit one family to 1-D arrays of equal length (R > 0, SNR in dB, quality M). U3 with
    ``n_terms=None`` chooses N by cross-validation (see :func:`assess`)."""
    if _selects_terms(family, n_terms, starts, seed, MAX_TERMS):
        return assess(cr, snr_db, values, family, fixed=fixed, starts=starts, seed=seed).fit
    cr, snr, y = check_points(cr, snr_db, values)
    rng = np.random.default_rng([seed, list(FAMILIES).index(family), n_terms or 1])
    return _fit(cr, snr, y, family, n_terms or 1, fixed, rng, max(starts - 1, 0))


@dataclass(frozen=True)
class MetricFit:
    """Every requested family fitted to one metric; ``ranking`` orders them by combined CV
    MAPE (training MAPE breaks ties, NaN last) and ``chosen`` is the first; ``margin`` is
    its lead over the runner-up with a bootstrap interval (None with one family or no CV)."""

    assessments: dict[str, Assessment]
    ranking: list[str]
    margin: Margin | None = None

    @property
    def chosen(self) -> str:
        return self.ranking[0]

    def to_dict(self) -> dict[str, Any]:
        return {"chosen": self.chosen,
                "ranking": _clean([{"family": f, "cv_mape": self.assessments[f].cv_mape,
                                    "train_mape": self.assessments[f].train["mape"]}
                                   for f in self.ranking]),
                "margin": self.margin and self.margin.to_dict(),
                "fits": {f: a.to_dict() for f, a in self.assessments.items()}}


def fit_metric(cr: ArrayLike, snr_db: ArrayLike, values: ArrayLike,
               families: Sequence[str] = ("U1",), *, m_min: float | None = None,
               starts: int = 20, seed: int = 0, max_terms: int = MAX_TERMS,
               executor: Executor | None = None) -> MetricFit:
    """The same families fitted to one metric's points (each its own parameters); ``m_min``
    holds U1's floor M_min fixed (e.g. 0.1 for 10-class accuracy). The margin's bootstrap
    resamples the points with a generator seeded by ``seed``. With an ``executor`` the
    families are assessed side by side in it (the same result: every fit is seeded)."""
    for f in families:
        family_of(f)
    calls = {f: partial(assess, cr, snr_db, values, f, starts=starts, seed=seed,
                        max_terms=max_terms,
                        fixed={"M_min": m_min} if f == "U1" and m_min is not None else None)
             for f in dict.fromkeys(families)}
    futures = {f: executor.submit(call) for f, call in calls.items()} if executor else {}
    done = {f: futures[f].result() if executor else call() for f, call in calls.items()}
    ranking = sorted(done, key=lambda f: (_ranked(done[f].cv_mape),
                                          _ranked(done[f].train["mape"])))
    y = np.asarray(values, float).ravel()
    errors = {f: held_out_errors(y, a.cv_predicted) for f, a in done.items()}
    return MetricFit(done, ranking, family_margin([errors], ranking, seed))
