"""``importance``: the semantic-importance study (seed 002) and its loss terms' defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .checks import checked, in_range, one_of, positive, ratio


@dataclass
class ImportanceConfig:
    """Semantic-importance DJSCC (seed 002): defaults of the importance loss terms (see
    :mod:`semjscc.losses.importance`; the formulas are our design) and the sweep of
    ``experiment: importance``: one Bourtsoulatze DJSCC per method × R × train SNR,
    evaluated at every test SNR."""

    layers: list[str] = field(default_factory=list)  # layers ℓ of T; empty: its deepest one
    multilayer_layers: list[str] = field(default_factory=list)  # empty: T's last three
    normalization: str = checked("relu", check=one_of("relu", "abs", "softmax"))
    floor: float = checked(0.1, check=in_range(0, 1))  # β: w <- (1 - β) w + β / K
    temperature: float = checked(1.0, check=positive)  # τ of the softmax normalisation
    # label (true class) | predicted (T's class on the clean image)
    target: str = checked("label", check=one_of("label", "predicted"))
    methods: list[dict[str, Any]] = field(default_factory=lambda: [
        {"mse": 1.0}, {"unweighted": 1.0}, {"importance": 1.0}, {"pixel-importance": 1.0}])
    ratios: list[str] = checked(factory=lambda: ["1/12", "1/6"], check=ratio)
    train_snr_db: list[float] = field(default_factory=lambda: [0.0, 5.0, 10.0, 15.0, 20.0])
    test_snr_db: list[float] = field(default_factory=lambda: [
        -5.0, 0.0, 5.0, 10.0, 15.0, 20.0])
    channel: dict[str, Any] = field(default_factory=lambda: {"name": "awgn"})
    separation: list[str] = field(default_factory=lambda: ["jpeg2000", "webp", "avif"])
    # the independent classifier: --set overrides of the task classifier's config (another
    # architecture or seed); it is trained on clean images and never used in a loss
    independent: list[str] = field(default_factory=lambda: [
        "task.model=convnet-tiny", "task.width=null", "seed=1"])
    # floors before verdicts (semjscc.experiments.floors): T's and the independent
    # classifier's clean test accuracy, and the share of T's clean accuracy the `mse` DJSCC
    # keeps at its best test SNR, at every R; a missed floor marks the verdict not meaningful
    floor_clean_accuracy: float = checked(0.85, check=in_range(0, 1))
    floor_mse_kept: float = checked(0.75, check=in_range(0, 1))
