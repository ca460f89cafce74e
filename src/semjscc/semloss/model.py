"""The fitted semantic-loss model of one metric: prediction, inverses and JSON files.

Model files. :meth:`SemanticLossModel.save` writes one model as JSON
(``"format": "semjscc-semloss-model"``): the family, its formula as text, ``n_terms``, the
named parameters, those held fixed, the fitted data ranges, the metric, its normalisation
(with M_clean) and the group it was fitted to. ``semjscc fit-semloss`` writes ``fit.json``
(``"format": "semjscc-fit-semloss"``) holding every group × metric × family with its
diagnostics (see :func:`fit_document`). :meth:`SemanticLossModel.load` reads either; from a
fit.json it takes the requested group, metric and family, by default the first group, its
first metric and that metric's chosen family (lowest combined CV MAPE).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError, describe
from ..files import write_text
from ..parsing import SyntaxInputError, read_json
from .checks import invalid
from .families import FAMILIES, NOTE
from .fit import FitError, FittedFamily, MetricFit
from .quality import Normalisation

FIT_FORMAT = "semjscc-fit-semloss"
MODEL_FORMAT = "semjscc-semloss-model"
VERSION = 1
SNR_SEARCH_DB = (-60.0, 120.0)
SNR_STEP_DB = 0.25
CR_SEARCH = (1e-3, 1.0)
CR_GRID = 400
_BISECTIONS = 48
REWRITE = "fix that field or write the file again with `semjscc fit-semloss`"


def group_label(group: Mapping[str, Any]) -> str:
    """``channel=awgn, protocol=df``; ``all rows`` for the empty group."""
    return ", ".join(f"{k}={v}" for k, v in group.items()) or "all rows"


def _least_reaching(f: Callable[[np.ndarray], np.ndarray], target: np.ndarray,
                    grid: np.ndarray) -> np.ndarray:
    """Per element of ``target`` (shape S), the least x in [grid[0], grid[-1]] with
    f(x) >= target: the first reaching grid point, refined by bisection over the cell before
    it. ``grid[0]`` when reached there, inf when never reached. ``f`` takes x of shape
    (K,) or S + (1,) and returns S + (K,) or S + (1,)."""
    t = target[..., None]
    reach = f(grid) >= t
    first = reach.argmax(-1)
    lo = grid[np.maximum(first - 1, 0)][..., None]
    hi = grid[first][..., None]
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        ok = f(mid) >= t
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return np.where(reach.any(-1), hi[..., 0], np.inf)


@dataclass(frozen=True)
class SemanticLossModel:
    """Quality M(R, γ) of ``metric`` (a fitted family) and its semantic loss
    L = 1 − M / M_clean. Arrays broadcast; R is the realised ratio k/n > 0, γ in dB."""

    fit: FittedFamily
    metric: str = "quality"
    m_clean: float = 1.0
    normalisation: dict[str, Any] = field(default_factory=dict)
    group: dict[str, Any] = field(default_factory=dict)

    @property
    def family(self) -> str:
        return self.fit.family

    def predict(self, cr: ArrayLike, snr_db: ArrayLike) -> np.ndarray:
        """Quality M at (R, γ), broadcasting ``cr`` against ``snr_db``."""
        cr = np.asarray(cr, float)
        if np.any(cr <= 0):
            raise FitError("compression ratio R must be > 0 (the realised k/n)")
        return self.fit.predict(cr, snr_db)

    @property
    def snr_domain(self) -> tuple[float, float]:
        """(low, high) SNR [dB] of the fitted points, where the model is trusted (the whole
        search range when the fit does not record it); allocation stays inside it."""
        return tuple(map(float, self.fit.snr_range)) if self.fit.snr_range else SNR_SEARCH_DB

    def semantic_loss(self, cr: ArrayLike, snr_db: ArrayLike) -> np.ndarray:
        """L = 1 − M / M_clean at (R, γ)."""
        return 1.0 - self.predict(cr, snr_db) / self.m_clean

    def min_snr(self, cr: ArrayLike, target: ArrayLike,
                snr_range: tuple[float, float] = SNR_SEARCH_DB) -> np.ndarray:
        """Least SNR [dB] with M(R, SNR) >= target, broadcasting ``cr`` against ``target``.
        Searched over ``snr_range`` (a 0.25 dB scan, then bisection to ~1e-15 dB; M is
        nondecreasing in SNR for U1/U2 by their bounds, so the scan only guards extrapolated
        U3/U4): the lower end when the target is met there, inf when it is never met."""
        lo, hi = map(float, snr_range)
        if not lo < hi:
            raise FitError(f"snr_range must be (low, high) with low < high; got {snr_range}")
        cr_b, t_b = np.broadcast_arrays(np.asarray(cr, float), np.asarray(target, float))
        grid = np.append(np.arange(lo, hi, SNR_STEP_DB), hi)
        return _least_reaching(lambda x: self.predict(cr_b[..., None], x), t_b, grid)

    def min_cr(self, snr_db: ArrayLike, target: ArrayLike,
               cr_range: tuple[float, float] = CR_SEARCH) -> np.ndarray:
        """Least continuous R with M(R, SNR) >= target, broadcasting ``snr_db`` against
        ``target``. Searched over ``cr_range`` (a log-spaced scan, then bisection): the lower
        end when the target is met there, inf when it is not met at any R in the range."""
        lo, hi = map(float, cr_range)
        if not 0 < lo < hi:
            raise FitError(f"cr_range must be (low, high) with 0 < low < high; got {cr_range}")
        s_b, t_b = np.broadcast_arrays(np.asarray(snr_db, float), np.asarray(target, float))
        grid = np.linspace(np.log(lo), np.log(hi), CR_GRID)
        log_cr = _least_reaching(lambda x: self.predict(np.exp(x), s_b[..., None]), t_b, grid)
        return np.exp(log_cr)

    def to_dict(self) -> dict[str, Any]:
        return {"format": MODEL_FORMAT, "version": VERSION, "note": NOTE,
                "metric": self.metric, "m_clean": self.m_clean,
                "normalisation": self.normalisation, "group": self.group, **self.fit.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SemanticLossModel:
        m_clean = data.get("m_clean", (data.get("normalisation") or {}).get("m_clean", 1.0))
        return cls(FittedFamily.from_dict(dict(data)), str(data.get("metric", "quality")),
                   float(m_clean), dict(data.get("normalisation") or {}),
                   dict(data.get("group") or {}))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path, *, group: int | str | Mapping[str, Any] | None = None,
             metric: str | None = None, family: str | None = None) -> SemanticLossModel:
        """A model file, or one model of a fit.json: ``group`` as an index, ``COL=VALUE,...``
        or a mapping; ``metric`` and ``family`` by name (defaults: first group, its first
        metric, that metric's chosen family)."""
        path = Path(path)
        if not path.exists():
            raise FitError(f"model file {path} does not exist; write one with "
                           "`semjscc fit-semloss ... --out DIR` (DIR/fit.json)")
        try:
            doc = read_json(path, "model file")
        except SyntaxInputError as exc:
            raise FitError(f"{exc}; give a fit.json or a saved model") from None
        except InputError as exc:  # a FIFO, not UTF-8, beyond a limit
            raise FitError(str(exc)) from None
        return cls.from_document(doc, str(path), group=group, metric=metric, family=family)

    @classmethod
    def from_document(cls, doc: Any, source: str, *,
                      group: int | str | Mapping[str, Any] | None = None,
                      metric: str | None = None, family: str | None = None
                      ) -> SemanticLossModel:
        """A model document, or one model of a fit.json document (selected as by
        :meth:`load`), checked (:func:`.checks.invalid`: finite parameters inside the
        family's bounds, finite data ranges, a positive M_clean); ``source`` names it in
        errors, which also name the field."""
        kind = doc.get("format") if isinstance(doc, dict) else None
        if kind == MODEL_FORMAT:
            entry, where = doc, ""
        elif kind != FIT_FORMAT:
            raise FitError(f"{source} is neither a fit.json ({FIT_FORMAT}) nor a model file "
                           f"({MODEL_FORMAT}); format field: {kind!r}")
        else:
            try:
                entry, where = _select(doc, source, group, metric, family)
            except (KeyError, TypeError, AttributeError) as exc:
                raise FitError(f"{source} is a malformed fit.json ({describe(exc)}); "
                               f"{REWRITE}") from None
        try:
            model = cls.from_dict(entry)
        except FitError as exc:
            raise FitError(f"{source}: {where.rstrip('.') or 'the model'}: {exc}; "
                           f"{REWRITE}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise FitError(f"{source}: {where}m_clean, normalisation or group is malformed "
                           f"({describe(exc)}); {REWRITE}") from None
        problems = invalid(model.fit)
        if not (math.isfinite(model.m_clean) and model.m_clean > 0):
            problems.append(f"m_clean = {model.m_clean} is not a positive number")
        if problems:
            raise FitError(f"{source}: {where}{problems[0]}; {REWRITE}")
        return model


def _select(doc: dict[str, Any], path: str, group: int | str | Mapping[str, Any] | None,
            metric: str | None, family: str | None) -> tuple[dict[str, Any], str]:
    """The selected model entry of a fit.json and its place (``groups[i].metrics.M.fits.F.``,
    the prefix of its fields in errors)."""
    groups = doc.get("groups") or []
    labels = "; ".join(group_label(g["group"]) for g in groups) or "none"
    if group is None or isinstance(group, int):
        index = group or 0
        if not 0 <= index < len(groups):
            raise FitError(f"group index {index} is out of range in {path}; groups: {labels}")
        entry = groups[index]
    else:
        pairs = [kv.partition("=") for kv in group.split(",")] if isinstance(group, str) \
            else [(k, "=", v) for k, v in group.items()]
        if not all(sep for _, sep, _ in pairs):
            raise FitError(f"group {group!r} must read COL=VALUE,...; groups in {path}: {labels}")
        wanted = {k.strip(): str(v).strip() for k, _, v in pairs}
        index = next((i for i, g in enumerate(groups)
                      if {k: str(v) for k, v in g["group"].items()} == wanted), None)
        if index is None:
            raise FitError(f"no group {group_label(wanted)} in {path}; groups: {labels}")
        entry = groups[index]
    metrics = entry["metrics"]
    name = metric or next(iter(metrics), None)
    if name not in metrics:
        raise FitError(f"metric {name!r} is not in {path} ({group_label(entry['group'])}); "
                       f"metrics: {', '.join(metrics) or 'none'}")
    fits = metrics[name]["fits"]
    fam = family or metrics[name]["chosen"]
    if fam not in fits:
        raise FitError(f"family {fam!r} was not fitted to {name} in {path}; fitted: "
                       f"{', '.join(fits)}")
    norm = metrics[name]["normalisation"]
    return ({**fits[fam], "metric": name, "m_clean": norm["m_clean"], "normalisation": norm,
             "group": entry["group"]}, f"groups[{index}].metrics.{name}.fits.{fam}.")


@dataclass(frozen=True)
class GroupFit:
    """The fits of one group of rows (``group`` maps group-by columns to values), with notes
    on the data and warnings on the fits' quality."""

    group: dict[str, Any]
    metrics: dict[str, tuple[Normalisation, MetricFit]]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def fit_document(groups: list[GroupFit], options: dict[str, Any]) -> dict[str, Any]:
    """The fit.json content: ``format``, ``version``, ``note``, ``families`` (formula text
    of each fitted family), ``options`` and ``groups``: a list of {group, notes, warnings,
    metrics}, where ``metrics[name]`` = {normalisation, chosen, ranking, margin (the chosen family's
    lead over the runner-up: {best, runner_up, difference, interval, level, resamples, sets,
    within_noise} or None), fits}, and
    ``fits[family]`` = {family, formula, n_terms, params, fixed, cr_range, snr_range,
    n_points, diagnostics: {train: {mape, rmse, r2}, cv: {leave_one_snr_out,
    leave_one_cr_out: {mape, rmse, n_folds, n_groups, unfitted (folds not fitted, if any)}
    or {skipped}}, cv_mape_combined}, terms_curve (U3 only)}. MAPE is in percent; values are
    on the normalised M scale."""
    used = {f for g in groups for _, mf in g.metrics.values() for f in mf.assessments}
    return {"format": FIT_FORMAT, "version": VERSION, "note": NOTE,
            "families": {f: FAMILIES[f].formula for f in FAMILIES if f in used},
            "options": options,
            "groups": [{"group": g.group, "notes": g.notes, "warnings": g.warnings,
                        "metrics": {m: {"normalisation": norm.to_dict(), **mf.to_dict()}
                                    for m, (norm, mf) in g.metrics.items()}}
                       for g in groups]}
