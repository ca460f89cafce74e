"""Image backbones for hashing and perceptual losses: ResNet (v1.5) and AlexNet.

Written from the papers (He et al., CVPR 2016; Krizhevsky, "One weird trick", 2014) with
module names chosen so that ``state_dict()`` keys, shapes and order are exactly those of
torchvision's models: the official ImageNet files (``resnet18-f37072fd.pth``,
``resnet50-0676ba61.pth``, ``alexnet-owt-7be5be79.pth``) load strictly, unchanged.

Conventions: inputs are (B, 3, H, W) float images, normalised with the ImageNet mean/std
when official weights are used. Every model keeps its classifier (``fc`` / ``classifier``),
and exposes ``feature_dim`` plus ``forward_features(x) -> (B, feature_dim)`` for hashing.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from ..registry import BACKBONES


@runtime_checkable
class FeatureBackbone(Protocol):
    """What hashing heads need from a backbone: a pooled (B, feature_dim) embedding."""

    feature_dim: int

    def forward_features(self, x: Tensor) -> Tensor: ...


def _conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Conv2d:
    """Bias-free convolution with padding ``kernel_size // 2``, as everywhere in ResNet."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                     padding=kernel_size // 2, bias=False)


class _ResidualBlock(nn.Module):
    """y = relu(branch(x) + shortcut(x)); the shortcut is ``downsample`` or the identity.

    Subclasses define ``expansion`` (output channels = width · expansion), ``branch`` and
    ``last_bn`` (the BatchNorm closing the branch, zeroed by ``zero_init_residual``).
    """

    expansion: ClassVar[int]
    relu: nn.ReLU
    downsample: nn.Module | None

    def branch(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(self.branch(x) + shortcut)


class BasicBlock(_ResidualBlock):
    """Two 3×3 convolutions (ResNet-18/34); the first one carries the stride."""

    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = _conv(in_channels, width, 3, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv(width, width, 3)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = downsample

    def branch(self, x: Tensor) -> Tensor:
        return self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2


class Bottleneck(_ResidualBlock):
    """1×1 reduce, 3×3, 1×1 expand (×4); v1.5: the stride sits on the 3×3 convolution."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = _conv(in_channels, width, 1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv(width, width, 3, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv(width, width * self.expansion, 1)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def branch(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        return self.bn3(self.conv3(x))

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3


class ResNet(nn.Module):
    """ResNet classifier: stem, four stages (strides 1, 2, 2, 2), global average pool, ``fc``.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        layers: number of blocks per stage, e.g. (2, 2, 2, 2) for ResNet-18.
        num_classes: outputs of ``fc``.
        width: channels of the stem and of the first stage (doubled at each later stage).
        small_input: stem for ~32 px images, a 3×3 stride-1 conv and no max-pool, instead of
            the ImageNet 7×7 stride-2 conv + 3×3 stride-2 max-pool. Same state_dict keys.
        zero_init_residual: start every block as the identity (last BN weight 0).

    ``forward``: (B, 3, H, W) -> (B, num_classes) logits; ``forward_features``: (B, 3, H, W)
    -> (B, feature_dim) pooled features, feature_dim = 8 · width · block.expansion
    (512 for ResNet-18, 2048 for ResNet-50).
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: tuple[int, ...],
                 num_classes: int = 1000, width: int = 64, small_input: bool = False,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"ResNet has 4 stages, got layers={layers}")
        self.conv1 = _conv(3, width, 3) if small_input else _conv(3, width, 7, stride=2)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, padding=1)
        in_channels = width
        for i, num_blocks in enumerate(layers):
            stage_width = width * 2**i
            stage = self._make_stage(block, in_channels, stage_width, num_blocks,
                                     stride=1 if i == 0 else 2)
            self.add_module(f"layer{i + 1}", stage)
            in_channels = stage_width * block.expansion
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_channels, num_classes)
        self.feature_dim = in_channels

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif zero_init_residual and isinstance(m, _ResidualBlock):
                nn.init.zeros_(m.last_bn.weight)

    @staticmethod
    def _make_stage(block: type[BasicBlock] | type[Bottleneck], in_channels: int, width: int,
                    num_blocks: int, stride: int) -> nn.Sequential:
        out_channels = width * block.expansion
        downsample = None
        if stride != 1 or in_channels != out_channels:
            downsample = nn.Sequential(_conv(in_channels, out_channels, 1, stride),
                                       nn.BatchNorm2d(out_channels))
        blocks = [block(in_channels, width, stride, downsample)]
        blocks += [block(out_channels, width) for _ in range(num_blocks - 1)]
        return nn.Sequential(*blocks)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) -> (B, feature_dim) globally average-pooled last-stage features."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.forward_features(x))

    def strip_classifier(self) -> None:
        """Drop the ImageNet classifier (unused by ``forward_features``) to save memory."""
        self.fc = nn.Identity()


class AlexNet(nn.Module):
    """AlexNet, single-tower "one weird trick" variant (torchvision layout).

    ``forward``: (B, 3, H, W) -> (B, num_classes), H, W >= 63. ``forward_features``: the
    4096-d output of ``classifier`` without its last Linear (after ReLU, with dropout in
    training mode), as Deep Hash Distillation uses it. ``lpips_features``: the five ReLU
    maps of ``features`` used by LPIPS (H, W >= 31).
    """

    lpips_channels: ClassVar[tuple[int, ...]] = (64, 192, 384, 256, 256)
    _lpips_taps: ClassVar[tuple[int, ...]] = (1, 4, 7, 9, 11)  # ReLU indices in `features`

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )
        self.feature_dim = 4096

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) -> (B, 4096) penultimate classifier activations."""
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier[:-1](x)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier[-1](self.forward_features(x))

    def strip_classifier(self) -> None:
        """Drop the last Linear (unused by ``forward_features``) to save memory."""
        self.classifier[-1] = nn.Identity()

    def lpips_features(self, x: Tensor) -> list[Tensor]:
        """(B, 3, H, W) -> [relu1..relu5], channels ``lpips_channels``, each taken right after
        its ReLU (before any max-pool); 64 px input gives 15, 7, 3, 3, 3 px maps."""
        taps = []
        for i, layer in enumerate(self.features[: self._lpips_taps[-1] + 1]):
            x = layer(x)
            if i in self._lpips_taps:
                taps.append(x)
        return taps


@BACKBONES.register("resnet18")
def resnet18(num_classes: int = 1000, small_input: bool = False,
             zero_init_residual: bool = False) -> ResNet:
    """ResNet-18: 11,689,512 parameters with 1000 classes; feature_dim 512."""
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes=num_classes, small_input=small_input,
                  zero_init_residual=zero_init_residual)


@BACKBONES.register("resnet50")
def resnet50(num_classes: int = 1000, small_input: bool = False,
             zero_init_residual: bool = False) -> ResNet:
    """ResNet-50 (v1.5): 25,557,032 parameters with 1000 classes; feature_dim 2048."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes=num_classes, small_input=small_input,
                  zero_init_residual=zero_init_residual)


@BACKBONES.register("resnet-tiny")
def resnet_tiny(num_classes: int = 10, width: int = 32,
                zero_init_residual: bool = False) -> ResNet:
    """From-scratch CPU backbone for 32 px images: BasicBlock ×1 per stage, small-input stem;
    feature_dim 8 · width (256 by default)."""
    return ResNet(BasicBlock, (1, 1, 1, 1), num_classes=num_classes, width=width,
                  small_input=True, zero_init_residual=zero_init_residual)


@BACKBONES.register("alexnet")
def alexnet(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """AlexNet: 61,100,840 parameters with 1000 classes; feature_dim 4096."""
    return AlexNet(num_classes=num_classes, dropout=dropout)
