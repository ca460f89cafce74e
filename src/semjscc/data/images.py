"""Reading image files: header checks and decoding to (3, S, S) float tensors in [0, 1]."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from ..progress import progress

# What Pillow raises for missing, truncated, corrupt or absurdly large files.
BAD_IMAGE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)
PROGRESS_ABOVE = 2000  # show a progress bar when checking more files than this


def load_image(path: str | Path, size: int | None = None) -> torch.Tensor:
    """Decode ``path`` to RGB, resized to ``size`` x ``size`` (bilinear, antialiased) unless
    ``size`` is None (native resolution).

    Returns a float32 tensor (3, H, W) in [0, 1]; raises one of ``BAD_IMAGE_ERRORS``.
    JPEGs are decoded at a reduced DCT scale when much larger than ``size`` (faster).
    """
    with Image.open(path) as img:
        if size is None:
            rgb = img.convert("RGB")
        else:
            img.draft("RGB", (size, size))
            rgb = img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    array = np.asarray(rgb, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def is_readable(path: str | Path) -> bool:
    """True when ``path`` exists and Pillow recognises its header (pixels are not decoded)."""
    try:
        with Image.open(path):  # parses the header only
            return True
    except BAD_IMAGE_ERRORS:
        return False


def readable_mask(paths: Sequence[str | Path]) -> np.ndarray:
    """Boolean (N,) mask of :func:`is_readable`, with a progress bar for many files."""
    bar = progress(paths, "checking images", enabled=len(paths) > PROGRESS_ABOVE, unit="img")
    return np.fromiter((is_readable(p) for p in bar), dtype=bool, count=len(paths))
