"""Networks: the DeepJSCC pair, its multi-hop wrappers, and helpers to build them."""

from __future__ import annotations

from ..config import ModelConfig
from ..registry import MODELS
from .backbones import AlexNet, ResNet
from .deepjscc import DeepJSCC
from .multihop import MultiHopDF, pad_to_multiple
from .pretrained import WeightsError, build_backbone, load_pretrained, resolve_weights


def create_model(cfg: ModelConfig) -> DeepJSCC:
    """Build the DeepJSCC pair named in ``cfg`` (the single public constructor)."""
    return MODELS.build(cfg.name, num_features=cfg.num_features, num_latent=cfg.num_latent)


__all__ = [
    "AlexNet",
    "DeepJSCC",
    "MultiHopDF",
    "ResNet",
    "WeightsError",
    "build_backbone",
    "create_model",
    "load_pretrained",
    "pad_to_multiple",
    "resolve_weights",
]
