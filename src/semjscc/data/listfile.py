"""The NUS-WIDE list format of Deep Hash Distillation, and the ``list`` dataset kind.

A list file has one image per line: a path relative to ``data.root``, then C
space-separated 0/1 labels (multi-hot), e.g. ``images/0001.jpg 0 1 0 ... 1``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import DataConfig
from ..errors import InputError
from ..files import check_input, read_text
from ..registry import DATASETS
from .errors import DataError
from .files import LabelledFiles, data_root
from .splits import SPLITS, canonical_split, find_split, stratified_split


def _checked(path: Path) -> Path:
    """``path`` once it is a readable regular file (not a folder, FIFO or device), else a
    DataError naming it."""
    try:
        return check_input(path, "list file")
    except InputError as exc:
        raise DataError(str(exc)) from None


def _lines(path: Path) -> list[str]:
    """The lines of list file ``path``, read as UTF-8 text, else a DataError naming it."""
    try:
        return read_text(path, "list file").splitlines()
    except InputError as exc:
        raise DataError(str(exc)) from None


def read_list(path: Path, num_classes: int | None = None) -> tuple[list[str], np.ndarray]:
    """Parse a list file -> (N relative paths, (N, C) uint8 labels); blank lines are skipped.

    C is ``num_classes``, or the label count of the first line when None; any other count,
    or a label other than 0/1, raises a DataError naming the file and line.
    """
    paths: list[str] = []
    rows: list[list[bool]] = []
    for lineno, line in enumerate(_lines(path), start=1):
        tokens = line.split()
        if not tokens:
            continue
        labels = tokens[1:]
        if num_classes is None:
            num_classes = len(labels)
        if len(labels) != num_classes:
            raise DataError(
                f"{path}:{lineno}: found {len(labels)} labels, expected {num_classes}; "
                f"write 'image_path' then {num_classes} 0/1 labels (or fix data.num_classes)"
            )
        if not set(labels) <= {"0", "1"}:
            bad = next(t for t in labels if t not in ("0", "1"))
            raise DataError(
                f"{path}:{lineno}: label {bad!r} is not 0 or 1; labels must be 0/1 multi-hot"
            )
        paths.append(tokens[0])
        rows.append([t == "1" for t in labels])
    return paths, np.array(rows, dtype=np.uint8).reshape(len(rows), num_classes or 0)


def count_labels(path: Path) -> int:
    """Number of labels on the first non-blank line of a list file."""
    for lineno, line in enumerate(_lines(path), start=1):
        tokens = line.split()
        if len(tokens) == 1:
            raise DataError(
                f"{path}:{lineno}: no labels after the image path; append its 0/1 labels"
            )
        if tokens:
            return len(tokens) - 1
    raise DataError(f"list file {path} is empty; add 'image_path' + 0/1 label lines to it")


def list_file(cfg: DataConfig, split: str) -> Path | None:
    """The list file configured for ``split`` (or its alias), resolved against ``data.root``."""
    name = find_split(cfg.lists, split)
    if name is None:
        return None
    path = Path(name).expanduser()
    path = path if path.is_absolute() else data_root(cfg) / path
    if not path.exists():
        raise DataError(
            f"list file {path} not found; fix data.lists.{canonical_split(split)} "
            "(relative paths start at data.root)"
        )
    return _checked(path)


def list_source(cfg: DataConfig, split: str) -> tuple[Path, bool]:
    """The list file that canonical ``split`` is read from, and whether val is carved from it."""
    own = list_file(cfg, split)
    if own is not None and split != "train":
        return own, False
    needed = "test" if split == "test" else "train"
    path = list_file(cfg, needed)
    if path is None:
        raise DataError(
            f"data.lists has no {needed!r} list, needed for split {split!r}; "
            f"add data.lists.{needed}=<list file>"
        )
    return path, split in ("train", "val") and list_file(cfg, "val") is None


@DATASETS.register("list")
class ListDataset(LabelledFiles):
    """NUS-WIDE style list files (see module doc); class names are ``label0..label{C-1}``.

    Splits: each from ``data.lists`` (``test`` may be keyed ``query``). Without a ``val``
    list, val is a seeded ``data.val_fraction`` of the train list and train keeps the
    rest; without a ``db`` list, db is the full train list.
    """

    @classmethod
    def from_config(cls, cfg: DataConfig, split: str) -> ListDataset:
        split = canonical_split(split)
        num_classes = cls.num_classes_for(cfg)
        path, carve = list_source(cfg, split)
        paths, labels = read_list(path, num_classes)
        if not paths:
            raise DataError(f"list file {path} is empty; add 'image_path' + 0/1 label lines")
        if carve:
            parts = stratified_split(np.zeros(len(paths)), {"val": cfg.val_fraction}, cfg.seed)
            part = parts[split]
            if not part.size:
                raise DataError(
                    f"split {split!r} carved from {path} is empty: data.val_fraction="
                    f"{cfg.val_fraction} of {len(paths)} images; change it or add data.lists.val"
                )
            paths, labels = [paths[i] for i in part], labels[part]
        root = data_root(cfg)
        return cls(
            [root / p for p in paths],
            labels,
            cfg.image_size,
            class_names=[f"label{i}" for i in range(num_classes)],
            on_bad_image=cfg.on_bad_image,
            source=f"split {split!r} from {path}",
        )

    @classmethod
    def num_classes_for(cls, cfg: DataConfig) -> int:
        """``data.num_classes`` if set, else the label count on line 1 of the train list."""
        if cfg.num_classes is not None:
            return cfg.num_classes
        for split in SPLITS:  # the train list first
            path = list_file(cfg, split)
            if path is not None:
                return count_labels(path)
        raise DataError("data.lists is empty; add data.lists.train=<list file> (and test, db)")
