"""Example reconstructions of the Earth-observation study, one grid per channel ->
OUT/examples_<channel>.png: rows the methods at each R (the DJSCC, each separation codec,
the digital chain per codec × MCS), columns the SNRs of the sweep, the first test images in
every cell. Every image is the one its evaluation scored
(:mod:`semjscc.experiments.examples`): a separation image no file fits and a lost digital
image come back mid-gray, marked lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ...channels import build_channel
from ...evaluation.evaluate import df_system
from ...models import load
from ..djscc import djscc_for
from ..examples import LOST_TITLE, Examples, Grid, put_baselines, shown_seed, snr_column
from .plan import EOPlan


def channel_grid(plan: EOPlan, spec: dict[str, Any], examples: Examples) -> Grid:
    """The cells of channel ``spec``'s grid, rows ``R = <ratio>: <method>``."""
    cfg = plan.cfg
    channel = build_channel(spec)
    grid = Grid()
    for ratio in cfg.eo.ratios:
        prefix = f"R = {ratio}: "
        for cond in plan.conditions:
            run = cond.run
            if (run.channel != channel.label or run.ratio != ratio
                    or run.cfg.seed != shown_seed(cfg) or not run.checkpoint.is_file()):
                continue
            model, run_cfg = load(run.checkpoint, device=examples.device, kind="deepjscc")
            system = df_system(model, build_channel(run_cfg.link.channel), [cond.snr_db])
            grid.put(f"{prefix}djscc", snr_column(cond.snr_db), examples.output(system))
        k = djscc_for(ratio).num_symbols(cfg.data.image_size, cfg.data.image_size)
        put_baselines(grid, examples, cfg.eo.separation, cfg.digital, cfg.eo.snr_db, k, channel,
                      prefix)
    return grid


def draw_examples(plan: EOPlan, device: torch.device) -> list[Path]:
    """Write OUT/examples_<channel label>.png for every channel with a cell; their paths."""
    examples = Examples(plan.cfg, device)
    columns = [snr_column(s) for s in plan.cfg.eo.snr_db]
    written = []
    for spec in plan.cfg.eo.channels:
        label = build_channel(spec).label
        path = channel_grid(plan, spec, examples).draw(
            examples, plan.out / f"examples_{label}.png", columns,
            f"Example reconstructions over {label} ({LOST_TITLE})", cell=0.8)
        written += [path] if path else []
    return written
