"""Complex additive white Gaussian noise on a real-packed latent."""

from __future__ import annotations

import torch
from torch import Tensor

from .functional import as_batch_snr, snr_db_to_noise_var


def awgn(z: Tensor, snr_db: Tensor | float, generator: torch.Generator | None = None) -> Tensor:
    """y = z + n with n ~ CN(0, sigma² I), sigma² = 10^(−snr_db/10) per complex symbol.

    For unit-power inputs (see :func:`power_normalize`) this is exactly the stated SNR.
    Each real entry gets N(0, sigma²/2).

    Args:
        z: (B, M, h, w) real latent (channels [0, M/2) Re, [M/2, M) Im).
        snr_db: a float, or a (B,) tensor with one SNR per image.
        generator: optional ``torch.Generator`` on ``z``'s device, for reproducible noise.
    """
    snr = as_batch_snr(snr_db, z.shape[0], z.device)
    std = torch.sqrt(snr_db_to_noise_var(snr) / 2.0).to(z.dtype)
    noise = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
    return z + noise * std.view(-1, *([1] * (z.dim() - 1)))
