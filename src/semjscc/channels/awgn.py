"""Complex additive white Gaussian noise on a real-packed latent."""

from __future__ import annotations

import torch
from torch import Tensor

from ..registry import CHANNELS
from .base import Channel, ChannelOutput
from .functional import as_batch_snr, snr_db_to_noise_var


def complex_noise(z: Tensor, noise_var: Tensor, generator: torch.Generator | None) -> Tensor:
    """Real-packed CN(0, σ²) noise shaped like z (B, M, h, w): N(0, σ²/2) per real entry,
    ``noise_var`` (B,) σ² per complex symbol."""
    std = torch.sqrt(noise_var / 2.0).to(z.dtype)
    noise = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
    return noise * std.view(-1, *([1] * (z.dim() - 1)))


def awgn(z: Tensor, snr_db: Tensor | float, generator: torch.Generator | None = None) -> Tensor:
    """y = z + n with n ~ CN(0, σ² I), σ² = 10^(−snr_db/10) per complex symbol.

    For unit-power inputs (see :func:`power_normalize`) this is exactly the stated SNR.

    Args:
        z: (B, M, h, w) real latent (channels [0, M/2) Re, [M/2, M) Im).
        snr_db: a float, or a (B,) tensor with one SNR per image.
        generator: optional ``torch.Generator`` on ``z``'s device, for reproducible noise.
    """
    noise_var = snr_db_to_noise_var(as_batch_snr(snr_db, z.shape[0], z.device))
    return z + complex_noise(z, noise_var, generator)


@CHANNELS.register("awgn")
class AWGN(Channel):
    """Module twin of :func:`awgn`: ``y = AWGN()(z, snr_db, generator=g)``."""

    name = "awgn"

    def transmit(self, z: Tensor, snr_db: Tensor | float,
                 generator: torch.Generator | None = None) -> ChannelOutput:
        noise_var = snr_db_to_noise_var(as_batch_snr(snr_db, z.shape[0], z.device))
        return ChannelOutput(z + complex_noise(z, noise_var, generator),
                             self.sample_gains(z.shape[0], device=z.device), noise_var)
