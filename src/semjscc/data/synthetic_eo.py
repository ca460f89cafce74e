"""The ``synthetic-eo`` dataset kind: procedural EuroSAT-like land-cover patches, no files.

Image ``index`` of a split shows class ``index % 10`` (EuroSAT's classes and order) and is a
pure function of ``(seed, split, index, size)``: its renderer (see :mod:`.landcover`) draws
from ``np.random.SeedSequence([seed, split_id, index, STREAM])``, so train, val and test are
disjoint random streams, and ``db`` is train. ``data.num_images`` gives the split sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..config import DataConfig
from ..registry import DATASETS
from .cache import RenderCache, RenderedSplit, shared
from .errors import DataError, check_num_classes
from .eurosat import CLASS_NAMES
from .landcover import render_patch
from .splits import canonical_split, split_value

SPLIT_IDS = {"train": 0, "val": 1, "test": 2, "db": 0}
STREAM = 0xE0  # keeps these streams apart from the ``synthetic`` kind's


def patch_for(seed: int, split: str, index: int, size: int) -> np.ndarray:
    """Image ``index`` of ``split`` (any alias) for ``seed``: (S, S, 3) uint8, class index % 10."""
    entropy = [seed, SPLIT_IDS[canonical_split(split)], index, STREAM]
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    return render_patch(CLASS_NAMES[index % len(CLASS_NAMES)], rng, size)


@DATASETS.register("synthetic-eo")
class SyntheticEO(RenderedSplit):
    """``num_images`` rendered land-cover patches, classes balanced (class = index % 10).

    Items are ``{"image": (3, S, S) float32 in [0, 1] (multiples of 1/255), "label": (10,)
    one-hot float32, "index": int}``. Each image is rendered on first access and, when the
    split fits in :data:`~semjscc.data.cache.CACHE_BYTES`, kept and shared by every object of
    the same split in the process (every loader worker has its own).
    """

    class_names: tuple[str, ...] = CLASS_NAMES
    num_classes: int = len(CLASS_NAMES)
    multi_label = False

    def __init__(
        self, num_images: int, image_size: int = 64, split: str = "train", seed: int = 0
    ) -> None:
        super().__init__(num_images, image_size, split, seed)
        shape = self.shape
        seed, name, size = self.seed, self.split, self.image_size
        self._cache = shared(
            ("synthetic-eo", seed, name, size, self.num_images),
            self.num_images * int(np.prod(shape)),
            lambda: RenderCache(self.num_images, shape, np.uint8,
                                lambda index: patch_for(seed, name, index, size)))

    def pixels(self, index: int) -> np.ndarray:
        """The (S, S, 3) uint8 image ``index``, from the cache when rendered before."""
        return self._cache[index]

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.num_images:
            raise IndexError(f"index {index} out of range for {self.num_images} images")
        image = torch.from_numpy(self.pixels(index)).permute(2, 0, 1).float().div(255)
        label = torch.zeros(self.num_classes)
        label[index % self.num_classes] = 1.0
        return {"image": image.contiguous(), "label": label, "index": int(index)}

    @classmethod
    def from_config(cls, cfg: DataConfig, split: str) -> SyntheticEO:
        name = "train" if canonical_split(split) == "db" else canonical_split(split)
        count = split_value(cfg.num_images, name, "data.num_images")
        if count <= 0:
            raise DataError(
                f"data.num_images.{name}={count}: the split would be empty; "
                "set it to a positive count"
            )
        cls.num_classes_for(cfg)
        return cls(count, cfg.image_size, split, cfg.seed)

    @classmethod
    def num_classes_for(cls, cfg: DataConfig) -> int:
        return check_num_classes(cfg.num_classes, cls.num_classes, "the synthetic-eo dataset")
