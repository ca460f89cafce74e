"""Deep Hash Distillation model: backbone -> Linear (no bias) -> LayerNorm -> tanh.

Input images are in [0, 1]; the model centre-crops (``crop_size``) and applies ImageNet
mean/std normalisation itself, so callers never preprocess. Output: continuous hashes
h in (−1, 1)^num_bits; binary codes are sign(h).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import Config, DHDConfig, config_from_dict, load_config
from ..data import num_classes_of
from ..engine.checkpoint import load_checkpoint
from ..models.pretrained import build_backbone
from ..progress import progress

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
        return self.head(self.backbone.forward_features(self.preprocess(x)))


def create_dhd(cfg: DHDConfig, num_classes: int, pretrained: bool = True) -> DHD:
    """Build a DHD; ``pretrained`` loads the backbone weights named by ``cfg.pretrained``."""
    weights = cfg.pretrained if pretrained else None
    backbone = build_backbone(cfg.backbone, weights, width=cfg.width)
    backbone.strip_classifier()
    return DHD(backbone, cfg.num_bits, num_classes, cfg.crop_size)


def load_dhd(path: str | Path, device: torch.device | str = "cpu",
             overrides: list[str] | None = None) -> tuple[DHD, Config]:
    """Rebuild a trained DHD from its checkpoint, frozen and in eval mode, with its config;
    ``overrides`` (``key=value``) change that config, e.g. where the data lives."""
    ckpt = load_checkpoint(path, kind="dhd")
    cfg = config_from_dict(ckpt["config"])
    model = create_dhd(cfg.dhd, num_classes_of(cfg.data), pretrained=False)
    model.load_state_dict(ckpt["model"])
    model.requires_grad_(False)
    return model.to(device).eval(), load_config(None, overrides, base=ckpt["config"])


@torch.no_grad()
def compute_hashes(hasher: nn.Module, loader: Iterable[dict[str, Any]], device: torch.device,
                   desc: str = "hashing") -> tuple[Tensor, Tensor]:
    """Continuous hashes (N, num_bits) and labels (N, C) of every image of ``loader``."""
    hashes, labels = [], []
    for batch in progress(loader, desc):
        hashes.append(hasher(batch["image"].to(device)).float().cpu())
        labels.append(batch["label"])
    return torch.cat(hashes), torch.cat(labels)


def hash_cosine(h: Tensor, h_hat: Tensor) -> Tensor:
    """Per-image cosine similarity of continuous hashes, (B,)."""
    return F.cosine_similarity(h, h_hat, dim=1)
