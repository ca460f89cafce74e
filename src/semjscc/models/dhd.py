"""Deep Hash Distillation model: backbone -> Linear (no bias) -> LayerNorm -> tanh.

Input images are in [0, 1]; the model centre-crops (``crop_size``) and applies ImageNet
mean/std normalisation itself, so callers never preprocess. Output: continuous hashes
h in (−1, 1)^num_bits; binary codes are sign(h).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from ..config import DHDConfig
from ..registry import BACKBONES

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class HashHead(nn.Module):
    """h = tanh(LayerNorm(W z)), plus the class proxies P (num_classes × num_bits).

    Proxies are Xavier-uniform initialised with gain 5/3 (the tanh gain).
    """

    def __init__(self, feature_dim: int, num_bits: int, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(feature_dim, num_bits, bias=False)
        self.norm = nn.LayerNorm(num_bits)
        self.proxies = nn.Parameter(torch.empty(num_classes, num_bits))
        nn.init.xavier_uniform_(self.proxies, gain=nn.init.calculate_gain("tanh"))

    def forward(self, features: Tensor) -> Tensor:
        return torch.tanh(self.norm(self.fc(features)))


class DHD(nn.Module):
    """Hashing network H(S) = H_theta(E_theta(S)): (B, 3, H, W) in [0, 1] -> (B, num_bits)."""

    def __init__(self, backbone: nn.Module, num_bits: int, num_classes: int,
                 crop_size: int | None = 224) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = HashHead(backbone.feature_dim, num_bits, num_classes)
        self.crop_size = crop_size
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def num_bits(self) -> int:
        return self.head.fc.out_features

    def preprocess(self, x: Tensor) -> Tensor:
        """Centre crop to ``crop_size`` (if smaller than the image) and normalise."""
        c = self.crop_size
        if c is not None and (x.shape[-2] > c or x.shape[-1] > c):
            top, left = (x.shape[-2] - c) // 2, (x.shape[-1] - c) // 2
            x = x[..., top:top + c, left:left + c]
        return (x - self.mean) / self.std

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.backbone(self.preprocess(x)))


def create_dhd(cfg: DHDConfig, num_classes: int, pretrained: bool = True) -> DHD:
    """Build a DHD; ``pretrained`` loads the backbone weights named by ``cfg.pretrained``."""
    options = {} if cfg.width is None else {"width": cfg.width}
    BACKBONES.check_options(cfg.backbone, options, "dhd.width (set dhd.width=null)")
    backbone = BACKBONES.build(cfg.backbone, weights=cfg.pretrained if pretrained else None,
                               **options)
    return DHD(backbone, cfg.num_bits, num_classes, cfg.crop_size)


def dhd_from_state_dict(state: Mapping[str, Tensor], cfg: DHDConfig) -> DHD:
    """A DHD rebuilt from its weights: bits and classes from the head's proxies, the
    backbone architecture from ``cfg.backbone`` (and a narrow backbone's width from its first
    block)."""
    num_classes, _ = state["head.proxies"].shape
    width = {"resnet-tiny": "backbone.layer1.0.conv1.weight",
             "convnet-tiny": "backbone.block1.0.weight"}.get(cfg.backbone)
    width = state[width].shape[0] if width else None
    sized = dataclasses.replace(cfg, width=width, num_bits=state["head.fc.weight"].shape[0])
    model = create_dhd(sized, num_classes, pretrained=False)
    model.load_state_dict(dict(state))
    return model
