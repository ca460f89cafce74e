"""Building blocks of the DeepJSCC encoder/decoder (Yilmaz et al., ICC 2023).

GDN/IGDN with a non-negative reparametrisation, residual blocks (plain, strided,
sub-pixel upsampling), the simplified Cheng-2020 attention block and the SNR-attention
("AF") module of ADJSCC. All convolutions have biases and "same" padding. Tensors are
(B, C, H, W).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class _LowerBound(torch.autograd.Function):
    """max(x, bound) whose gradient still flows where it would push x upwards."""

    @staticmethod
    def forward(ctx, x: Tensor, bound: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, bound)
        return torch.max(x, bound)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        x, bound = ctx.saved_tensors
        passes = (x >= bound) | (grad < 0)
        return passes.to(grad.dtype) * grad, None


class NonNegative(nn.Module):
    """Reparametrise a non-negative parameter v >= minimum as stored s = sqrt(v + p).

    At use: v = max(s, sqrt(minimum + p))² − p, with pedestal p = (2^-18)².
    """

    def __init__(self, minimum: float = 0.0, offset: float = 2**-18) -> None:
        super().__init__()
        pedestal = offset**2
        self.register_buffer("pedestal", torch.tensor(pedestal), persistent=False)
        self.register_buffer("bound", torch.tensor((minimum + pedestal) ** 0.5), persistent=False)

    def init(self, value: Tensor) -> Tensor:
        return torch.sqrt(torch.clamp_min(value + self.pedestal, self.pedestal))

    def forward(self, stored: Tensor) -> Tensor:
        return _LowerBound.apply(stored, self.bound) ** 2 - self.pedestal


class GDN(nn.Module):
    """Generalised divisive normalisation: y_i = x_i / sqrt(beta_i + Σ_j gamma_ij x_j²).

    ``inverse=True`` gives IGDN (multiply by the square root). Parameters: C + C².
    """

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6,
                 gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta_reparam = NonNegative(minimum=beta_min)
        self.gamma_reparam = NonNegative()
        self.beta = nn.Parameter(self.beta_reparam.init(torch.ones(channels)))
        self.gamma = nn.Parameter(self.gamma_reparam.init(gamma_init * torch.eye(channels)))

    def forward(self, x: Tensor) -> Tensor:
        beta = self.beta_reparam(self.beta)
        gamma = self.gamma_reparam(self.gamma)
        norm = F.conv2d(x * x, gamma[:, :, None, None], beta)
        return x * (torch.sqrt(norm) if self.inverse else torch.rsqrt(norm))


def conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)


def conv1x1(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 1, stride=stride)


def subpel_conv3x3(c_in: int, c_out: int, factor: int = 2) -> nn.Sequential:
    """conv3x3 to ``c_out·factor²`` channels, then PixelShuffle(factor)."""
    return nn.Sequential(conv3x3(c_in, c_out * factor**2), nn.PixelShuffle(factor))


class ResidualBlock(nn.Module):
    """conv3x3 → LeakyReLU → conv3x3 → LeakyReLU, plus identity (or 1×1 conv) skip."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv3x3(c_in, c_out), nn.LeakyReLU(), conv3x3(c_out, c_out), nn.LeakyReLU()
        )
        self.skip = conv1x1(c_in, c_out) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.skip(x)


class ResidualBlockWithStride(nn.Module):
    """Downsampling block: conv3x3/s → LeakyReLU → conv3x3 → GDN, plus 1×1/s conv skip.

    The skip is computed as subsampling x[..., ::s, ::s] then the 1×1 conv: the same result
    as a strided 1×1 conv (and the same weights), but it avoids a crash of torch's CPU
    channels-last backward for strided 1×1 convs from few input channels (e.g. 3 → 256).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 2) -> None:
        super().__init__()
        self.stride = stride
        self.body = nn.Sequential(
            conv3x3(c_in, c_out, stride), nn.LeakyReLU(), conv3x3(c_out, c_out), GDN(c_out)
        )
        self.skip = conv1x1(c_in, c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.skip(x[..., :: self.stride, :: self.stride])


class ResidualBlockUpsample(nn.Module):
    """Upsampling block: subpel conv → LeakyReLU → conv3x3 → IGDN, plus subpel conv skip."""

    def __init__(self, c_in: int, c_out: int, factor: int = 2) -> None:
        super().__init__()
        self.body = nn.Sequential(
            subpel_conv3x3(c_in, c_out, factor),
            nn.LeakyReLU(),
            conv3x3(c_out, c_out),
            GDN(c_out, inverse=True),
        )
        self.skip = subpel_conv3x3(c_in, c_out, factor)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.skip(x)


class ResidualUnit(nn.Module):
    """Bottleneck 1×1 → 3×3 → 1×1 (ReLU between) with identity skip and a final ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = channels // 2
        self.body = nn.Sequential(
            conv1x1(channels, half), nn.ReLU(), conv3x3(half, half), nn.ReLU(),
            conv1x1(half, channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.body(x) + x)


class AttentionBlock(nn.Module):
    """Simplified Cheng-2020 attention: a(x) · sigmoid(b(x)) + x."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f"AttentionBlock needs an even channel count, got {channels}")
        self.trunk = nn.Sequential(*(ResidualUnit(channels) for _ in range(3)))
        self.mask = nn.Sequential(
            *(ResidualUnit(channels) for _ in range(3)), conv1x1(channels, channels)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.trunk(x) * torch.sigmoid(self.mask(x)) + x


class AFModule(nn.Module):
    """SNR attention: per-channel mask from (spatial mean of x, SNR in dB).

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
