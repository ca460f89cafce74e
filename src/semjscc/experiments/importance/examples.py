"""Example reconstructions of the semantic-importance experiment, one grid per R ->
OUT/examples_cr<a>_<b>.png: rows the DJSCC methods (at each test SNR the model that serves
it, as in the curves and tables), each separation codec and the digital chain per codec ×
MCS, columns the test SNRs, the first test images in every cell. Every image is the one its
evaluation scored (:mod:`semjscc.experiments.examples`): a separation image no file fits and
a lost digital image come back mid-gray, marked lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ...channels import build_channel
from ...config import parse_ratio
from ...evaluation.evaluate import df_system
from ...models import load
from ..djscc import djscc_for, ratio_slug
from ..examples import LOST_TITLE, Examples, Grid, put_baselines, shown_seed, snr_column
from .plan import ImportancePlan


def ratio_grid(plan: ImportancePlan, rows: list[dict[str, Any]], ratio: str,
               examples: Examples) -> Grid:
    """The cells of ratio ``ratio``'s grid; the DJSCC of a (method, test SNR) is the run
    whose train SNR its ``served`` result row names."""
    cfg, imp = plan.cfg, plan.cfg.importance
    served = {(r["method"], r["snr_db"]): r["train_snr_db"] for r in rows
              if r.get("served") and parse_ratio(r["requested_cr"]) == parse_ratio(ratio)}
    grid = Grid()
    for run in plan.runs:
        if (run.ratio != ratio or run.cfg.seed != shown_seed(cfg)
                or not run.checkpoint.is_file()):
            continue
        model, run_cfg = load(run.checkpoint, device=examples.device, kind="deepjscc")
        for snr in imp.test_snr_db:
            if served.get((run.method, snr)) == run.snr_db:
                system = df_system(model, build_channel(run_cfg.link.channel), [snr])
                grid.put(run.method, snr_column(snr), examples.output(system))
    k = djscc_for(ratio).num_symbols(cfg.data.image_size, cfg.data.image_size)
    put_baselines(grid, examples, imp.separation, cfg.digital, imp.test_snr_db, k,
                  build_channel(imp.channel))
    return grid


def draw_examples(plan: ImportancePlan, rows: list[dict[str, Any]],
                  device: torch.device) -> list[Path]:
    """Write OUT/examples_<cr slug>.png for every R with a cell; their paths."""
    examples = Examples(plan.cfg, device)
    columns = [snr_column(s) for s in plan.cfg.importance.test_snr_db]
    written = []
    for ratio in plan.cfg.importance.ratios:
        path = ratio_grid(plan, rows, ratio, examples).draw(
            examples, plan.out / f"examples_{ratio_slug(ratio)}.png", columns,
            f"Example reconstructions at R = {ratio} ({LOST_TITLE})", cell=0.8)
        written += [path] if path else []
    return written
