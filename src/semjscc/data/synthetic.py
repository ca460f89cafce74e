"""The built-in synthetic semantic dataset: textured shapes on varied backgrounds.

Image ``index`` of ``split`` is a pure function of ``(seed, split, index)``: its scene is
drawn from ``np.random.SeedSequence([seed, split_id, index])``, so it is identical in every
process and at every resolution, and the splits are disjoint random streams. The class
is the SHAPE (see :data:`CLASS_NAMES`); colour, texture, size and position are random.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..config import DataConfig
from ..registry import DATASETS
from .cache import RenderCache, RenderedSplit, shared
from .errors import DataError, check_num_classes
from .scene import Scene, render_scene, sample_scene
from .shapes import CLASS_NAMES
from .splits import SPLITS, canonical_split, split_value

SPLIT_IDS = {name: i for i, name in enumerate(SPLITS)}


def scene_for(seed: int, split: str, index: int) -> Scene:
    """The scene of image ``index`` in ``split`` (any alias) for ``seed``."""
    entropy = [seed, SPLIT_IDS[canonical_split(split)], index]
    return sample_scene(np.random.default_rng(np.random.SeedSequence(entropy)))


@DATASETS.register("synthetic")
class SyntheticShapes(RenderedSplit):
    """``num_images`` rendered scenes; items are ``{"image": (3, S, S) float32 in [0, 1],
    "label": (10,) multi-hot float32 (at least one 1), "index": int}``. Rendered images are
    kept in memory, shared by every object of the same split in the process
    (:func:`~semjscc.data.cache.shared`)."""

    class_names: tuple[str, ...] = CLASS_NAMES
    num_classes: int = len(CLASS_NAMES)
    multi_label = True

    def __init__(
        self, num_images: int, image_size: int = 32, split: str = "train", seed: int = 0
    ) -> None:
        super().__init__(num_images, image_size, split, seed)
        shape = self.shape
        self._cache, self._labels = shared(
            ("shapes", self.seed, self.split, self.image_size, self.num_images),
            self.num_images * int(np.prod(shape)) * 4,
            lambda: (RenderCache(self.num_images, shape, np.float32, self._render),
                     np.zeros((self.num_images, self.num_classes), np.float32)))

    def _render(self, index: int) -> np.ndarray:
        """Image ``index`` (S, S, 3); records its labels on the way."""
        scene = scene_for(self.seed, self.split, index)
        self._labels[index] = scene.labels(self.num_classes)
        return render_scene(scene, self.image_size)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.num_images:
            raise IndexError(f"index {index} out of range for {self.num_images} images")
        image = self._cache[index]  # renders (and records the labels) unless cached
        return {
            "image": torch.from_numpy(image).permute(2, 0, 1).contiguous(),
            "label": torch.from_numpy(self._labels[index].copy()),
            "index": int(index),
        }

    @classmethod
    def from_config(cls, cfg: DataConfig, split: str) -> SyntheticShapes:
        count = split_value(cfg.num_images, split, "data.num_images")
        if count <= 0:
            raise DataError(
                f"data.num_images.{canonical_split(split)}={count}: the split would be empty; "
                "set it to a positive count"
            )
        cls.num_classes_for(cfg)
        return cls(count, cfg.image_size, split, cfg.seed)

    @classmethod
    def num_classes_for(cls, cfg: DataConfig) -> int:
        return check_num_classes(cfg.num_classes, cls.num_classes, "the synthetic dataset")
