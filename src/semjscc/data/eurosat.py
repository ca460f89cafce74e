"""The ``eurosat`` dataset kind: the RGB EuroSAT land-cover set (10 classes, 64x64 JPEGs).

``data.root`` holds the class folders, ``ROOT/<ClassName>/<ClassName>_<n>.jpg``, either
directly, or as the unzipped archive leaves them (``ROOT/2750/<ClassName>/...``), or as
``torchvision.datasets.EuroSAT(ROOT, download=True)`` leaves them
(``ROOT/eurosat/2750/<ClassName>/...``). The train/val/test split is a fixed function of the
relative file names and ``data.seed`` (see :func:`split_manifest`), the same in every layout.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

from ..config import DataConfig
from ..registry import DATASETS
from .errors import DataError, check_num_classes
from .files import LabelledFiles
from .splits import canonical_split, stratified_split

log = logging.getLogger("semjscc.data")

CLASS_NAMES = (
    "AnnualCrop",
    "Forest",
    "HerbaceousVegetation",
    "Highway",
    "Industrial",
    "Pasture",
    "PermanentCrop",
    "Residential",
    "River",
    "SeaLake",
)
EXPECTED_IMAGES = 27_000
# The archive torchvision's EuroSAT class downloads.
URL = (
    "https://huggingface.co/datasets/torchgeo/eurosat/resolve/"
    "c877bcd43f099cd0196738f714544e355477f3fd/EuroSAT.zip"
)
LAYOUT = "ROOT/<ClassName>/*.jpg (or ROOT/2750/..., ROOT/eurosat/2750/...)"
NESTED = (Path("eurosat", "2750"), Path("2750"))  # torchvision's folder, the archive's folder
_warned_counts: set[str] = set()  # class-folder roots already warned about their image count


def _fix(problem: str) -> DataError:
    return DataError(
        f"{problem}; data.kind=eurosat expects {LAYOUT}: unzip {URL} into data.root, "
        "or run torchvision.datasets.EuroSAT(data.root, download=True)"
    )


def class_root(cfg: DataConfig) -> Path:
    """The folder of the class folders: ``root/eurosat/2750`` or ``root/2750`` if present, else
    ``root``."""
    if cfg.root is None:
        raise _fix("data.root is not set")
    root = Path(cfg.root).expanduser()
    if not root.is_dir():
        raise _fix(f"data.root {root} does not exist")
    return next((root / sub for sub in NESTED if (root / sub).is_dir()), root)


def scan(cfg: DataConfig) -> tuple[Path, list[str], np.ndarray]:
    """-> (class-folder root, N file paths relative to it in POSIX form, (N,) int64 class ids).

    Paths are sorted (hence grouped by class, in EuroSAT order). Missing or empty class
    folders raise a DataError; a total other than 27,000 logs one warning per folder.
    """
    folder = class_root(cfg)
    try:
        present = set(find_classes(folder)[0])
    except FileNotFoundError:  # no sub-folders at all
        present = set()
    missing = [name for name in CLASS_NAMES if name not in present]
    if missing:
        raise _fix(f"{folder} lacks the class folder(s) {', '.join(missing)} (partial download?)")
    class_to_idx = {name: i for i, name in enumerate(CLASS_NAMES)}
    samples = sorted(
        (Path(path).relative_to(folder).as_posix(), label)
        for path, label in make_dataset(folder, class_to_idx, IMG_EXTENSIONS, allow_empty=True)
    )
    ids = np.asarray([label for _, label in samples], dtype=np.int64)
    empty = [name for i, name in enumerate(CLASS_NAMES) if not (ids == i).any()]
    if empty:
        raise _fix(f"class folder(s) {', '.join(empty)} in {folder} hold no images")
    if len(samples) != EXPECTED_IMAGES and str(folder) not in _warned_counts:
        _warned_counts.add(str(folder))
        log.warning(
            "%s holds %d EuroSAT images, not %d; using them as they are",
            folder, len(samples), EXPECTED_IMAGES,
        )
    return folder, [path for path, _ in samples], ids


def _split(cfg: DataConfig) -> tuple[Path, list[str], np.ndarray, dict[str, np.ndarray]]:
    folder, paths, ids = scan(cfg)
    fractions = {"val": cfg.val_fraction, "test": cfg.test_fraction}
    return folder, paths, ids, stratified_split(ids, fractions, cfg.seed)


def split_manifest(cfg: DataConfig) -> dict[str, list[str]]:
    """Sorted relative file paths (``<ClassName>/<file>``) of ``train``, ``val`` and ``test``.

    Per class, a ``data.seed``-seeded shuffle gives round(val_fraction·n) files to val,
    round(test_fraction·n) to test and the rest to train; ``db`` is train. The manifest is
    the same in every layout and is exactly the split :class:`EuroSAT` loads (less any
    unreadable files that ``data.on_bad_image=skip`` drops).
    """
    _, paths, _, parts = _split(cfg)
    return {name: [paths[i] for i in part] for name, part in parts.items()}


@DATASETS.register("eurosat")
class EuroSAT(LabelledFiles):
    """EuroSAT images with one-hot (10,) labels in :data:`CLASS_NAMES` order.

    Items are ``{"image": (3, S, S) float32 in [0, 1], "label": (10,) one-hot float32,
    "index": int}`` with S = ``data.image_size`` (64 is native). ``relative_paths`` names the
    files as :func:`split_manifest` does, in the same order.

    Args:
        folder: the folder of the class folders.
        relative_paths: N files relative to ``folder``.
        class_ids: (N,) class ids.
        image_size: output side S in pixels.
    """

    def __init__(
        self,
        folder: Path,
        relative_paths: Sequence[str],
        class_ids: np.ndarray,
        image_size: int,
        *,
        on_bad_image: str = "skip",
        source: str = "EuroSAT",
    ) -> None:
        super().__init__(
            [folder / path for path in relative_paths],
            np.eye(len(CLASS_NAMES), dtype=np.float32)[class_ids],
            image_size,
            class_names=CLASS_NAMES,
            on_bad_image=on_bad_image,
            source=source,
        )
        self.folder = folder
        self.relative_paths = [Path(p).relative_to(folder).as_posix() for p in self.paths]

    @classmethod
    def from_config(cls, cfg: DataConfig, split: str) -> EuroSAT:
        split = canonical_split(split)
        cls.num_classes_for(cfg)
        folder, paths, ids, parts = _split(cfg)
        part = parts["train" if split == "db" else split]
        if not part.size:
            raise DataError(
                f"split {split!r} of {folder} is empty with data.val_fraction={cfg.val_fraction}, "
                f"data.test_fraction={cfg.test_fraction} and {len(paths)} images; adjust them"
            )
        return cls(
            folder,
            [paths[i] for i in part],
            ids[part],
            cfg.image_size,
            on_bad_image=cfg.on_bad_image,
            source=f"split {split!r} of {folder}",
        )

    @classmethod
    def num_classes_for(cls, cfg: DataConfig) -> int:
        return check_num_classes(cfg.num_classes, len(CLASS_NAMES), "data.kind=eurosat")
