"""``eval``: defaults of ``semjscc eval`` and of every experiment's evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks import checked, relay_counts, seed


@dataclass
class EvalConfig:
    """Defaults for ``semjscc eval``; empty lists mean "the trained value"."""

    snr_db: list[float] = field(default_factory=list)
    relays: list[int] = checked(factory=list, check=relay_counts)
    split: str = "test"
    seed: int = checked(1234, check=seed)
    # ImageNet AlexNet for LPIPS: "imagenet" ($TORCH_HOME/hub/checkpoints or download), a path,
    # or "none" (no LPIPS). Without the file the lpips column stays empty.
    alexnet_weights: str = "imagenet"
