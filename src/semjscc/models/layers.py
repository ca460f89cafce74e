"""SNR-aware pieces shared by the DeepJSCC models; the convolutional blocks themselves
(GDN, residual and attention blocks) come from CompressAI. Tensors are (B, C, H, W)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from compressai.layers import ResidualBlockWithStride
from torch import Tensor, nn


class SubsampledConv1x1(nn.Conv2d):
    """A strided 1x1 convolution computed as the unstrided one of x[..., ::s, ::s]: the same
    output, gradients and parameters. torch 2.14.1's CPU channels-last backward of a strided
    1x1 convolution from 3 channels corrupts the heap at some sizes (3 -> 256 channels, 64x64,
    batch 4: ``free(): invalid next size``); the unstrided one does not."""

    def forward(self, x: Tensor) -> Tensor:
        sh, sw = self.stride
        return F.conv2d(x[..., ::sh, ::sw], self.weight, self.bias)


def subsampled(conv: nn.Conv2d) -> SubsampledConv1x1:
    """``conv`` (1x1, strided, unpadded, ungrouped) as a :class:`SubsampledConv1x1` holding the
    same parameters (built on the meta device: no random numbers are drawn)."""
    out = SubsampledConv1x1(conv.in_channels, conv.out_channels, 1, stride=conv.stride,
                            bias=conv.bias is not None, device="meta")
    out.weight, out.bias = conv.weight, conv.bias
    return out


def avoid_strided_pointwise(module: nn.Module) -> nn.Module:
    """Swap, in place, every strided 1x1 unpadded ungrouped ``nn.Conv2d`` inside ``module``
    for :func:`subsampled` of it; returns ``module``."""
    for name, child in list(module.named_children()):
        if (type(child) is nn.Conv2d and child.kernel_size == (1, 1)
                and child.stride != (1, 1) and child.padding == (0, 0) and child.groups == 1):
            setattr(module, name, subsampled(child))
        else:
            avoid_strided_pointwise(child)
    return module


class StridedResidualBlock(ResidualBlockWithStride):
    """CompressAI's ``ResidualBlockWithStride`` with its strided 1x1 skip computed by
    :class:`SubsampledConv1x1` (same state-dict keys, same initial weights)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 2) -> None:
        super().__init__(in_ch, out_ch, stride)
        avoid_strided_pointwise(self)


class AFModule(nn.Module):
    """SNR attention ("AF" module of ADJSCC): a per-channel mask from (spatial mean of x,
    SNR in dB).

    mask = sigmoid(W2 · LeakyReLU(W1 · [mean_hw(x), snr_db] + b1) + b2); returns x · mask.
    The SNR is the raw dB value, shape (B,).
    """

    def __init__(self, channels: int, side_dim: int = 1) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(channels + side_dim, channels), nn.LeakyReLU(),
            nn.Linear(channels, channels), nn.Sigmoid(),
        )

    def forward(self, x: Tensor, snr_db: Tensor) -> Tensor:
        context = torch.cat([x.mean(dim=(2, 3)), snr_db.view(-1, 1).to(x.dtype)], dim=1)
        return x * self.net(context)[:, :, None, None]


class SNRSequential(nn.ModuleList):
    """Run modules in order, giving the SNR to the ones that take it (AF modules)."""

    def forward(self, x: Tensor, snr_db: Tensor) -> Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, snr_db) if isinstance(layer, AFModule) else layer(x)
        return x
