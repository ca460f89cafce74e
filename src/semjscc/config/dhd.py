"""``dhd``: Deep Hash Distillation, the frozen semantic network of the core paper."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .checks import area_fractions, checked, image_size, in_range, int_at_least, positive


@dataclass
class DHDConfig:
    """Deep Hash Distillation (Jang et al., ECCV 2022) with the official code's defaults."""

    backbone: str = "resnet50"  # resnet50 | resnet18 | resnet-tiny | alexnet
    width: int | None = checked(None, check=int_at_least(2))  # resnet-tiny width (None: 32)
    pretrained: str = "imagenet"  # imagenet | none | path to a torchvision weights file
    num_bits: int = checked(64, check=int_at_least(1))
    # centre crop before the backbone; None = whole image
    crop_size: int | None = checked(224, check=image_size(1))
    tau: float = checked(0.2, check=positive)
    lambda_sdh: float = checked(0.1, check=in_range(0, math.inf))
    lambda_bceq: float = checked(0.1, check=in_range(0, math.inf))
    sigma: float = checked(0.5, check=positive)
    # A_w: 0.5 for ResNet, 0.2 for AlexNet
    teacher_strength: float = checked(0.5, check=in_range(0, math.inf))
    # RandomResizedCrop scale
    crop_scale: list[float] = checked(factory=lambda: [0.08, 1.0], check=area_fractions)
    student_strength: float = checked(1.0, check=in_range(0, math.inf))
    epochs: int = checked(100, check=int_at_least(1))
    batch_size: int = checked(128, check=int_at_least(1))
    lr: float = checked(3e-4, check=positive)  # hash head and proxies
    # backbone lr = scale * lr
    backbone_lr_scale: float = checked(0.05, check=in_range(0, math.inf))
    weight_decay: float = checked(1e-5, check=in_range(0, math.inf))
    # constant lr, then cosine to 0 over the remaining epochs
    warmup_epochs: int = checked(10, check=int_at_least(0))
    top_k: int | None = checked(5000, check=int_at_least(1))  # mAP@K
    checkpoint: str | None = None  # trained DHD (best.pt): the `dhd` loss term and evaluation
