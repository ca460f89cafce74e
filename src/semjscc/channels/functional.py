"""Unit conversions and real <-> complex packing of latents.

Convention (used everywhere in semjscc): a real latent ``z`` of shape (B, M, h, w) carries
k = M·h·w/2 complex symbols; channels [0, M/2) are the real parts and [M/2, M) the
imaginary parts, so the complex latent is naturally (B, M/2, h, w).
"""

from __future__ import annotations

import operator

import torch
from torch import Tensor


def db_to_lin(x_db: Tensor | float) -> Tensor:
    """10^(x/10)."""
    return torch.pow(10.0, torch.as_tensor(x_db, dtype=torch.float32) / 10.0)


def lin_to_db(x: Tensor | float) -> Tensor:
    """10·log10(x)."""
    return 10.0 * torch.log10(torch.as_tensor(x, dtype=torch.float32))


def snr_db_to_noise_var(snr_db: Tensor | float) -> Tensor:
    """Noise variance per complex symbol for unit signal power: sigma² = 10^(−SNR/10)."""
    return db_to_lin(-torch.as_tensor(snr_db, dtype=torch.float32))


def num_complex_symbols(z: Tensor) -> int:
    """k = M·h·w / 2 complex channel uses per image of a (B, M, h, w) real latent."""
    if z.dim() < 2 or z[0].numel() % 2:
        raise ValueError("latent must have an even number of reals per image, got "
                         f"{tuple(z.shape)}")
    return z[0].numel() // 2


def real_to_complex(z: Tensor) -> Tensor:
    """(B, M, h, w) real -> (B, M/2, h, w) complex (first half Re, second half Im)."""
    m = z.shape[1]
    if m % 2:
        raise ValueError(f"latent needs an even channel count, got M={m}")
    return torch.complex(z[:, : m // 2].float(), z[:, m // 2 :].float())


def complex_to_real(zc: Tensor) -> Tensor:
    """Inverse of :func:`real_to_complex`."""
    return torch.cat([zc.real, zc.imag], dim=1)


def per_image_power(z: Tensor) -> Tensor:
    """(1/k)·Σ|z_i|² per image, shape (B,)."""
    return z.flatten(1).pow(2).sum(1) / num_complex_symbols(z)


def measured_snr_db(z: Tensor, y: Tensor) -> Tensor:
    """Empirical SNR per image, 10·log10(P_signal / P_noise) with P per complex symbol, (B,)."""
    return lin_to_db(per_image_power(z) / per_image_power(y - z))


def as_batch_snr(snr_db: Tensor | float, batch: int, device: torch.device) -> Tensor:
    """Broadcast a float or (B,) tensor of dB values to a float tensor of shape (B,)."""
    snr = torch.as_tensor(snr_db, dtype=torch.float32, device=device)
    if snr.dim() == 0:
        return snr.expand(batch)
    if snr.shape != (batch,):
        raise ValueError(f"snr_db must be a float or a ({batch},) tensor, got shape {tuple(snr.shape)}")
    return snr


def as_shape(shape: int | tuple[int, ...]) -> tuple[int, ...]:
    """A gain shape as a tuple: an int n means (n,)."""
    if isinstance(shape, (tuple, list)):
        return tuple(int(n) for n in shape)
    return (operator.index(shape),)
