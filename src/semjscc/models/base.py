"""What every DeepJSCC encoder/decoder pair offers, and the one place the rate is defined.

Convention: an image (B, 3, H, W) in [0, 1] is encoded into a real latent
(B, M, H/f, W/f), f = ``downsampling_factor``; channels [0, M/2) are real parts and
[M/2, M) imaginary parts, so one image uses k = M/2 · (H/f) · (W/f) complex channel
symbols and the bandwidth (compression) ratio is R = ρ = k / (3·H·W).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from torch import Tensor, nn

from ..config import ModelConfig


class JSCCModel(nn.Module):
    """Base class of the DeepJSCC pairs; subclasses set the attributes and implement
    :meth:`encode`, :meth:`decode` and :meth:`from_state_dict`.

    ``encode(x, snr_db)``: (B, 3, H, W) -> (B, M, H/f, W/f), not yet power-normalised.
    ``decode(y, snr_db)``: (B, M, H/f, W/f) -> (B, 3, H, W). ``snr_db`` is a (B,) tensor
    of the hop's SNR in dB (models without SNR inputs ignore it).
    """

    downsampling_factor: int = 4
    num_latent: int  # M, real latent channels (even)

    def encode(self, x: Tensor, snr_db: Tensor) -> Tensor:
        raise NotImplementedError

    def decode(self, y: Tensor, snr_db: Tensor) -> Tensor:
        raise NotImplementedError

    def check_input(self, x: Tensor) -> None:
        """Raise ValueError unless ``x`` is (B, 3, H, W) with H, W multiples of f."""
        f = self.downsampling_factor
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(x.shape)}")
        if x.shape[-1] % f or x.shape[-2] % f:
            raise ValueError(f"encode needs H, W divisible by {f}, got {tuple(x.shape[-2:])}; "
                             "use semjscc.models.pad_to_multiple")

    def num_symbols(self, height: int, width: int) -> int:
        """k, the complex channel uses per image of ``height`` × ``width`` pixels (the sizes
        are rounded up to multiples of f, as the links pad them)."""
        f = self.downsampling_factor
        return self.num_latent // 2 * (-(-height // f)) * (-(-width // f))

    def bandwidth_ratio(self) -> Fraction:
        """The realised ρ = k / (3·H·W) = M / (6·f²) (independent of the image size)."""
        return Fraction(self.num_latent, 6 * self.downsampling_factor**2)

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> JSCCModel:
        """A freshly initialised model as configured (``model.*``)."""
        raise NotImplementedError

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Tensor]) -> JSCCModel:
        """A model with the sizes read from ``state``'s weight shapes, ``state`` loaded."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"num_latent={self.num_latent}, bandwidth_ratio={self.bandwidth_ratio()}"


class HopCodecs(nn.ModuleList):
    """r + 1 independent DeepJSCC pairs, pair i serving hop i (state_dict keys ``i.*``)."""

    @property
    def downsampling_factor(self) -> int:
        return self[0].downsampling_factor

    def num_symbols(self, height: int, width: int) -> int:
        """k per image and hop (every pair has the same rate)."""
        return self[0].num_symbols(height, width)

    def bandwidth_ratio(self) -> Fraction:
        return self[0].bandwidth_ratio()

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Tensor], model_cls: type[JSCCModel]) -> HopCodecs:
        """Pairs rebuilt with ``model_cls.from_state_dict`` from the ``i.``-prefixed keys."""
        hops = sorted({int(k.split(".", 1)[0]) for k in state})
        return cls([model_cls.from_state_dict({k.split(".", 1)[1]: v for k, v in state.items()
                                               if k.startswith(f"{i}.")}) for i in hops])
