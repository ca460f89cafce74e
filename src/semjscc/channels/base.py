"""The channel interface: ``y = channel(z, snr_db)``, the SNR a call argument, never state.

Every channel acts on a real-packed latent z (B, M, h, w) (channels [0, M/2) real parts,
[M/2, M) imaginary parts: k = M·h·w/2 complex symbols per image) of unit average power per
complex symbol (see :func:`~semjscc.channels.power_normalize`). The SNR is per complex
symbol: SNR = E|h·s|² / σ² with E|s|² = 1 and E|h|² = 1, so σ² = 10^(−SNR/10), and each real
noise component has variance σ²/2.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from ..registry import CHANNELS
from .functional import as_shape

EQUALIZATIONS = ("none", "zf", "mmse")


class ChannelOutput(NamedTuple):
    """What a channel returns with ``return_state=True``.

    ``y``: (B, M, h, w) real-packed receiver output (after the receiver's equalisation);
    ``h``: complex gains, (B,) for block fading (ones for AWGN) or (B, M/2, h, w) for fast
    fading and OFDM; ``noise_var``: (B,) σ² per complex symbol at the receiver input, or, for
    a channel whose own receiver estimates and equalises (OFDM), (B, M/2, h, w): the noise
    variance of y's unbiased symbols after equalisation, per symbol.
    """

    y: Tensor
    h: Tensor
    noise_var: Tensor


class Channel(nn.Module):
    """Base class: subclasses implement :meth:`transmit` and, if they fade, :meth:`sample_gains`.

    ``param_columns`` maps each result column of the channel's parameters to its file-name
    label prefix (e.g. ``{"k_factor": "k"}``); each column is also an attribute.
    """

    name: str = "channel"
    equalization: str | None = None
    param_columns: ClassVar[dict[str, str]] = {}

    def forward(self, z: Tensor, snr_db: Tensor | float,
                generator: torch.Generator | None = None,
                return_state: bool = False) -> Tensor | ChannelOutput:
        """(B, M, h, w) -> y of the same shape; with ``return_state`` the
        :class:`ChannelOutput` (y, h, noise_var). ``snr_db``: float or (B,) tensor."""
        out = self.transmit(z, snr_db, generator)
        return out if return_state else out.y

    def transmit(self, z: Tensor, snr_db: Tensor | float,
                 generator: torch.Generator | None = None) -> ChannelOutput:
        raise NotImplementedError

    def sample_gains(self, shape: int | tuple[int, ...], generator: torch.Generator | None = None,
                     device: torch.device | str = "cpu") -> Tensor:
        """Complex64 gains of ``shape`` (an int n means (n,)) with E|h|² = 1; ones here (AWGN).
        The one place a channel draws its gains."""
        return torch.ones(as_shape(shape), dtype=torch.complex64, device=device)

    def describe(self) -> dict[str, Any]:
        """Result-row columns naming this channel: ``channel``, ``equalization``, ``k_factor``
        (None unless a parameter; the results schemas have it), then ``param_columns``."""
        return {"channel": self.name, "equalization": self.equalization, "k_factor": None,
                **{column: getattr(self, column) for column in self.param_columns}}

    @property
    def label(self) -> str:
        """Short file-name-safe name, e.g. ``awgn``, ``rayleigh_zf``, ``rician_k100_zf``."""
        d = self.describe()
        parts = [d["channel"], *(f"{prefix}{d[column]:g}"
                                 for column, prefix in self.param_columns.items())]
        if d["equalization"] is not None:
            parts.append(d["equalization"])
        return "_".join(parts)


def build_channel(spec: dict[str, Any] | None) -> Channel:
    """A channel from its config mapping, e.g. ``{name: rician, k_factor: 100,
    equalization: zf}``; None or ``{}`` is AWGN."""
    spec = dict(spec or {"name": "awgn"})
    name = spec.pop("name", "awgn")
    CHANNELS.check_options(name, spec, "link.channel")
    return CHANNELS.get(name)(**spec)


def channel_param_columns() -> dict[str, str]:
    """The parameter columns of every registered channel, each with its label prefix (e.g.
    ``{"k_factor": "k", "nakagami_m": "m"}``), in registration order of the channels."""
    columns: dict[str, str] = {}
    for name in CHANNELS.names():
        factory = CHANNELS.get(name)
        columns.update(getattr(factory, "param_columns", {}))
    return columns
