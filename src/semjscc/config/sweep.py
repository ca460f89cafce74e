"""``sweep`` and ``judges``: the grid of the core multi-hop experiment and its independent
judges."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .checks import checked, int_at_least, range_pair, relay_counts, seed, seed_list

# The paper's five quantize-and-forward settings N_Q:b (1.5, 2, 2.5, 3, 4 bpp at 256x256).
PAPER_QF_SETTINGS: tuple[str, ...] = ("4:0.75", "2:1", "4:1.25", "2:1.5", "2:2")


@dataclass
class SweepConfig:
    """The grid a reproduction trains: one model per (relays, snr_db, method) and seed."""

    relays: list[int] = checked(factory=lambda: [0, 1, 2, 3], check=relay_counts)
    # every experiment trains each of its compared models (the DeepJSCCs) once per seed, in
    # run directories suffixed _seed<s>; empty: once, with the config's ``seed``. The frozen
    # networks that define a loss or a measurement (DHD, task network, judges) are trained
    # once.
    seeds: list[int] = checked(factory=list, check=seed_list)
    snr_db: list[float] = field(default_factory=lambda: [-5.0, -10.0, -15.0])
    # one loss mapping per method (as train.loss); the method label is derived from it
    methods: list[dict[str, Any]] = field(
        default_factory=lambda: [{"mse": 1.0}, {"mse": 1.0, "dhd": 0.06}])
    # one model per (method, relays) trained over U[lo, hi] dB (instead of one per SNR),
    # [lo, hi] = snr_adaptive_range, or [min, max] of snr_db when that is empty
    snr_adaptive: bool = False
    snr_adaptive_range: list[float] = checked(factory=list, check=range_pair)
    # r > 0 models start from the same method's r = 0 model, with these --set overrides
    warm_start: bool = False
    warm_start_set: list[str] = field(default_factory=lambda: ["train.epochs=1"])
    # non-empty: one model per SNR setting (importance: per R x train SNR) trained with MSE
    # and these --set overrides (the shared base), which every method's r = 0 model then
    # fine-tunes with ``base_finetune_set``
    base_set: list[str] = field(default_factory=list)
    base_finetune_set: list[str] = field(default_factory=lambda: ["train.epochs=1"])
    qf: list[str] = field(default_factory=lambda: list(PAPER_QF_SETTINGS))
    qf_snr_db: list[float] = field(default_factory=list)  # empty: every SNR of snr_db
    figure_snr_db: list[float] = field(default_factory=list)  # SNRs drawn in the relay figures
    qf_max_blocks: int = checked(1_000_000, check=int_at_least(1))
    separation: list[str] = field(default_factory=lambda: ["jpeg2000", "webp", "avif"])
    # relay counts at which every method is also trained with r + 1 independent pairs
    # (link.shared_codec: false), the ablation of the shared-pair reading
    per_hop_codecs: list[int] = checked(factory=list, check=relay_counts)


@dataclass
class JudgeConfig:
    """Independent semantic judges for a reproduction: networks never used in training, so
    that a gain measured by the DHD the loss was built on is also measured by others."""

    # a second DHD like ``dhd`` but with this seed (None: skip)
    dhd_seed: int | None = checked(1, check=seed)
    dhd_backbone: str | None = "resnet18"  # a third DHD with another backbone (None: skip)
    dhd_width: int | None = checked(None, check=int_at_least(2))  # for narrow backbones
    dhd_pretrained: str = "imagenet"  # its weights: imagenet | none | path
    # epochs of both judge DHDs (None: dhd.epochs)
    dhd_epochs: int | None = checked(None, check=int_at_least(1))
    classifier: bool = True  # a ``task`` classifier trained on clean images

