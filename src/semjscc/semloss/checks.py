"""Checks of a fitted family before its predictions are trusted.

* validity: every parameter finite and inside the family's bounds, the recorded data ranges
  finite (R > 0); a fit that fails is an error wherever it is read;
* shape: quality M should not fall as the SNR or the ratio R rises; :func:`fall` finds the
  largest drop on a grid (``fit-semloss`` warns, ``allocate`` refuses);
* parameters pinned at a bound of the family (the data asked for a value beyond it);
* too few distinct SNRs or Rs in the data to identify the family's shape along an axis.

All phrases are short clauses; callers add the file, group and metric.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .families import FAMILIES
from .fit import FittedFamily

MONOTONE_TOL = 0.01  # a drop of M larger than this (on the M scale) is a fall
GRID = 61  # points per axis of the monotonicity grid
BOUND_RTOL = 1e-4  # "at a bound": within this fraction of the bounds' span (or of |bound|)
SINGLE_SNR_WINDOW_DB = 1.0  # a single fitted SNR is checked over +- this


def _outside(value: float, lo: float, hi: float) -> bool:
    slack = 1e-9 * max(1.0, abs(lo) if math.isfinite(lo) else 1.0,
                       abs(hi) if math.isfinite(hi) else 1.0)
    return value < lo - slack or value > hi + slack


def invalid(fit: FittedFamily) -> list[str]:
    """One phrase per problem, each starting with the field: a parameter that is not finite
    or lies outside the family's bounds, a data range that is not finite (or R <= 0)."""
    family = FAMILIES[fit.family]
    lo, hi = family.bounds(fit.n_terms)
    problems = []
    for name, low, high in zip(family.names(fit.n_terms), lo, hi):
        value = fit.params[name]
        if not math.isfinite(value):
            problems.append(f"params.{name} = {value} is not finite")
        elif _outside(value, low, high):
            problems.append(f"params.{name} = {value:.6g} is outside {fit.family}'s bounds "
                            f"{low:g}..{high:g}")
    for field, span, positive in (("snr_range", fit.snr_range, False),
                                  ("cr_range", fit.cr_range, True)):
        if span is None:
            continue
        values = list(span)
        if (len(values) != 2 or not all(isinstance(v, int | float) and math.isfinite(v)
                                        for v in values)
                or values[0] > values[1] or (positive and values[0] <= 0)):
            problems.append(f"{field} = {values} is not a finite [low, high]"
                            f"{' with low > 0' if positive else ''}")
    return problems


def at_bounds(fit: FittedFamily) -> list[str]:
    """Phrases for the fitted (not held) parameters that sit at a finite, non-zero bound of
    the family: the data asked for a value beyond what the family allows. (A bound of 0
    means an effect is absent, e.g. no dependence on R, which is an answer, not a limit.)"""
    family = FAMILIES[fit.family]
    lo, hi = family.bounds(fit.n_terms)
    out = []
    for name, low, high in zip(family.names(fit.n_terms), lo, hi):
        if name in fit.fixed:
            continue
        value = fit.params[name]
        span = high - low if math.isfinite(high - low) else None
        for bound, side in ((low, "lower"), (high, "upper")):
            if not math.isfinite(bound) or bound == 0:
                continue
            tol = BOUND_RTOL * (span if span is not None else max(1.0, abs(bound)))
            if abs(value - bound) <= tol:
                out.append(f"{name} = {value:.6g} sits at its {side} bound {bound:g}")
    return out


def snr_grid(lo: float, hi: float) -> np.ndarray:
    """An ascending SNR grid over [lo, hi] (a window around a single SNR)."""
    if hi - lo < 1e-9:
        lo, hi = lo - SINGLE_SNR_WINDOW_DB, hi + SINGLE_SNR_WINDOW_DB
    return np.linspace(lo, hi, GRID)


def cr_grid(lo: float, hi: float) -> np.ndarray:
    """An ascending, log-spaced grid of R over [lo, hi] (lo > 0); one point when lo == hi."""
    return np.array([lo]) if hi - lo <= 1e-12 * hi else np.geomspace(lo, hi, GRID)


def fall(predict: Callable[[np.ndarray, np.ndarray], np.ndarray], cr: np.ndarray,
         snr_db: np.ndarray) -> str | None:
    """Where M = ``predict(R, SNR)`` (broadcasting an (A, 1) R grid against a (1, B) SNR
    grid, both ascending) drops most as SNR rises at a fixed R, or as R rises at a fixed
    SNR, if by more than MONOTONE_TOL; also where it is not finite. A phrase, else None."""
    cr, snr = np.asarray(cr, float), np.asarray(snr_db, float)
    with np.errstate(all="ignore"):
        m = np.asarray(predict(cr[:, None], snr[None, :]), float) * np.ones((cr.size, snr.size))
    bad = np.argwhere(~np.isfinite(m))
    if bad.size:
        i, j = bad[0]
        return f"predicts a non-finite M at R = {cr[i]:.4g}, SNR = {snr[j]:.4g} dB"
    worst = None
    for axis, what in ((1, "SNR"), (0, "R")):
        peak = np.maximum.accumulate(m, axis=axis)
        drop = peak - m
        i, j = np.unravel_index(int(drop.argmax()), drop.shape)
        if drop[i, j] > MONOTONE_TOL and (worst is None or drop[i, j] > worst[0]):
            if axis == 1:
                k = int(m[i, :j + 1].argmax())
                text = (f"falls with SNR at R = {cr[i]:.4g}: M = {m[i, k]:.4g} at "
                        f"{snr[k]:.4g} dB but {m[i, j]:.4g} at {snr[j]:.4g} dB")
            else:
                k = int(m[:i + 1, j].argmax())
                text = (f"falls with R at SNR = {snr[j]:.4g} dB: M = {m[k, j]:.4g} at "
                        f"R = {cr[k]:.4g} but {m[i, j]:.4g} at R = {cr[i]:.4g}")
            worst = (drop[i, j], text)
    return worst and worst[1]


def too_few_distinct(family: str, n_terms: int, n_snr: int, n_cr: int) -> list[str]:
    """Phrases for an axis with fewer distinct values than ``family`` needs to identify its
    shape along it (:meth:`~.families.Family.identifying`), and what that means."""
    need_snr, need_cr = FAMILIES[family].identifying(n_terms)
    out = []
    if n_snr < need_snr:
        out.append(f"{n_snr} distinct SNR(s), but {family} needs {need_snr} to identify how M "
                   "changes with SNR: its SNR dependence is a guess, and predictions at other "
                   "SNRs cannot be trusted")
    if n_cr == 1:
        out.append(f"a single R, so {family} is fitted as constant in R: it cannot say how M "
                   "changes with R (an allocation over ratios would pick them blindly)")
    elif n_cr < need_cr:
        out.append(f"{n_cr} distinct R values, but {family} needs {need_cr} to identify how "
                   "M changes with R: predictions at other ratios cannot be trusted")
    return out
