"""Quality M of a measured metric column and the clean reference M_clean.

M (higher is better, about [0, 1]) by the column's name, case-insensitively:

* ``accuracy*``, ``precision*``, ``recall*``, ``f1*``: fractions; when a value exceeds 1.5
  the column is read as percent and divided by 100;
* ``ssim*``, ``ms_ssim*``: as they are;
* ``lpips*``: M = 1 − LPIPS;
* ``psnr*``: M = PSNR / PSNR_ref (PSNR_ref in dB, default 48);
* anything else (e.g. ``map``): as it is, taken to be a quality in [0, 1].

The semantic loss is L = 1 − M / M_clean with M_clean the quality on clean images: the mean of
a ``<metric>_clean`` column normalised the same way, else a value given on the M scale, else 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .fit import FitError

PSNR_REF_DB = 48.0
PERCENT_ABOVE = 1.5
_FRACTIONS = ("accuracy", "precision", "recall", "f1")
_SSIM = ("ssim", "ms_ssim", "ms-ssim")
# the raw values each known kind of metric can take
_RAW_RANGES = {"fraction": (0.0, 1.0), "percent": (0.0, 100.0), "one_minus": (0.0, np.inf)}


@dataclass(frozen=True)
class Normalisation:
    """How M was formed from one metric column (``rule`` as text) and where M_clean came from."""

    metric: str
    kind: str  # fraction | percent | as_is | one_minus | psnr_ratio
    rule: str
    m_clean: float
    m_clean_source: str
    psnr_ref_db: float | None = None
    notes: list[str] = field(default_factory=list)

    def apply(self, values: ArrayLike) -> np.ndarray:
        """M from raw metric values."""
        v = np.asarray(values, float)
        if self.kind == "percent":
            return v / 100.0
        if self.kind == "one_minus":
            return 1.0 - v
        if self.kind == "psnr_ratio":
            return v / float(self.psnr_ref_db)
        return v

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _kind(metric: str, values: np.ndarray) -> tuple[str, str, list[str]]:
    name = metric.lower()
    if name.startswith(_FRACTIONS):
        if values.size and float(np.nanmax(values)) > PERCENT_ABOVE:
            return "percent", f"M = {metric} / 100", [
                f"{metric}: values above {PERCENT_ABOVE} read as percent and divided by 100"]
        return "fraction", f"M = {metric}", []
    if name.startswith(_SSIM):
        return "as_is", f"M = {metric}", []
    if name.startswith("lpips"):
        return "one_minus", f"M = 1 - {metric}", []
    if name.startswith("psnr"):
        return "psnr_ratio", f"M = {metric} / PSNR_ref", []
    return "as_is", f"M = {metric}", [
        f"{metric}: not a known metric name; taken as a quality in [0, 1], higher is better"]


def raw_range(norm: Normalisation) -> tuple[float, float] | None:
    """The values a raw column of ``norm``'s metric can take (None when unknown): fractions
    0..1, percent 0..100, SSIM -1..1, LPIPS >= 0."""
    if norm.metric.lower().startswith(_SSIM):
        return -1.0, 1.0
    return _RAW_RANGES.get(norm.kind)


def normalise(metric: str, values: ArrayLike, *, psnr_ref_db: float = PSNR_REF_DB,
              clean_values: ArrayLike | None = None,
              m_clean: float | None = None) -> tuple[np.ndarray, Normalisation]:
    """M for ``values`` (1-D raw metric values) and the normalisation used. M_clean comes from
    the finite ``clean_values`` (raw, normalised like ``values``), else ``m_clean`` (already
    on the M scale), else 1."""
    v = np.asarray(values, float)
    kind, rule, notes = _kind(metric, v)
    psnr_ref = None
    if kind == "psnr_ratio":
        if not (np.isfinite(psnr_ref_db) and psnr_ref_db > 0):
            raise FitError(f"PSNR_ref must be a positive number of dB; got {psnr_ref_db}")
        psnr_ref = float(psnr_ref_db)
        rule = f"{rule}, PSNR_ref = {psnr_ref:g} dB"
    norm = Normalisation(metric, kind, rule, 1.0,
                         f"default 1: no {metric}_clean column and no M_clean value", psnr_ref,
                         notes)
    clean = np.asarray([] if clean_values is None else clean_values, float)
    clean = clean[np.isfinite(clean)]
    if clean.size:
        m = norm.apply(clean)
        source = f"mean of column {metric}_clean over {clean.size} rows"
        if m.max() - m.min() > 1e-9 * max(abs(m.max()), 1.0):
            source += f" (values vary from {m.min():.6g} to {m.max():.6g})"
        value = float(m.mean())
    elif m_clean is not None:
        value, source = float(m_clean), "given M_clean value (on the M scale)"
    else:
        value, source = 1.0, norm.m_clean_source
    if not (np.isfinite(value) and value > 0):
        raise FitError(f"M_clean of {metric} must be a positive quality; got {value:g} "
                       f"({source})")
    norm = replace(norm, m_clean=value, m_clean_source=source)
    return norm.apply(v), norm
