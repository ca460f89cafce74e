"""DeepJSCC encoder/decoder of Yilmaz et al. (ICC 2023, "DeepJSCC-Q2" blocks), single pair,
no device embedding, as used by Bergström et al. for multi-hop relaying.

Encoder: (B, 3, H, W) in [0, 1] -> (B, M, H/4, W/4) real latent (not yet power-normalised).
Decoder: (B, M, H/4, W/4) channel output -> (B, 3, H, W), unbounded (no sigmoid/clamp).
Both take the hop's SNR in dB, shape (B,), fed to every AF module.
With N=256, M=32 the pair has 22,322,579 parameters.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..registry import MODELS
from .layers import (
    AFModule,
    AttentionBlock,
    ResidualBlock,
    ResidualBlockUpsample,
    ResidualBlockWithStride,
    SNRSequential,
)


def make_encoder(num_features: int, num_latent: int, in_channels: int = 3) -> SNRSequential:
    n, m = num_features, num_latent
    return SNRSequential([
        ResidualBlockWithStride(in_channels, n), AFModule(n),
        ResidualBlock(n, n), ResidualBlock(n, n), AFModule(n),
        AttentionBlock(n),
        ResidualBlock(n, n),
        ResidualBlockWithStride(n, n), AFModule(n),
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
        ResidualBlockUpsample(n, n), AFModule(n),
        AttentionBlock(n),
        ResidualBlock(n, n),
        ResidualBlock(n, n), AFModule(n),
        ResidualBlock(n, n),
        ResidualBlockUpsample(n, out_channels), AFModule(out_channels),
    ])


class DeepJSCC(nn.Module):
    """One DeepJSCC encoder-decoder pair with SNR-adaptive (AF) modules.

    Args:
        num_features: N, feature width of the hidden layers.
        num_latent: M, real latent channels (k = M/2 · H/4 · W/4 complex symbols).
    """

    downsampling_factor = 4

    def __init__(self, num_features: int = 256, num_latent: int = 32) -> None:
        super().__init__()
        if num_latent % 2:
            raise ValueError(f"num_latent must be even (Re/Im halves), got {num_latent}")
        self.num_features = num_features
        self.num_latent = num_latent
        self.encoder = make_encoder(num_features, num_latent)
        self.decoder = make_decoder(num_features, num_latent)

    @property
    def bandwidth_ratio(self) -> float:
        """rho = k / (3·H·W) = M / 96 channel symbols per source value."""
        return self.num_latent / 96

    def encode(self, x: Tensor, snr_db: Tensor) -> Tensor:
        """(B, 3, H, W), H and W multiples of 4 -> (B, M, H/4, W/4)."""
        f = self.downsampling_factor
        if x.shape[-1] % f or x.shape[-2] % f:
            raise ValueError(f"encode needs H, W divisible by {f}, got {tuple(x.shape[-2:])}; "
                             "use semjscc.models.pad_to_multiple")
        return self.encoder(x, snr_db)

    def decode(self, y: Tensor, snr_db: Tensor) -> Tensor:
        """(B, M, h, w) -> (B, 3, 4h, 4w)."""
        return self.decoder(y, snr_db)


@MODELS.register("yilmaz2023-deepjscc")
def yilmaz2023_deepjscc(num_features: int = 256, num_latent: int = 32) -> DeepJSCC:
    return DeepJSCC(num_features=num_features, num_latent=num_latent)
