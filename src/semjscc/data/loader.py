"""Batching dataset items: a collate that drops unreadable (None) items, and the loader."""

from __future__ import annotations

from typing import Any, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from torch.utils.data.dataloader import default_collate

Batch = dict[str, Any]


def collate_items(items: list[Batch | None]) -> Batch | None:
    """Stack items into ``{"image": (B, 3, S, S), "label": (B, C), "index": (B,) int64}``.

    None items (images that failed to decode) are dropped, so B may be smaller than the
    batch size; a batch with nothing left becomes None.
    """
    kept = [item for item in items if item is not None]
    return default_collate(kept) if kept else None


class SkippingLoader(DataLoader):
    """A DataLoader that never yields the None of an all-unreadable batch (skips it).

    ``len()`` still counts such batches, so it is an upper bound when images fail to decode.
    """

    def __iter__(self) -> Iterator[Batch]:  # type: ignore[override]
        return (batch for batch in super().__iter__() if batch is not None)


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int,
    drop_last: bool = False,
    num_workers: int = 0,
    sampler: Sampler | None = None,
) -> DataLoader:
    """A loader of dict batches (see :func:`collate_items`), reproducible from ``seed``.

    The shuffle order (and worker seeds) come from a ``torch.Generator`` seeded with
    ``seed``. With ``sampler`` (e.g. a DistributedSampler) the sampler decides the order
    and ``shuffle`` is ignored. Batches that lose every item to decode errors are skipped.
    """
    return SkippingLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        generator=torch.Generator().manual_seed(seed),
        drop_last=drop_last,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        collate_fn=collate_items,
    )


class EpochSampler(Sampler[int]):
    """Training order for one process: a seeded permutation per epoch, cut to ``num_samples``
    images (a fresh random subset each epoch), then sharded across ``world_size`` ranks.

    Every rank computes the same permutation from ``seed + epoch``; call :meth:`set_epoch`
    before each epoch. Shards are equal-sized (the remainder is dropped).
    """

    def __init__(self, dataset_len: int, num_samples: int | None = None, seed: int = 0,
                 rank: int = 0, world_size: int = 1) -> None:
        self.dataset_len = dataset_len
        self.num_samples = min(num_samples or dataset_len, dataset_len)
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples // self.world_size

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        chosen = torch.randperm(self.dataset_len, generator=g)[: self.num_samples]
        return iter(chosen[self.rank:len(self) * self.world_size:self.world_size].tolist())
