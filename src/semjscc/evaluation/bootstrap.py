"""Intervals that say whether a number, or a difference between two settings, stands out
from test and training noise.

Every interval is a percentile bootstrap of a mean over test images (the per-image scores
that :mod:`.results` keeps under :data:`~.results.IMAGES`). Scores of one setting trained
with S seeds are an (S, N) array, seed s in row s; each resample draws S seeds and N images
with replacement (the same image draws for every seed, so image difficulty stays paired)
and averages. With one seed it is the plain image bootstrap; with several it pools the
spread across seeds with the spread across images (a two-level bootstrap). A difference
between two settings resamples the per-image differences: the images are the same test
images under the same noise seed, so the comparison is paired. Images without a score (NaN,
e.g. a separation image nothing decoded) are left out of each mean.

Resamples use a fixed numpy seed, so reports are reproducible.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .results import IMAGES

RESAMPLES = 2000
LEVEL = 0.95
SEED = 0


@dataclass(frozen=True)
class Interval:
    """A mean (``estimate``) with its bootstrap interval [``low``, ``high``] at ``level``."""

    estimate: float
    low: float
    high: float
    level: float = LEVEL

    @property
    def within_noise(self) -> bool:
        """True when the interval covers 0 (for a difference: no effect shown)."""
        return self.low <= 0.0 <= self.high

    def text(self, scale: float = 1.0, digits: int = 1, unit: str = "") -> str:
        """``+2.3 pts (95 % CI +0.4 to +4.1)``-style text, values times ``scale``."""
        e, lo, hi = (scale * v for v in (self.estimate, self.low, self.high))
        return (f"{e:+.{digits}f}{unit} ({100 * self.level:.0f} % CI {lo:+.{digits}f} to "
                f"{hi:+.{digits}f})")

    def verdict(self, better: str, worse: str) -> str:
        """``within noise``, or ``better``/``worse`` by the sign of a difference."""
        return "within noise" if self.within_noise else better if self.estimate > 0 else worse


def _as_2d(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[None, :] if array.ndim == 1 else array


def bootstrap(values: Any, resamples: int = RESAMPLES, level: float = LEVEL,
              seed: int = SEED) -> Interval | None:
    """The mean of (N,) or (S, N) per-image ``values`` with its two-level bootstrap
    interval (see the module docstring); None when no image has a score."""
    scores = _as_2d(values)
    if scores.size == 0 or np.isnan(scores).all():
        return None
    n_seeds, n_images = scores.shape
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, n_seeds, size=(resamples, n_seeds))
    images = rng.integers(0, n_images, size=(resamples, n_images))
    chunk = max(1, 2_000_000 // scores.size)  # bounds the memory of one block of resamples
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample of unscored images only
        means = np.concatenate([
            np.nanmean(scores[seeds[i:i + chunk, :, None], images[i:i + chunk, None, :]],
                       axis=(1, 2)) for i in range(0, resamples, chunk)])
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(means, [tail, 100 - tail])
    return Interval(float(np.nanmean(scores)), float(low), float(high), level)


def paired(a: Any, b: Any, resamples: int = RESAMPLES, level: float = LEVEL,
           seed: int = SEED) -> Interval | None:
    """The mean per-image difference ``a - b`` with its bootstrap interval: (S, N) or (N,)
    scores of two settings on the same test images (one of them may have one seed, e.g. a
    baseline that is not trained: it is compared with every seed of the other). None when
    the two do not cover the same images or share no scored image."""
    x, y = _as_2d(a), _as_2d(b)
    if x.shape[1] != y.shape[1] or (len(x) != len(y) and 1 not in (len(x), len(y))):
        return None
    diff = x - y
    return bootstrap(np.where(np.isnan(x) | np.isnan(y), np.nan, diff), resamples, level, seed)


def scores_of(row: dict[str, Any], metric: str) -> np.ndarray | None:
    """The (S, N) per-image scores of ``metric`` in ``row`` (None when it has none)."""
    values = row.get(IMAGES, {}).get(metric)
    return None if values is None else _as_2d(values)


def compare(a: dict[str, Any], b: dict[str, Any], metric: str) -> Interval | None:
    """Paired difference of ``metric`` between rows ``a`` and ``b`` (None without scores)."""
    x, y = scores_of(a, metric), scores_of(b, metric)
    return None if x is None or y is None else paired(x, y)


def add_intervals(rows: list[dict[str, Any]], metrics: Sequence[str]) -> list[dict[str, Any]]:
    """Set ``<m>_lo`` and ``<m>_hi`` (the 95 % image-bootstrap interval of the mean) on every
    row that has per-image scores of ``m``, for each of ``metrics``; returns ``rows``."""
    for row in rows:
        for metric in metrics:
            interval = None if scores_of(row, metric) is None else bootstrap(row[IMAGES][metric])
            if interval is not None:
                row[f"{metric}_lo"], row[f"{metric}_hi"] = interval.low, interval.high
    return rows


def pool_seeds(rows: list[dict[str, Any]], setting: Sequence[str]) -> list[dict[str, Any]]:
    """One row per setting (the values of the columns ``setting``) from rows that differ only
    in their training seed (``train_seed``): columns equal across the seeds keep their value,
    numbers that differ become their mean, text that differs is joined with ``/``;
    ``train_seed`` lists the seeds, ``n_seeds`` counts them, and the per-image scores are
    stacked (S, N), seed order. Rows keep their first appearance's order."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(c) for c in setting), []).append(row)
    return [_pooled(sorted(g, key=lambda r: (r.get("train_seed") is None, r.get("train_seed"))))
            for g in groups.values()]


def _pooled(group: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in dict.fromkeys(k for r in group for k in r if k != IMAGES):
        values = [r.get(key) for r in group]
        if all(v == values[0] for v in values):
            out[key] = values[0]
        elif key != "train_seed" and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                         for v in values):
            out[key] = float(np.mean(values))
        else:
            out[key] = "/".join(dict.fromkeys("" if v is None else f"{v}" for v in values))
    scores = [r.get(IMAGES, {}) for r in group]
    shared = set.intersection(*(set(s) for s in scores))
    stacked = {m: np.stack([np.asarray(s[m], dtype=float) for s in scores]) for m in shared
               if len({len(s[m]) for s in scores}) == 1}
    if stacked:
        out[IMAGES] = stacked
    out["n_seeds"] = len(group)
    return out
