"""``train``: DeepJSCC training."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from .checks import checked, in_range, int_at_least, one_of, positive, range_pair


@dataclass
class TrainConfig:
    """DeepJSCC training. ``loss`` maps registered loss terms to a weight, or to a mapping
    ``{weight: w, <option>: ...}`` (e.g. ``{mse: 1.0, dhd: 0.06}``); ``batch_size`` is one
    int, or a list indexed by the number of relays."""

    loss: dict[str, Any] = field(default_factory=lambda: {"mse": 1.0})
    epochs: int = checked(10, check=int_at_least(1))
    # images per epoch: a fresh seeded subset (None = all)
    epoch_images: int | None = checked(None, check=int_at_least(1))
    batch_size: Any = checked(32, check=int_at_least(1))
    lr: float = checked(1e-4, check=positive)
    # decay: lr *= lr_decay per epoch (the paper's) | onecycle | plateau: ReduceLROnPlateau on
    # the validation loss (plateau_factor, plateau_patience), stopping once lr < min_lr
    schedule: str = "decay"
    # MultiplicativeLR factor per epoch (schedule: decay)
    lr_decay: float = checked(0.95, check=in_range(0, 1, low_open=True))
    plateau_factor: float = checked(0.5, check=in_range(0, 1, low_open=True, high_open=True))
    plateau_patience: int = checked(15, check=int_at_least(0))
    # schedule plateau: training stops when the lr falls below this
    min_lr: float = checked(0.0, check=in_range(0, math.inf))
    weight_decay: float = checked(0.0, check=in_range(0, math.inf))
    # largest L2 norm of all gradients together before each step (None = no clipping); it
    # stops the loss spikes a minutes-long run never recovers from (e.g. a 40-epoch DJSCC
    # at 32 px stuck at 22.9 dB reached 26.3 dB with train.grad_clip=0.1)
    grad_clip: float | None = checked(None, check=positive)
    init_from: str | None = None  # warm start: DeepJSCC weights of another checkpoint
    # SNR-adaptive training: each image's SNR on each hop drawn from U[lo, hi] dB instead of
    # link.snr_db (validation stays at link.snr_db). None = the paper's fixed-SNR training.
    snr_db_range: list[float] | None = checked(None, check=range_pair)
    device: str = "auto"
    channels_last: bool = True  # NHWC memory format: faster convolutions on CPU and GPU
    # fp32 | bf16: autocast of the forward pass and loss
    precision: str = checked("fp32", check=one_of("fp32", "bf16"))
    compile: bool = False  # torch.compile the link (inductor; the first steps compile)
    fused_adam: bool = True  # one fused Adam kernel over all parameters instead of a loop
    # recompute each hop's encoder and decoder activations in backward instead of keeping
    # them: activation memory of one hop instead of r + 1 (e.g. r = 3 at batch 6 on 16 GB)
    grad_checkpoint: bool = False
    eval_batch_size: int = checked(64, check=int_at_least(1))

    def batch_size_for(self, relays: int) -> int:
        """The batch size of a model with ``relays`` relays."""
        if isinstance(self.batch_size, (list, tuple)):
            if relays >= len(self.batch_size):
                raise ConfigError(
                    f"train.batch_size lists {len(self.batch_size)} sizes (for relays 0.."
                    f"{len(self.batch_size) - 1}) but relays={relays}; add one or give an int"
                )
            return int(self.batch_size[relays])
        return int(self.batch_size)
