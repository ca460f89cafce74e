"""Datasets for semantic DeepJSCC: built-in synthetic shapes, NUS-WIDE lists, image folders,
EuroSAT and CIFAR-10.

Every item is ``{"image": FloatTensor (3, S, S) in [0, 1], "label": FloatTensor (C,) 0/1
(multi-hot, or one-hot for single-label sets), "index": int}``; every dataset has
``class_names``, ``num_classes`` and ``multi_label``. Splits: ``train``, ``val``, ``test`` (alias ``query``) and
``db`` (retrieval database). Dataset kinds are registered in
:data:`semjscc.registry.DATASETS` as classes with ``from_config(cfg, split)`` and
``num_classes_for(cfg)``.
"""

from __future__ import annotations

from typing import Protocol

from torch.utils.data import Dataset

from ..config import DataConfig
from ..registry import DATASETS
from .cifar10 import CIFAR10
from .errors import DataError
from .eurosat import EuroSAT, split_manifest
from .files import LabelledFiles
from .folder import FolderDataset
from .listfile import ListDataset, read_list
from .loader import collate_items, make_loader
from .shapes import CLASS_NAMES
from .splits import SPLITS, canonical_split
from .synthetic import SyntheticShapes
from .synthetic_eo import SyntheticEO


class DatasetKind(Protocol):
    """What :data:`DATASETS` holds for each ``data.kind``."""

    def from_config(self, cfg: DataConfig, split: str) -> Dataset: ...

    def num_classes_for(self, cfg: DataConfig) -> int: ...


def dataset_kind(cfg: DataConfig) -> DatasetKind:
    """The registered class for ``cfg.kind`` (unknown kinds: the registry's ConfigError)."""
    return DATASETS.get(cfg.kind)


def build_dataset(cfg: DataConfig, split: str) -> Dataset:
    """The dataset of ``split`` (train, val, test/query, db) described by ``cfg``."""
    canonical_split(split)
    if cfg.image_size <= 0:
        raise DataError(f"data.image_size={cfg.image_size}; set a positive size such as 32")
    return dataset_kind(cfg).from_config(cfg, split)


def num_classes_of(cfg: DataConfig) -> int:
    """Length C of the label vectors of ``cfg``'s dataset (cheap: no images are opened)."""
    return dataset_kind(cfg).num_classes_for(cfg)


__all__ = [
    "CIFAR10",
    "CLASS_NAMES",
    "SPLITS",
    "DataError",
    "EuroSAT",
    "FolderDataset",
    "LabelledFiles",
    "ListDataset",
    "SyntheticEO",
    "SyntheticShapes",
    "build_dataset",
    "canonical_split",
    "collate_items",
    "make_loader",
    "num_classes_of",
    "read_list",
    "split_manifest",
]
