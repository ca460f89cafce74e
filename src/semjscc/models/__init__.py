"""Networks: the DeepJSCC pair, its multi-hop wrappers, and helpers to build them."""

from __future__ import annotations

from ..config import ModelConfig
from ..registry import MODELS
from .deepjscc import DeepJSCC
from .multihop import MultiHopDF, pad_to_multiple


def create_model(cfg: ModelConfig) -> DeepJSCC:
    """Build the DeepJSCC pair named in ``cfg`` (the single public constructor)."""
    return MODELS.build(cfg.name, num_features=cfg.num_features, num_latent=cfg.num_latent)


__all__ = ["DeepJSCC", "MultiHopDF", "create_model", "pad_to_multiple"]
