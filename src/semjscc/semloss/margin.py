"""How far apart two families are in cross-validated error, with a bootstrap interval.

The error is the pooled CV MAPE of :mod:`.fit`: the mean of |M̂ − M| / |M| over every
held-out prediction of both schemes (leave-one-SNR-out, leave-one-R-out), points with M = 0
left out. :func:`held_out_errors` gives its terms per point and scheme; :func:`family_margin`
the lead of the best family over the runner-up in the mean of that MAPE over one or more
point sets (e.g. every group × metric), with a percentile interval from a paired, stratified
bootstrap: each resample draws the points of every set with replacement (a seeded numpy
Generator), the same points for both families.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

RESAMPLES = 1000
LEVEL = 0.95


def held_out_errors(measured: ArrayLike, predicted: Mapping[str, ArrayLike]) -> np.ndarray:
    """|M̂ − M| / |M| per point (rows) and scheme (columns of ``predicted``, each a held-out
    prediction per point); NaN where a point was not predicted or M = 0."""
    m = np.asarray(measured, float)
    columns = [np.asarray(p, float) for p in predicted.values()]
    if not columns:
        return np.full((m.size, 0), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.column_stack([np.abs(p - m) / np.abs(m) for p in columns])
    err[m == 0] = np.nan
    err[~np.isfinite(err)] = np.nan
    return err


def pooled_mape(errors: np.ndarray) -> float:
    """MAPE in percent over every finite entry of ``errors``; NaN when there is none."""
    done = np.isfinite(errors)
    return float(100 * errors[done].mean()) if done.any() else float("nan")


def _resampled(errors: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Pooled MAPE of every resample (rows of point indices ``idx``)."""
    done = np.isfinite(errors)
    total, count = np.where(done, errors, 0.0).sum(axis=1), done.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100 * total[idx].sum(axis=1) / count[idx].sum(axis=1)


@dataclass(frozen=True)
class Margin:
    """The runner-up's CV MAPE minus the best family's (percentage points, >= 0 in the
    data) and its bootstrap percentile interval [low, high] at ``level``."""

    best: str
    runner_up: str
    difference: float
    low: float
    high: float
    resamples: int = RESAMPLES
    level: float = LEVEL
    sets: int = 1

    @property
    def within_noise(self) -> bool:
        """Whether the interval covers 0 (or cannot be formed)."""
        return not (self.low > 0 or self.high < 0)

    def to_dict(self) -> dict[str, Any]:
        def clean(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        return {"best": self.best, "runner_up": self.runner_up,
                "difference": clean(self.difference),
                "interval": [clean(self.low), clean(self.high)], "level": self.level,
                "resamples": self.resamples, "sets": self.sets,
                "within_noise": self.within_noise}

    def describe(self, unit: str = "CV MAPE") -> str:
        """``U1 leads U2 by 0.11 points of CV MAPE (95 % bootstrap interval -0.05 to
        0.30): within noise``."""
        verdict = "within noise" if self.within_noise else "beyond noise"
        return (f"{self.best} leads {self.runner_up} by {self.difference:.2f} points of {unit} "
                f"({100 * self.level:.0f} % bootstrap interval {self.low:.2f} to "
                f"{self.high:.2f}): {verdict}")


def family_margin(sets: Sequence[Mapping[str, np.ndarray]], ranking: Sequence[str],
                  seed: int = 0, resamples: int = RESAMPLES,
                  level: float = LEVEL) -> Margin | None:
    """The lead of ``ranking[0]`` over ``ranking[1]`` in the mean over ``sets`` (each maps
    family -> :func:`held_out_errors` of the same points) of the pooled CV MAPE, with its
    bootstrap interval. None with fewer than two families, or when a set lacks one of them
    or its MAPE is undefined."""
    if len(ranking) < 2 or not sets:
        return None
    best, other = ranking[0], ranking[1]
    if any(best not in s or other not in s for s in sets):
        return None
    point = [pooled_mape(s[other]) - pooled_mape(s[best]) for s in sets]
    if not np.isfinite(point).all():
        return None
    rng = np.random.default_rng(seed)
    diffs = np.zeros(resamples)
    for s in sets:
        n = s[best].shape[0]
        idx = rng.integers(0, n, size=(resamples, n))
        diffs += _resampled(s[other], idx) - _resampled(s[best], idx)
    diffs /= len(sets)
    tail = 50 * (1 - level)
    finite = diffs[np.isfinite(diffs)]
    low, high = np.percentile(finite, [tail, 100 - tail]) if finite.size else (np.nan, np.nan)
    return Margin(best, other, float(np.mean(point)), float(low), float(high), resamples, level,
                  len(sets))
