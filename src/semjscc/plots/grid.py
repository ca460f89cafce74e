"""Example-image grids: the same test images under each setting, one row per setting and,
optionally, one block of columns per value of a second setting (e.g. the SNR)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath
from torch import Tensor

from .lines import plt, save_figure

GAP = 2  # white pixels between the images of one cell
LOST = 0.5  # what a receiver that got no usable bits outputs: a mid-gray image
LABEL_SIZE = "small"  # of the row labels


def lost_images(images: Tensor) -> Tensor:
    """(N, 3, H, W) -> (N,) bool: images that are mid-gray everywhere or NaN anywhere, the
    baselines' output for a lost or undecodable image (a decoded 8-bit image never takes
    the value 0.5 exactly, a DeepJSCC output practically never everywhere)."""
    flat = images.detach().flatten(1)
    return flat.isnan().any(1) | (flat == LOST).all(1)


def _strip(images: Tensor) -> np.ndarray:
    """(N, 3, H, W) in [0, 1] -> (H, N·W + (N-1)·GAP, 3) for imshow: the images side by side
    on white, NaN shown mid-gray."""
    x = images.detach().float().cpu().nan_to_num(LOST).clamp(0, 1)
    n, _, h, w = x.shape
    out = torch.ones(3, h, n * w + (n - 1) * GAP)
    for j in range(n):
        out[:, :, j * (w + GAP): j * (w + GAP) + w] = x[j]
    return out.permute(1, 2, 0).numpy()


def label_inches(labels: list[str]) -> float:
    """Width of the widest row label, in inches."""
    points = FontProperties(size=LABEL_SIZE).get_size_in_points()
    return max(TextPath((0, 0), t, size=points).get_extents().width for t in labels) / 72


def grid_inches(n_images: int, n_rows: int, n_blocks: int, cell: float, headed: bool,
                label: float) -> tuple[float, float]:
    """Figure size (width, height) of a grid of ``n_rows`` rows (originals included) and
    ``n_blocks`` column blocks of ``n_images`` images, ``cell`` inches per image, with
    column headers when ``headed`` and row labels ``label`` inches wide."""
    return 0.4 + label + cell * n_images * n_blocks, 0.3 + cell * n_rows + 0.2 * headed


def image_grid(originals: Tensor, rows: list[tuple[str, list[Tensor | None]]],
               path: str | Path, columns: list[str] | None = None, cell: float = 1.1,
               title: str | None = None) -> Path:
    """Write a PNG grid to ``path``: the ``originals`` (N, 3, H, W) in [0, 1] as the first
    row (repeated in every column block), then one row per (label, blocks) of ``rows``, the
    label at its left. ``blocks`` holds one (N, 3, H, W) in [0, 1] per column block (the
    same N images; None: an empty cell), headed by ``columns`` (None: one block, no header).
    Lost images (:func:`lost_images`) are drawn mid-gray with "lost" written on them."""
    n, _, h, w = originals.shape
    n_blocks = len(columns) if columns else 1
    all_rows = [("original", [originals] * n_blocks), *rows]
    for label, blocks in all_rows:
        if len(blocks) != n_blocks:
            raise ValueError(f"row {label!r} has {len(blocks)} blocks, the columns {n_blocks}")
        for images in blocks:
            if images is not None and images.shape[0] != n:
                raise ValueError(f"row {label!r} has {images.shape[0]} images, the originals "
                                 f"{n}")
    size = grid_inches(n, len(all_rows), n_blocks, cell, bool(columns),
                       label_inches([label for label, _ in all_rows]))
    fig, axes = plt.subplots(len(all_rows), n_blocks, squeeze=False, layout="constrained",
                             figsize=size)
    for i, (label, blocks) in enumerate(all_rows):
        for j, images in enumerate(blocks):
            ax = axes[i][j]
            ax.set_anchor("E")  # any spare width goes left, to the labels
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if images is None:
                continue
            ax.imshow(_strip(images), interpolation="nearest")
            for k in lost_images(images).nonzero().flatten().tolist():
                ax.text(k * (w + GAP) + w / 2, h / 2, "lost", ha="center", va="center",
                        color="darkred", fontsize="x-small", fontweight="bold")
        axes[i][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=LABEL_SIZE)
    for j, header in enumerate(columns or []):
        axes[0][j].set_title(header, fontsize="small")
    if title:
        fig.suptitle(title, fontsize="small")
    return save_figure(fig, path)
