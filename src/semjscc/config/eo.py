"""``eo``: the Earth-observation semantic-loss study (seed 001)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .checks import checked, in_range, range_pair, ratio


@dataclass
class EOConfig:
    """The Earth-observation sweep (unified semantic-loss model, seed 001): one DJSCC per
    channel × compression ratio (× SNR, unless SNR-adaptive), evaluated for reconstruction and
    task quality over ratio × SNR, then fitted and used for allocation."""

    channels: list[dict[str, Any]] = field(default_factory=lambda: [{"name": "awgn"}])
    # requested R = k/n
    ratios: list[str] = checked(factory=lambda: ["1/6", "1/12"], check=ratio)
    snr_db: list[float] = field(default_factory=lambda: [19.0, 13.0, 7.0, 4.0, 1.0])
    snr_adaptive: bool = False  # one model per (channel, R) over snr_adaptive_range
    # empty: [min, max] of snr_db
    snr_adaptive_range: list[float] = checked(factory=list, check=range_pair)
    protocols: list[str] = field(default_factory=lambda: ["mismatched", "matched"])
    separation: list[str] = field(default_factory=lambda: ["jpeg2000", "webp", "avif"])
    fit_metrics: list[str] = field(default_factory=lambda: [
        "accuracy_mismatched", "accuracy_matched", "ssim", "psnr"])
    fit_families: list[str] = field(default_factory=lambda: ["U1", "U2", "U3", "U4"])
    users: dict[str, Any] = field(default_factory=dict)  # allocation example (users.yaml form)
    # floor before verdicts (semjscc.experiments.floors): the share of the clean accuracy the
    # matched classifier keeps at the largest R and SNR, on each channel setting
    floor_matched_kept: float = checked(0.8, check=in_range(0, 1))
