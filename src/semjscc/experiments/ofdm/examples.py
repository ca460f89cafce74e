"""Example reconstructions of the OFDM study: the first test images after each DJSCC and
after the digital chain (every ``digital.mcs``) over the test channel at the highest UE speed
with LS estimation, at the lowest and highest test SNR -> OUT/examples.png (see
:mod:`semjscc.experiments.examples` for how the tiles are drawn)."""

from __future__ import annotations

from pathlib import Path

import torch

from ...evaluation.evaluate import df_system
from ...models import load
from ..djscc import djscc_for
from ..examples import LOST_TITLE, Examples, Grid, put_baselines, snr_column
from .plan import OFDMPlan


def draw_examples(plan: OFDMPlan, device: torch.device) -> Path | None:
    """Write OUT/examples.png (None when there are no test images)."""
    cfg, study = plan.cfg, plan.cfg.ofdm
    examples = Examples(cfg, device)
    speed = max(study.speeds)
    channel = next(c for c in plan.test_channels(["ls"]) if c.speed_mps == speed).to(device)
    snrs = sorted({min(study.test_snr_db), max(study.test_snr_db)})
    grid = Grid()
    for run in plan.runs:
        if run.method in grid.cells or not run.checkpoint.is_file():
            continue
        model, _ = load(run.checkpoint, device=device, kind="deepjscc")
        for snr in snrs:
            grid.put(run.method, snr_column(snr), examples.output(df_system(model, channel,
                                                                            [snr])))
    size = cfg.data.image_size
    put_baselines(grid, examples, [], cfg.digital, snrs,
                  djscc_for(study.ratio).num_symbols(size, size), channel)
    return grid.draw(examples, plan.out / "examples.png", [snr_column(s) for s in snrs],
                     title=f"{channel.model.upper()}, {speed:g} m/s, LS estimation "
                           f"({LOST_TITLE})")
