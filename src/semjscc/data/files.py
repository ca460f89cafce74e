"""Datasets of labelled image files on disk, shared by the ``list`` and ``folder`` kinds."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import DataConfig
from .errors import DataError
from .images import BAD_IMAGE_ERRORS, load_image, readable_mask

log = logging.getLogger("semjscc.data")
BAD_IMAGE_POLICIES = ("skip", "error")


def data_root(cfg: DataConfig) -> Path:
    """``cfg.root`` as an existing directory, else a DataError saying how to set it."""
    if cfg.root is None:
        raise DataError(
            f"data.root is not set; data.kind={cfg.kind} needs data.root=<folder with the images>"
        )
    root = Path(cfg.root).expanduser()
    if root.exists() and not root.is_dir():
        raise DataError(f"data.root {root} is not a directory; set data.root to the image folder")
    if not root.is_dir():
        raise DataError(f"data.root {root} does not exist; set data.root to the image folder")
    return root


def check_policy(on_bad_image: str) -> None:
    if on_bad_image not in BAD_IMAGE_POLICIES:
        raise DataError(
            f"data.on_bad_image={on_bad_image!r} is not valid; use one of "
            f"{', '.join(BAD_IMAGE_POLICIES)}"
        )


def _drop_unreadable(
    paths: list[str], labels: np.ndarray, source: str
) -> tuple[list[str], np.ndarray]:
    """Keep the files Pillow can open; log one warning if some are dropped, fail if all are."""
    keep = readable_mask(paths)
    if keep.all():
        return paths, labels
    first_bad = paths[int(np.argmin(keep))]
    if not keep.any():
        raise DataError(
            f"{source}: none of its {len(paths)} images can be read (first: {first_bad}); "
            "check data.root and the image paths"
        )
    log.warning(
        "%s: skipping %d of %d images that are missing or unreadable (first: %s); "
        "fix or remove them, or set data.on_bad_image=error to stop on them",
        source, int((~keep).sum()), len(paths), first_bad,
    )
    return [p for p, k in zip(paths, keep) if k], labels[keep]


class LabelledFiles(Dataset):
    """Image files with (multi-)hot labels.

    Items are ``{"image": (3, S, S) float32 in [0, 1], "label": (C,) float32, "index": int}``
    with ``index`` the position in this dataset. ``on_bad_image="skip"`` drops files that
    are missing or unrecognised at construction (one warning on logger ``semjscc.data``) and
    returns None for a file that still fails to decode (the loader's collate drops it);
    ``"error"`` raises a DataError naming the file when it fails to load.

    Args:
        paths: N image files.
        labels: (N, C) array of 0/1.
        image_size: output side S in pixels.
        class_names: C names, one per label column.
        source: what the files came from, for messages (e.g. ``"split 'train' of x.txt"``).
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        labels: np.ndarray,
        image_size: int,
        *,
        class_names: Sequence[str],
        on_bad_image: str = "skip",
        source: str = "dataset",
    ) -> None:
        check_policy(on_bad_image)
        paths = [str(p) for p in paths]
        labels = np.asarray(labels, dtype=np.float32).reshape(len(paths), len(class_names))
        if on_bad_image == "skip":
            paths, labels = _drop_unreadable(paths, labels, source)
        if not paths:
            raise DataError(f"{source} has no images; add images or fix the split settings")
        self.paths = paths
        self.labels = torch.from_numpy(np.ascontiguousarray(labels))
        self.image_size = int(image_size)
        self.class_names = tuple(class_names)
        self.num_classes = len(self.class_names)
        self.on_bad_image = on_bad_image

    @property
    def multi_label(self) -> bool:
        """Whether some image has other than exactly one label (multi-hot labels)."""
        return bool((self.labels.sum(1) != 1).any())

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, Any] | None:
        path = self.paths[index]
        try:
            image = load_image(path, self.image_size)
        except BAD_IMAGE_ERRORS as exc:
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            if self.on_bad_image == "error":
                raise DataError(
                    f"cannot read image {path} ({reason}); fix or remove the file, or set "
                    "data.on_bad_image=skip to drop unreadable images"
                ) from None
            log.warning("skipping unreadable image %s (%s)", path, reason)
            return None
        return {"image": image, "label": self.labels[index].clone(), "index": int(index)}
