"""Example-image grids: the same test images under each setting, one row per setting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import Tensor

from .lines import plt, save_figure


def _rgb(image: Tensor) -> np.ndarray:
    """(3, H, W) in [0, 1] -> (H, W, 3) float array for imshow."""
    return image.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def image_grid(originals: Tensor, rows: list[tuple[str, Tensor]], path: str | Path,
               cell: float = 1.1, title: str | None = None) -> Path:
    """Write a PNG grid to ``path``: the ``originals`` (N, 3, H, W) in [0, 1] as the first
    row, then one row per (label, images) of ``rows`` (each (N, 3, H, W) in [0, 1], the same
    N images), the label at the left of its row."""
    n = originals.shape[0]
    all_rows = [("original", originals), *rows]
    for label, images in all_rows:
        if images.shape[0] != n:
            raise ValueError(f"row {label!r} has {images.shape[0]} images, the originals {n}")
    fig, axes = plt.subplots(len(all_rows), n, squeeze=False, layout="constrained",
                             figsize=(1.6 + cell * n, 0.3 + cell * len(all_rows)))
    for i, (label, images) in enumerate(all_rows):
        for j in range(n):
            ax = axes[i][j]
            ax.imshow(_rgb(images[j]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        axes[i][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize="small")
    if title:
        fig.suptitle(title, fontsize="small")
    return save_figure(fig, path)
