"""One point-to-point transmission: the single encode → power-normalise → channel path
that every link (DF hops, QF relays), the benchmark, ``transmit`` and codebook fitting use."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

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


def recomputed(fn: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    """``fn`` keeping no activations for backward: they are recomputed there (gradient
    checkpointing; the same gradients, for one more forward pass)."""
    return partial(checkpoint, fn, use_reentrant=False)


def channel_output(model: JSCCModel, x: Tensor, channel: Channel, snr_db: Tensor,
                   generator: torch.Generator | None = None,
                   grad_checkpoint: bool = False) -> Tensor:
    """y = channel(P(E(x, snr)), snr): the receiver's (equalised) real-packed symbols.

    Args:
        x: (B, 3, H, W) images, H and W multiples of ``model.downsampling_factor``.
        snr_db: (B,) SNR of this transmission in dB (fed to the encoder too).
        grad_checkpoint: recompute the encoder's activations in backward (:func:`recomputed`).
    Returns:
        (B, M, H/f, W/f) channel output.
    """
    encode = recomputed(model.encode) if grad_checkpoint else model.encode
    return channel(power_normalize(encode(x, snr_db)), snr_db, generator=generator)


def hop(model: JSCCModel, x: Tensor, channel: Channel, snr_db: Tensor,
        generator: torch.Generator | None = None, grad_checkpoint: bool = False) -> Tensor:
    """One transmission decoded: D(:func:`channel_output`, snr) -> (B, 3, H, W); with
    ``grad_checkpoint`` the encoder's and decoder's activations are recomputed in backward."""
    decode = recomputed(model.decode) if grad_checkpoint else model.decode
    return decode(channel_output(model, x, channel, snr_db, generator, grad_checkpoint), snr_db)
