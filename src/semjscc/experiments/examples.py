"""Example-image grids of the experiments: the first test images after each evaluated
system, drawn by :func:`~semjscc.plots.image_grid` (a lost image, which the baselines return
mid-gray or NaN, is drawn mid-gray and marked lost).

The systems are the evaluation's own (the same builders, settings and checkpoints) and run
as an evaluation runs them (:func:`~semjscc.evaluation.evaluate.evaluate_outputs`): on the
first images of the evaluation loader with a generator seeded with ``eval.seed``. Noise is
drawn for those ``n`` images alone, so a tile is a draw under the evaluated conditions, the
same one the evaluation scored only for noiseless systems (separation over AWGN). The very
draws would need the whole first batch (``train.eval_batch_size`` images) through every
system: the bit-true digital chain alone then takes 10-20 s per setting on 2 CPU cores at
100 images, against about 1 s for 3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ..baselines import available_codecs, separation_system
from ..baselines.digital import DigitalSystem
from ..channels import Channel
from ..config import Config, DigitalConfig
from ..evaluation.evaluate import System
from ..plots import image_grid
from .djscc import test_loader

N_IMAGES = 3
MultiSystem = Callable[[Tensor, torch.Generator], list[Tensor]]  # e.g. one image per hop
LOST_TITLE = "lost images are mid-gray, marked lost"


class Examples:
    """The first ``n`` images of ``cfg``'s evaluation loader on ``device`` (None: an empty
    split) and the outputs of systems for them (see the module docstring)."""

    def __init__(self, cfg: Config, device: torch.device, n: int = N_IMAGES) -> None:
        batch = next(iter(test_loader(cfg)), None)
        self.images = None if batch is None else batch["image"][:n].to(device)
        self.device, self.seed = device, cfg.eval.seed

    @property
    def originals(self) -> Tensor | None:
        """The images, (n, 3, H, W) in [0, 1] on the CPU."""
        return None if self.images is None else self.images.cpu()

    @torch.no_grad()
    def outputs(self, system: MultiSystem) -> list[Tensor]:
        """Each output of ``system`` for the images, (n, 3, H, W) on the CPU."""
        if self.images is None:
            return []
        generator = torch.Generator(device=self.device).manual_seed(self.seed)
        return [y.cpu() for y in system(self.images, generator)]

    def output(self, system: System) -> Tensor | None:
        """:meth:`outputs` of a one-output ``system`` (None: an empty split)."""
        got = self.outputs(lambda x, g: [system(x, g)])
        return got[0] if got else None


@dataclass
class Grid:
    """The cells of an example grid: row label -> column label -> (n, 3, H, W) images, rows
    in the order first put."""

    cells: dict[str, dict[str, Tensor]] = field(default_factory=dict)

    def put(self, row: str, column: str, images: Tensor | None) -> None:
        if images is not None:
            self.cells.setdefault(row, {})[column] = images

    def draw(self, examples: Examples, path: Path, columns: list[str] | None = None,
             title: str | None = None, cell: float = 1.1) -> Path | None:
        """Write the grid to ``path``: the originals, then one row per row label with one
        block per column of ``columns`` (None: the single column ``""``, no header); a cell
        never put stays empty; ``cell``: inches per image. None when there are no test
        images or no cells."""
        originals = examples.originals
        if originals is None or not self.cells:
            return None
        keys = columns or [""]
        rows = [(label, [cells.get(c) for c in keys]) for label, cells in self.cells.items()]
        return image_grid(originals, rows, path, columns=columns, cell=cell, title=title)



def shown_seed(cfg: Config) -> int:
    """The training seed whose models the grids show (the first of ``sweep.seeds``)."""
    return cfg.training_seeds()[0][0]

def snr_column(snr_db: float) -> str:
    """The column label of an SNR: ``"-5 dB"``."""
    return f"{snr_db:g} dB"


def put_baselines(grid: Grid, examples: Examples, codecs: list[str], digital: DigitalConfig,
                  snrs: list[float], k: int, channel: Channel, prefix: str = "") -> None:
    """Put the single-hop baselines at every SNR of ``snrs`` (columns :func:`snr_column`)
    over ``k`` uses of ``channel``, as the single-hop studies evaluate them: each separation
    codec of ``codecs`` this Pillow build has (NaN for an image no file fits) and the
    digital chain per codec × MCS of ``digital``; rows ``<prefix><method>``."""
    usable = set(available_codecs())
    for codec in (c for c in codecs if c in usable):
        for snr in snrs:
            system = separation_system(codec, snr, k, on_unreachable="nan", channel=channel)
            grid.put(prefix + system.method, snr_column(snr), examples.output(system))
    for codec in digital.codecs:
        for mcs in digital.mcs:
            for snr in snrs:
                chain = DigitalSystem(codec, mcs, snr, k, channel, link=digital.link)
                grid.put(prefix + chain.row_fields()["method"], snr_column(snr),
                         examples.output(chain))
