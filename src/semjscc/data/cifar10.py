"""The ``cifar10`` dataset kind: CIFAR-10 (10 classes, 32x32) read by
``torchvision.datasets.CIFAR10`` from the standard python-version batch files.

``data.root`` holds ``cifar-10-batches-py/`` (``data_batch_1`` … ``data_batch_5``,
``test_batch``, ``batches.meta``), as the archive unpacks, or is that folder itself. Nothing
is downloaded. ``test`` is the test batch; ``train`` and ``val`` split the five training
batches per class (``data.val_fraction``, seeded by ``data.seed``); ``db`` is ``train``.
The files are checked for presence, not hashed (torchvision hashes them when it downloads
them); an unreadable file is a one-line error. The batches are pickles: they are read with
an unpickler that builds only plain containers and numpy arrays and refuses every other
global, so a tampered file cannot run code (torchvision's own reader uses ``pickle.load``).
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from torchvision.datasets import CIFAR10 as TorchvisionCIFAR10

from ..config import DataConfig
from ..errors import describe
from ..registry import DATASETS
from .errors import DataError, check_num_classes
from .splits import canonical_split, stratified_split

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FOLDER = TorchvisionCIFAR10.base_folder  # cifar-10-batches-py
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
FILES = (*[name for name, _ in TorchvisionCIFAR10.train_list],
         *[name for name, _ in TorchvisionCIFAR10.test_list],
         TorchvisionCIFAR10.meta["filename"])


# what a pickled numpy array needs (numpy 1 and 2 spellings); nothing else is built
ARRAY_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
})


class ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and numpy arrays; any other global (a class
    or function a pickle could call) raises ``pickle.UnpicklingError``."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ARRAY_GLOBALS:
            raise pickle.UnpicklingError(f"it asks for {module}.{name}, which is not data")
        return super().find_class(module, name)


def read_batch(path: Path) -> tuple[np.ndarray, list[int]]:
    """One python-version batch file -> ((n, 32, 32, 3) uint8 images, n labels in
    0..9); a label outside that range is a DataError naming the file, the label and the
    range (a label of -1 would otherwise index the last class)."""
    with path.open("rb") as fh:
        batch = ArrayUnpickler(fh, encoding="latin1").load()
    images = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    labels = list(batch["labels"])
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    bad = next((i for i, label in enumerate(labels) if isinstance(label, bool)
                or not isinstance(label, (int, np.integer))
                or not 0 <= label < len(CLASS_NAMES)), None)
    if bad is not None:
        raise DataError(f"{path}: image {bad} has label {labels[bad]!r}, outside CIFAR-10's class "
                        f"range 0..{len(CLASS_NAMES) - 1}; the batch file is corrupted or not "
                        f"CIFAR-10: replace it from {URL}")
    return images.transpose(0, 2, 3, 1), [int(label) for label in labels]


def _fix(problem: str) -> DataError:
    return DataError(f"{problem}; data.kind=cifar10 expects ROOT/{FOLDER}/ with "
                     f"{', '.join(FILES)}: download {URL} and unpack it into data.root")


def parent_root(cfg: DataConfig) -> Path:
    """The folder holding ``cifar-10-batches-py`` (``data.root`` or its parent)."""
    if cfg.root is None:
        raise _fix("data.root is not set")
    root = Path(cfg.root).expanduser()
    if root.name == FOLDER:
        root = root.parent
    missing = [name for name in FILES if not (root / FOLDER / name).is_file()]
    if missing:
        raise _fix(f"{root / FOLDER} lacks {', '.join(missing)}")
    return root


@functools.lru_cache(maxsize=2)
def read_batches(root: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """(N, 32, 32, 3) uint8 images and (N,) int64 labels of the training or test batches."""
    names = TorchvisionCIFAR10.train_list if train else TorchvisionCIFAR10.test_list
    images, labels = [], []
    for name, _ in names:
        try:
            batch_images, batch_labels = read_batch(root / FOLDER / name)
        except DataError:
            raise
        except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError,
                OSError) as exc:
            raise _fix(f"cannot read {root / FOLDER / name} ({describe(exc)}); it is "
                       "corrupted or not the python version") from None
        images.append(batch_images)
        labels += batch_labels
    return np.concatenate(images), np.asarray(labels, dtype=np.int64)


@DATASETS.register("cifar10")
class CIFAR10(Dataset):
    """CIFAR-10 images with one-hot (10,) labels in :data:`CLASS_NAMES` order.

    Items are ``{"image": (3, S, S) float32 in [0, 1], "label": (10,) one-hot float32,
    "index": int}``, S = ``data.image_size`` (32 is native; other sizes are resized,
    bilinear with antialiasing).

    Args:
        images: (N, 32, 32, 3) uint8.
        labels: (N,) class ids.
        image_size: output side S.
    """

    class_names: tuple[str, ...] = CLASS_NAMES
    num_classes: int = len(CLASS_NAMES)
    multi_label = False
    source_files = tuple(f"{FOLDER}/{name}" for name in FILES)  # what its fingerprint names

    def __init__(self, images: np.ndarray, labels: np.ndarray, image_size: int = 32) -> None:
        self.images, self.labels, self.image_size = images, labels, int(image_size)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Any]:
        image = torch.from_numpy(self.images[index]).permute(2, 0, 1).float().div(255)
        if image.shape[-1] != self.image_size:
            image = F.interpolate(image[None], size=(self.image_size, self.image_size),
                                  mode="bilinear", align_corners=False, antialias=True)[0]
        label = torch.zeros(self.num_classes)
        label[int(self.labels[index])] = 1.0
        return {"image": image.contiguous(), "label": label, "index": int(index)}

    @classmethod
    def from_config(cls, cfg: DataConfig, split: str) -> CIFAR10:
        split = canonical_split(split)
        cls.num_classes_for(cfg)
        root = parent_root(cfg)
        if split == "test":
            images, labels = read_batches(root, train=False)
            return cls(images, labels, cfg.image_size)
        images, labels = read_batches(root, train=True)
        part = stratified_split(labels, {"val": cfg.val_fraction}, cfg.seed)
        chosen = part["val" if split == "val" else "train"]
        if not chosen.size:
            raise DataError(f"split {split!r} of CIFAR-10 is empty with data.val_fraction="
                            f"{cfg.val_fraction}; raise it")
        return cls(images[chosen], labels[chosen], cfg.image_size)

    @classmethod
    def num_classes_for(cls, cfg: DataConfig) -> int:
        return check_num_classes(cfg.num_classes, len(CLASS_NAMES), "data.kind=cifar10")
