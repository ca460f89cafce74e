"""Nakagami-m flat fading: |h|² ~ Gamma(m, 1/m) (E|h|² = 1), phase ~ U[0, 2π).

m = 1 is Rayleigh, m -> ∞ no fading, m = 0.5 one-sided Gaussian (the deepest fades).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from scipy.special import gammaincinv
from torch import Tensor

from ..errors import ConfigError
from ..registry import CHANNELS
from .fading import FadingChannel
from .functional import as_shape


@CHANNELS.register("nakagami")
class Nakagami(FadingChannel):
    """Nakagami-m fading with shape ``m`` >= 0.5; see :class:`FadingChannel`.

    Draw order from the generator: one (2, *shape) float64 uniform draw on ``device``, then
    (in :meth:`transmit`) the noise; u[0] gives |h|² = P⁻¹(m, u[0]) / m (inverse regularised
    lower incomplete gamma, on the CPU), u[1] the phase 2π·u[1].
    """

    name = "nakagami"
    param_columns: ClassVar[dict[str, str]] = {"nakagami_m": "m"}

    def __init__(self, m: float = 2.0, equalization: str = "zf", block: bool = True) -> None:
        if not (math.isfinite(m) and m >= 0.5):
            raise ConfigError(f"link.channel.m={m}: give a finite Nakagami shape m >= 0.5 "
                              "(1 is Rayleigh, larger is milder fading)")
        super().__init__(equalization, block)
        self.m = float(m)

    @property
    def nakagami_m(self) -> float:
        """The shape m, as the result column ``nakagami_m``."""
        return self.m

    def sample_gains(self, shape: int | tuple[int, ...], generator: torch.Generator | None = None,
                     device: torch.device | str = "cpu") -> Tensor:
        u = torch.rand((2, *as_shape(shape)), generator=generator, device=device,
                       dtype=torch.float64).cpu()
        u = u.clamp(torch.finfo(torch.float64).tiny, 1.0 - torch.finfo(torch.float64).eps)
        power = torch.from_numpy(gammaincinv(self.m, u[0].numpy())) / self.m
        h = torch.polar(power.sqrt(), u[1] * (2 * math.pi))
        return h.to(device=device, dtype=torch.complex64)
