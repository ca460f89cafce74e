"""Feature backbones for hashing: torchvision's ResNet-18/50 and AlexNet (with ImageNet
weights through :mod:`.pretrained`), and a narrow timm ResNet trained from scratch on CPU.

Every factory in :data:`~semjscc.registry.BACKBONES` returns a module mapping
(B, 3, H, W) images (ImageNet-normalised when ImageNet weights are used) to pooled features
(B, D), with ``feature_dim = D``: the classifier's last layer is replaced by an identity
after the weights are loaded, so torchvision's files load strictly.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import torchvision.models as tvm
from timm.models.resnet import BasicBlock
from timm.models.resnet import ResNet as TimmResNet
from torch import nn

from ..registry import BACKBONES
from .pretrained import WeightsError, load_pretrained, resolve_weights

WeightsSpec = str | os.PathLike[str] | None


def _strip(model: nn.Module, head: str, feature_dim: int) -> nn.Module:
    """Replace ``model.<head>`` (or the last layer of a Sequential head) by an identity."""
    layer = getattr(model, head)
    if isinstance(layer, nn.Sequential):
        layer[-1] = nn.Identity()
    else:
        setattr(model, head, nn.Identity())
    model.feature_dim = feature_dim  # type: ignore[assignment]
    return model


def _torchvision(arch: str, weights: WeightsSpec, head: str, feature_dim: int) -> nn.Module:
    model = getattr(tvm, arch)(weights=None)
    path = resolve_weights(arch, weights)
    if path is not None:
        load_pretrained(model, path)
    return _strip(model, head, feature_dim)


@BACKBONES.register("resnet18")
def resnet18(weights: WeightsSpec = None) -> nn.Module:
    """torchvision ResNet-18 without ``fc``: (B, 512) pooled features."""
    return _torchvision("resnet18", weights, "fc", 512)


@BACKBONES.register("resnet50")
def resnet50(weights: WeightsSpec = None) -> nn.Module:
    """torchvision ResNet-50 without ``fc``: (B, 2048) pooled features."""
    return _torchvision("resnet50", weights, "fc", 2048)


@BACKBONES.register("alexnet")
def alexnet(weights: WeightsSpec = None) -> nn.Module:
    """torchvision AlexNet without its last Linear: (B, 4096) fc7 activations (after ReLU,
    with dropout in training mode), as Deep Hash Distillation uses it; H, W >= 63."""
    return _torchvision("alexnet", weights, "classifier", 4096)


def narrow_resnet(width: int = 32, num_classes: int = 0, small_input: bool = True) -> TimmResNet:
    """timm ResNet with one BasicBlock per stage and channels (w, 2w, 4w, 8w). Its stem is a
    single 3×3 stride-1 convolution without max-pool with ``small_input`` (for ~32 px
    images), else timm's deep stem (three 3×3 convolutions, w/2, w/2, w, stride 2, then a
    max-pool). ``num_classes=0``: pooled (B, 8w) features."""
    if width < 2 or width % 2:
        raise ValueError(f"width must be an even number >= 2, got {width}")
    model = TimmResNet(BasicBlock, (1, 1, 1, 1), num_classes=num_classes, stem_type="deep",
                       stem_width=width // 2, channels=(width, 2 * width, 4 * width, 8 * width),
                       zero_init_last=False)
    if small_input:
        model.conv1 = nn.Conv2d(3, width, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    return model


@BACKBONES.register("resnet-tiny")
def resnet_tiny(weights: WeightsSpec = None, width: int = 32) -> nn.Module:
    """From-scratch CPU backbone for 32 px images (:func:`narrow_resnet`); (B, 8·width)."""
    if weights is not None and str(weights).lower() != "none":
        raise WeightsError("resnet-tiny has no ImageNet weights; fix: use pretrained: none")
    model = narrow_resnet(width)
    model.feature_dim = model.num_features  # type: ignore[assignment]
    return model


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True), nn.MaxPool2d(2))


def plain_convnet(width: int = 32, num_classes: int = 0) -> nn.Sequential:
    """Plain VGG-style CNN: blocks ``block1..3`` of width w, 2w, 4w, each two conv-BN-ReLU
    and a max-pool, then global average pooling and ``fc`` (an identity for
    ``num_classes=0``: pooled (B, 4w) features). No residual connections: a genuinely
    different architecture from the ResNets, for independent judges."""
    return nn.Sequential(OrderedDict([
        ("block1", _conv_block(3, width)), ("block2", _conv_block(width, 2 * width)),
        ("block3", _conv_block(2 * width, 4 * width)), ("pool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(4 * width, num_classes) if num_classes else nn.Identity())]))


@BACKBONES.register("convnet-tiny")
def convnet_tiny(weights: WeightsSpec = None, width: int = 32) -> nn.Module:
    """:func:`plain_convnet` features, from scratch: (B, 4·width)."""
    if weights is not None and str(weights).lower() != "none":
        raise WeightsError("convnet-tiny has no ImageNet weights; fix: use pretrained: none")
    model = plain_convnet(width)
    model.feature_dim = 4 * width  # type: ignore[assignment]
    return model
