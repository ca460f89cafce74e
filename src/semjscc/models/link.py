"""One point-to-point transmission: the single encode → power-normalise → channel path
that every link (DF hops, QF relays), the benchmark, ``transmit`` and codebook fitting use."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..channels import Channel, power_normalize
from .base import JSCCModel


def pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Replicate-pad (B, C, H, W) on the bottom/right to multiples of ``multiple``; returns
    the padded batch and the original (H, W)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, (h, w)


def channel_output(model: JSCCModel, x: Tensor, channel: Channel, snr_db: Tensor,
                   generator: torch.Generator | None = None) -> Tensor:
    """y = channel(P(E(x, snr)), snr): the receiver's (equalised) real-packed symbols.

    Args:
        x: (B, 3, H, W) images, H and W multiples of ``model.downsampling_factor``.
        snr_db: (B,) SNR of this transmission in dB (fed to the encoder too).
    Returns:
        (B, M, H/f, W/f) channel output.
    """
    return channel(power_normalize(model.encode(x, snr_db)), snr_db, generator=generator)


def hop(model: JSCCModel, x: Tensor, channel: Channel, snr_db: Tensor,
        generator: torch.Generator | None = None) -> Tensor:
    """One transmission decoded: D(:func:`channel_output`, snr) -> (B, 3, H, W)."""
    return model.decode(channel_output(model, x, channel, snr_db, generator), snr_db)
