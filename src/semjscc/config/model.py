"""``model``: the DeepJSCC encoder-decoder pair."""

from __future__ import annotations

from dataclasses import dataclass

from .checks import checked, int_at_least, ratio


@dataclass
class ModelConfig:
    """The DeepJSCC pair: a registered model name, its width N (None: the model's default)
    and the bandwidth (compression) ratio ρ = k / (3·H·W) it is built for."""

    name: str = "yilmaz2023-deepjscc"
    num_features: int | None = checked(None, check=int_at_least(2))
    bandwidth_ratio: str = checked("1/3", check=ratio)
