"""SNR-aware pieces shared by the DeepJSCC models; the convolutional blocks themselves
(GDN, residual and attention blocks) come from CompressAI. Tensors are (B, C, H, W)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


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
