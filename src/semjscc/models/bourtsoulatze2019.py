"""The DeepJSCC of Bourtsoulatze, Kurka and Gündüz (IEEE TCCN 2019), as used by the
Earth-observation semantic-loss papers (seed 001).

Encoder: five 5×5 convolutions with PReLU, 3 → 16 → 32 → 32 → 32 → 2c channels, strides
2, 2, 1, 1, 1 ("same" padding 2): (B, 3, H, W) -> (B, 2c, H/4, W/4). The decoder mirrors
it with 5×5 transposed convolutions (2c → 32 → 32 → 32 → 16 → 3, strides 1, 1, 1, 2, 2,
output padding 1 on the strided ones), PReLU after all but the last, which ends in a
sigmoid: outputs lie in (0, 1). Convolutions are Kaiming-normal initialised.

The latent holds c complex channels (first half real, second half imaginary), so an image
uses k = c·(H/4)·(W/4) complex symbols and the compression ratio is R = k / (3HW) = c/48.
A requested R gives c = ⌊48·R⌋ (so R = 1/20 realises 1/24, and 1/40 realises 1/48); the
realised ratio is ``bandwidth_ratio()``. The model takes no SNR input.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from torch import Tensor, nn

from ..config import ModelConfig, parse_ratio
from ..errors import ConfigError
from ..registry import MODELS
from .base import JSCCModel

ENCODER = ((3, 16, 2), (16, 32, 2), (32, 32, 1), (32, 32, 1))  # then 32 -> 2c, stride 1
DECODER = ((32, 32, 1), (32, 32, 1), (32, 16, 2), (16, 3, 2))  # after 2c -> 32, stride 1


def _conv(c_in: int, c_out: int, stride: int, transposed: bool = False) -> nn.Module:
    if transposed:
        layer: nn.Module = nn.ConvTranspose2d(c_in, c_out, 5, stride=stride, padding=2,
                                              output_padding=stride - 1)
    else:
        layer = nn.Conv2d(c_in, c_out, 5, stride=stride, padding=2)
    nn.init.kaiming_normal_(layer.weight)
    return layer


def latent_channels(ratio: float) -> int:
    """c = ⌊48·R⌋ complex latent channels for a requested compression ratio R."""
    c = math.floor(48 * ratio + 1e-9)
    if c < 1:
        raise ConfigError(f"model.bandwidth_ratio={ratio:g} gives c = floor(48 R) = 0 latent "
                          "channels; the smallest ratio this model realises is 1/48")
    return c


@MODELS.register("bourtsoulatze2019-djscc")
class Bourtsoulatze2019DJSCC(JSCCModel):
    """Five-layer convolutional DeepJSCC with ``channels`` = c complex latent channels."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.num_latent = 2 * channels
        enc: list[nn.Module] = []
        for c_in, c_out, stride in (*ENCODER, (32, 2 * channels, 1)):
            enc += [_conv(c_in, c_out, stride), nn.PReLU()]
        dec: list[nn.Module] = []
        for c_in, c_out, stride in ((2 * channels, 32, 1), *DECODER):
            dec += [_conv(c_in, c_out, stride, transposed=True), nn.PReLU()]
        dec[-1] = nn.Sigmoid()
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: Tensor, snr_db: Tensor) -> Tensor:
        self.check_input(x)
        return self.encoder(x)

    def decode(self, y: Tensor, snr_db: Tensor) -> Tensor:
        return self.decoder(y)

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> Bourtsoulatze2019DJSCC:
        """c = ⌊48·R⌋ for R = ``cfg.bandwidth_ratio``; the width is fixed (no N)."""
        if cfg.num_features is not None:
            raise ConfigError("bourtsoulatze2019-djscc has fixed widths (16, 32); leave "
                              "model.num_features empty")
        return cls(latent_channels(float(parse_ratio(cfg.bandwidth_ratio))))

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Tensor]) -> Bourtsoulatze2019DJSCC:
        """c from the last encoder convolution."""
        model = cls(channels=state["encoder.8.weight"].shape[0] // 2)
        model.load_state_dict(dict(state))
        return model
