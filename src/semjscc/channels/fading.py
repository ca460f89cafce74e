"""Flat fading with an optional receiver equaliser, and its Rayleigh and Rician laws.

One complex gain h per image and transmission by default (``block=True``: every symbol of
the image sees the same h), or one per symbol (``block=False``, fast fading). E|h|² = 1:

* Rayleigh: h ~ CN(0, 1);
* Rician with K-factor K: h = sqrt(K/(K+1))·e^{jφ} + sqrt(1/(K+1))·CN(0, 1), φ ~ U[0, 2π).

The receiver sees r = h·s + n, n ~ CN(0, σ²), and applies ``equalization``:

* ``none``: y = r (the decoder copes blindly);
* ``zf``: y = r / h = s + n / h (zero forcing with perfect CSI);
* ``mmse``: y = conj(h)·r / (|h|² + σ²) (linear MMSE with perfect CSI).

A new fading law is a :class:`FadingChannel` subclass that implements
:meth:`~semjscc.channels.Channel.sample_gains`. Draw order from the generator: the gains,
then the noise.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor

from ..errors import ConfigError
from ..registry import CHANNELS
from .awgn import complex_noise
from .base import EQUALIZATIONS, Channel, ChannelOutput
from .functional import (
    as_batch_snr,
    as_shape,
    complex_to_real,
    real_to_complex,
    snr_db_to_noise_var,
)


def sample_gains(shape: int | tuple[int, ...], k_factor: float = 0.0,
                 generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> Tensor:
    """Complex64 gains of ``shape`` with E|h|² = 1: Rician with ``k_factor`` (0 = Rayleigh).

    Draws a (2, *shape) normal scatter, then (K > 0 only) a uniform phase of ``shape``."""
    shape = as_shape(shape)
    scatter = torch.randn((2, *shape), generator=generator, device=device)
    h = torch.complex(scatter[0], scatter[1]) * math.sqrt(0.5 / (k_factor + 1.0))
    if k_factor > 0:
        phase = torch.rand(shape, generator=generator, device=device) * (2 * math.pi)
        h = h + math.sqrt(k_factor / (k_factor + 1.0)) * torch.polar(torch.ones_like(phase), phase)
    return h


def apply_fading(z: Tensor, h: Tensor, snr_db: Tensor | float, equalization: str = "zf",
                 generator: torch.Generator | None = None) -> ChannelOutput:
    """r = h·z + n on a real-packed latent z (B, M, h, w), then ``equalization``.

    ``h``: (B,) block gains or (B, M/2, h, w) per-symbol gains, complex.
    """
    if equalization not in EQUALIZATIONS:
        raise ConfigError(f"equalization {equalization!r} is not one of "
                          f"{', '.join(EQUALIZATIONS)}")
    noise_var = snr_db_to_noise_var(as_batch_snr(snr_db, z.shape[0], z.device))
    gain = h.view(-1, 1, 1, 1) if h.dim() == 1 else h
    received = gain * real_to_complex(z) + real_to_complex(complex_noise(z, noise_var, generator))
    if equalization == "zf":
        received = received / gain
    elif equalization == "mmse":
        received = gain.conj() * received / (gain.abs() ** 2 + noise_var.view(-1, 1, 1, 1))
    return ChannelOutput(complex_to_real(received).to(z.dtype), h, noise_var)


def rayleigh(z: Tensor, snr_db: Tensor | float, equalization: str = "zf", block: bool = True,
             generator: torch.Generator | None = None) -> ChannelOutput:
    """Rayleigh fading, h ~ CN(0, 1); see :func:`apply_fading` for ``equalization``."""
    return Rayleigh(equalization, block).transmit(z, snr_db, generator)


def rician(z: Tensor, snr_db: Tensor | float, k_factor: float = 100.0, equalization: str = "zf",
           block: bool = True, generator: torch.Generator | None = None) -> ChannelOutput:
    """Rician fading with K-factor ``k_factor`` (linear; 100 = 20 dB, nearly line of sight)."""
    return Rician(k_factor, equalization, block).transmit(z, snr_db, generator)


class FadingChannel(Channel):
    """Flat fading: ``y = channel(z, snr_db, generator=g)``; with ``return_state=True`` it
    returns (y, h, σ²) for receivers that use the CSI. Subclasses give the gain law in
    :meth:`sample_gains` and their parameters in ``param_columns``."""

    def __init__(self, equalization: str = "zf", block: bool = True) -> None:
        super().__init__()
        if equalization not in EQUALIZATIONS:
            raise ConfigError(f"link.channel.equalization={equalization!r}: choose one of "
                              f"{', '.join(EQUALIZATIONS)}")
        self.equalization, self.block = equalization, block

    def gain_shape(self, z: Tensor) -> tuple[int, ...]:
        """(B,) for block fading, (B, M/2, h, w) for fast fading."""
        return (z.shape[0],) if self.block else (z.shape[0], z.shape[1] // 2, *z.shape[2:])

    def transmit(self, z: Tensor, snr_db: Tensor | float,
                 generator: torch.Generator | None = None) -> ChannelOutput:
        h = self.sample_gains(self.gain_shape(z), generator, z.device)
        return apply_fading(z, h, snr_db, self.equalization, generator)

    def sample_gains(self, shape: int | tuple[int, ...], generator: torch.Generator | None = None,
                     device: torch.device | str = "cpu") -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement sample_gains")

    def extra_repr(self) -> str:
        params = [f"{column}={getattr(self, column):g}" for column in self.param_columns]
        return ", ".join([*params, f"equalization={self.equalization}", f"block={self.block}"])


@CHANNELS.register("rayleigh")
class Rayleigh(FadingChannel):
    """Rayleigh block fading, h ~ CN(0, 1)."""

    name = "rayleigh"

    def sample_gains(self, shape: int | tuple[int, ...], generator: torch.Generator | None = None,
                     device: torch.device | str = "cpu") -> Tensor:
        return sample_gains(shape, 0.0, generator, device)


@CHANNELS.register("rician")
class Rician(FadingChannel):
    """Rician block fading with K-factor ``k_factor`` (default 100, the EO authors' value)."""

    name = "rician"
    param_columns: ClassVar[dict[str, str]] = {"k_factor": "k"}

    def __init__(self, k_factor: float = 100.0, equalization: str = "zf",
                 block: bool = True) -> None:
        if not (math.isfinite(k_factor) and k_factor >= 0):
            raise ConfigError(f"link.channel.k_factor={k_factor}: give a finite K >= 0 "
                              "(linear, e.g. 100 for 20 dB)")
        super().__init__(equalization, block)
        self.k_factor = float(k_factor)

    def sample_gains(self, shape: int | tuple[int, ...], generator: torch.Generator | None = None,
                     device: torch.device | str = "cpu") -> Tensor:
        return sample_gains(shape, self.k_factor, generator, device)
