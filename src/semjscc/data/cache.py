"""A per-process memo of procedurally rendered images (the synthetic kinds)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

import numpy as np
from torch.utils.data import Dataset

from .splits import canonical_split

CACHE_BYTES = 1 << 30  # splits up to this size keep their rendered pixels in memory
T = TypeVar("T")
_SHARED: dict[Hashable, tuple[int, object]] = {}  # key -> (bytes, state), oldest first


def shared(key: Hashable, nbytes: int, make: Callable[[], T]) -> T:
    """The process's one ``make()`` for ``key`` (a split's identity: kind, seed, split, size,
    count), so that a dataset built again for the same split (each epoch's validation, each
    run of a sweep) reuses the images rendered before. Holds at most :data:`CACHE_BYTES` of
    ``nbytes`` estimates, dropping the oldest states first."""
    if key in _SHARED:
        return _SHARED[key][1]  # type: ignore[return-value]
    while _SHARED and sum(b for b, _ in _SHARED.values()) + nbytes > CACHE_BYTES:
        del _SHARED[next(iter(_SHARED))]
    state = make()
    if nbytes <= CACHE_BYTES:
        _SHARED[key] = (nbytes, state)
    return state


class RenderCache:
    """``cache[index]`` renders image ``index`` once with ``render`` and keeps it when the
    whole split (``count`` images of ``shape`` and ``dtype``) fits in ``max_bytes``.

    Rendering is a pure function of the index, so a cached image equals a fresh render
    bit for bit; every DataLoader worker process holds its own cache.
    """

    def __init__(self, count: int, shape: tuple[int, ...], dtype: np.dtype | type,
                 render: Callable[[int], np.ndarray], max_bytes: int = CACHE_BYTES) -> None:
        self.render = render
        fits = count * int(np.prod(shape)) * np.dtype(dtype).itemsize <= max_bytes
        self._images = np.zeros((count, *shape), dtype) if fits else None
        self._done = np.zeros(count, dtype=bool)

    def __getitem__(self, index: int) -> np.ndarray:
        if self._images is None:
            return self.render(index)
        if not self._done[index]:
            self._images[index] = self.render(index)
            self._done[index] = True
        return self._images[index]


class RenderedSplit(Dataset):
    """Base of the synthetic kinds: ``num_images`` square ``image_size`` px images of one
    split, each a pure function of (``seed``, split, index)."""

    def __init__(self, num_images: int, image_size: int, split: str, seed: int) -> None:
        self.num_images = int(num_images)
        self.image_size = int(image_size)
        self.split = canonical_split(split)
        self.seed = int(seed)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(S, S, 3) of one image."""
        return (self.image_size, self.image_size, 3)

    def __len__(self) -> int:
        return self.num_images
