"""Per-image average power normalisation."""

from __future__ import annotations

import torch
from torch import Tensor

from .functional import num_complex_symbols


def power_normalize(z: Tensor, power: float = 1.0, eps: float = 1e-12) -> Tensor:
    """Scale each image's latent so its average power per complex symbol is exactly ``power``.

    Args:
        z: (B, M, h, w) real latent; channels [0, M/2) are Re, [M/2, M) are Im.
        power: target P in (1/k)·Σ|z_i|² = P, k = M·h·w/2 complex symbols.

    Returns:
        Tensor of the same shape with z · sqrt(P·k / ‖z‖²) per image.
    """
    k = num_complex_symbols(z)
    energy = z.flatten(1).pow(2).sum(1).clamp_min(eps)
    scale = torch.sqrt(power * k / energy)
    return z * scale.view(-1, *([1] * (z.dim() - 1)))
