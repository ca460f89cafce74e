"""DeepJSCC encoder/decoder of Yilmaz et al. (ICC 2023; the "DeepJSCC-Q2" blocks of Tung et
al.), single pair, no device embedding, as used by Bergström et al. for multi-hop relaying.

Built from CompressAI's layers (``ResidualBlockWithStride``, as
:class:`~.layers.StridedResidualBlock` with a crash-free skip, ``ResidualBlock``,
``ResidualBlockUpsample``, ``AttentionBlock``, GDN/IGDN inside them) plus SNR-attention
(AF) modules fed the hop's SNR in dB.

Encoder: (B, 3, H, W) in [0, 1] -> (B, M, H/4, W/4) real latent (not yet power-normalised).
Decoder: (B, M, H/4, W/4) channel output -> (B, 3, H, W), unbounded (no sigmoid/clamp).
With N=256, M=32 the pair has 22,322,579 parameters.
"""

from __future__ import annotations

from collections.abc import Mapping

from compressai.layers import (
    AttentionBlock,
    ResidualBlock,
    ResidualBlockUpsample,
)
from torch import Tensor

from ..config import ModelConfig, parse_ratio
from ..errors import ConfigError
from ..registry import MODELS
from .base import JSCCModel
from .layers import AFModule, SNRSequential, StridedResidualBlock


def make_encoder(num_features: int, num_latent: int, in_channels: int = 3) -> SNRSequential:
    n, m = num_features, num_latent
    return SNRSequential([
        StridedResidualBlock(in_channels, n, stride=2), AFModule(n),
        ResidualBlock(n, n), ResidualBlock(n, n), AFModule(n),
        AttentionBlock(n),
        ResidualBlock(n, n),
        StridedResidualBlock(n, n, stride=2), AFModule(n),
        ResidualBlock(n, n),
        ResidualBlock(n, m), AFModule(m),
        AttentionBlock(m),
    ])


def make_decoder(num_features: int, num_latent: int, out_channels: int = 3) -> SNRSequential:
    n, m = num_features, num_latent
    return SNRSequential([
        AttentionBlock(m),
        ResidualBlock(m, n),
        ResidualBlock(n, n), AFModule(n),
        ResidualBlock(n, n),
        ResidualBlockUpsample(n, n, upsample=2), AFModule(n),
        AttentionBlock(n),
        ResidualBlock(n, n),
        ResidualBlock(n, n), AFModule(n),
        ResidualBlock(n, n),
        ResidualBlockUpsample(n, out_channels, upsample=2), AFModule(out_channels),
    ])


@MODELS.register("yilmaz2023-deepjscc")
class Yilmaz2023DeepJSCC(JSCCModel):
    """One DeepJSCC encoder-decoder pair with SNR-adaptive (AF) modules.

    Args:
        num_features: N, feature width of the hidden layers.
        num_latent: M, real latent channels (even; k = M/2 · H/4 · W/4 complex symbols).
    """

    def __init__(self, num_features: int = 256, num_latent: int = 32) -> None:
        super().__init__()
        if num_features < 2 or num_features % 2 or num_latent < 2 or num_latent % 2:
            raise ConfigError(f"N={num_features}, M={num_latent}: both must be even and >= 2 "
                              "(attention blocks halve N; M holds Re/Im halves)")
        self.num_features = num_features
        self.num_latent = num_latent
        self.encoder = make_encoder(num_features, num_latent)
        self.decoder = make_decoder(num_features, num_latent)

    def extra_repr(self) -> str:
        return f"num_features={self.num_features}, {super().extra_repr()}"

    def encode(self, x: Tensor, snr_db: Tensor) -> Tensor:
        self.check_input(x)
        return self.encoder(x, snr_db)

    def decode(self, y: Tensor, snr_db: Tensor) -> Tensor:
        return self.decoder(y, snr_db)

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> Yilmaz2023DeepJSCC:
        """N = ``cfg.num_features`` (default 256) and ρ = M/96 exactly: M = 96ρ must be a
        positive even integer."""
        m = parse_ratio(cfg.bandwidth_ratio) * 96
        if m.denominator != 1 or m.numerator % 2 or m <= 0:
            raise ConfigError(
                f"model.bandwidth_ratio={cfg.bandwidth_ratio} gives M = 96*rho = {float(m):g}; "
                "it must be a positive even integer (e.g. 1/3 -> 32, 1/6 -> 16, 1/12 -> 8)")
        return cls(num_features=cfg.num_features or 256, num_latent=int(m))

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Tensor]) -> Yilmaz2023DeepJSCC:
        """N from the first convolution, M from the decoder's first attention block."""
        model = cls(num_features=state["encoder.0.conv1.weight"].shape[0],
                    num_latent=state["decoder.0.conv_b.3.weight"].shape[0])
        model.load_state_dict(dict(state))
        return model


def kaira_key(key: str) -> str:
    """Our state_dict key -> the key of kaira's ``Tung2022DeepJSCCQ2Encoder/Decoder`` pair
    (``encoder.*`` -> ``g_a.*``, ``decoder.*`` -> ``g_s.*``, AF ``net`` -> ``layers``)."""
    part, index, rest = key.split(".", 2)
    prefix = {"encoder": "g_a", "decoder": "g_s"}[part]
    return f"{prefix}.{index}.{'layers' + rest[3:] if rest.startswith('net.') else rest}"


def to_kaira_state_dicts(state: Mapping[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """(encoder, decoder) state_dicts for kaira's Q2 encoder and decoder modules."""
    enc: dict[str, Tensor] = {}
    dec: dict[str, Tensor] = {}
    for key, value in state.items():
        (enc if key.startswith("encoder.") else dec)[kaira_key(key)] = value
    return enc, dec


