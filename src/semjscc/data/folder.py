"""The ``folder`` dataset kind: one class per sub-folder (EuroSAT: ``root/AnnualCrop/*.jpg``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import DataConfig
from ..registry import DATASETS
from .errors import DataError, check_num_classes
from .files import LabelledFiles, data_root
from .splits import canonical_split, stratified_split

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def class_folders(root: Path) -> list[Path]:
    """Non-hidden sub-folders of ``root``, sorted by name (class id = position)."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(
            f"{root} has no class sub-folders; data.kind=folder expects "
            "data.root/<class name>/<images> (e.g. EuroSAT: root/AnnualCrop/*.jpg)"
        )
    return folders


def scan_folder(root: Path) -> tuple[list[str], list[Path], np.ndarray]:
    """-> (class names, image paths sorted per class, (N,) int64 class ids)."""
    names, paths, ids = [], [], []
    for class_id, folder in enumerate(class_folders(root)):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(
                f"class folder {folder} has no images ({', '.join(IMAGE_SUFFIXES)}); "
                "add images or remove the folder"
            )
        names.append(folder.name)
        paths += files
        ids += [class_id] * len(files)
    return names, paths, np.asarray(ids, dtype=np.int64)


@DATASETS.register("folder")
class FolderDataset(LabelledFiles):
    """One-hot labelled images from class sub-folders, classes sorted by name.

    train/val/test: per class, a ``data.seed``-seeded shuffle gives round(val_fraction·n)
    images to val, round(test_fraction·n) to test and the rest to train; db = train.
    """

    @classmethod
    def from_config(cls, cfg: DataConfig, split: str) -> FolderDataset:
        split = canonical_split(split)
        root = data_root(cfg)
        names, paths, ids = scan_folder(root)
        check_num_classes(cfg.num_classes, len(names), str(root))
        fractions = {"val": cfg.val_fraction, "test": cfg.test_fraction}
        part = stratified_split(ids, fractions, cfg.seed)["train" if split == "db" else split]
        if not part.size:
            raise DataError(
                f"split {split!r} of {root} is empty with data.val_fraction={cfg.val_fraction}, "
                f"data.test_fraction={cfg.test_fraction} and {len(paths)} images; adjust them"
            )
        return cls(
            [paths[i] for i in part],
            np.eye(len(names), dtype=np.float32)[ids[part]],
            cfg.image_size,
            class_names=names,
            on_bad_image=cfg.on_bad_image,
            source=f"split {split!r} of {root}",
        )

    @classmethod
    def num_classes_for(cls, cfg: DataConfig) -> int:
        root = data_root(cfg)
        return check_num_classes(cfg.num_classes, len(class_folders(root)), str(root))
