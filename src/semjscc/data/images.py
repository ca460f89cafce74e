"""Reading image files: header checks and decoding to (3, S, S) float tensors in [0, 1].

Conversions are deliberate: the EXIF orientation is applied; 16- and 32-bit grey images are
scaled to 8 bits (value / 257, or / 65535·255 for 32-bit integer and [0, 1] for float
images) and replicated to RGB; palette images are expanded; CMYK is converted to RGB;
transparent pixels (RGBA, LA, palette transparency) are composited onto white. Images above
``MAX_PIXELS`` are refused before decoding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps

from ..files import check_input
from ..progress import progress

# What Pillow raises for missing, truncated, corrupt or absurdly large files.
BAD_IMAGE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)
PROGRESS_ABOVE = 2000  # show a progress bar when checking more files than this
MAX_PIXELS = 50_000_000  # far below Pillow's bomb limit: 50 MP is 600 MB as float32


def to_rgb(img: Image.Image) -> Image.Image:
    """An 8-bit RGB version of any Pillow image (see the module docstring)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return Image.fromarray((np.asarray(img, dtype=np.float64) / 257.0).round()
                               .astype(np.uint8)).convert("RGB")
    if img.mode in ("I", "F"):
        scale = 255.0 / 65535.0 if img.mode == "I" else 255.0
        array = np.clip(np.asarray(img, dtype=np.float64) * scale, 0, 255).round()
        return Image.fromarray(array.astype(np.uint8)).convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def load_image(path: str | Path, size: int | None = None,
               max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """Decode ``path`` to RGB, resized to ``size`` x ``size`` (bilinear, antialiased) unless
    ``size`` is None (native resolution, after the EXIF orientation).

    Returns a float32 tensor (3, H, W) in [0, 1]; raises one of ``BAD_IMAGE_ERRORS``
    (a ``ValueError`` naming the limit for images above ``max_pixels``). JPEGs are decoded
    at a reduced DCT scale when much larger than ``size`` (faster). A FIFO or device is
    refused (an InputError, a ValueError) before it is opened: reading it would block.
    """
    check_input(path, "image")
    with Image.open(path) as img:
        width, height = img.size
        if width * height > max_pixels:
            raise ValueError(f"{width}x{height} = {width * height / 1e6:.0f} MP is above the "
                             f"limit of {max_pixels / 1e6:.0f} MP; downscale it first")
        if size is not None:
            img.draft("RGB", (size, size))
        rgb = to_rgb(ImageOps.exif_transpose(img))
        if size is not None:
            rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
    array = np.asarray(rgb, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def is_readable(path: str | Path) -> bool:
    """True when ``path`` exists and Pillow recognises its header (pixels are not decoded)."""
    try:
        check_input(path, "image")
        with Image.open(path):  # parses the header only
            return True
    except BAD_IMAGE_ERRORS:
        return False


def readable_mask(paths: Sequence[str | Path]) -> np.ndarray:
    """Boolean (N,) mask of :func:`is_readable`, with a progress bar for many files."""
    bar = progress(paths, "checking images", enabled=len(paths) > PROGRESS_ABOVE, unit="img")
    return np.fromiter((is_readable(p) for p in bar), dtype=bool, count=len(paths))
