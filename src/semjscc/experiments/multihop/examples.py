"""Example reconstructions of the core multi-hop experiment: the first test images after
each method's shared-codec DF chain at r = 0 and the largest r, at a few SNRs, and after the
digital chain at its adaptive MCS (else the first evaluated MCS; lost images come back
mid-gray, marked lost) -> OUT/examples.png. Every image is the one its evaluation scored
(:mod:`semjscc.experiments.examples`)."""

from __future__ import annotations

from pathlib import Path

import torch

from ...baselines.digital import DigitalSystem
from ...channels import build_channel
from ...evaluation.evaluate import df_system
from ...models import create_model, load
from ..examples import LOST_TITLE, Examples, Grid
from .plan import DFRun, Plan

N_IMAGES = 4


def example_snrs(snrs: list[float], chosen: list[float] | None = None) -> list[float]:
    """The SNRs of ``chosen`` that the sweep evaluates, else the lowest, middle and highest
    of ``snrs``."""
    ordered = sorted(set(snrs))
    picked = sorted({s for s in chosen or [] if s in ordered})
    if picked:
        return picked
    return sorted({ordered[0], ordered[len(ordered) // 2], ordered[-1]})


def _run_for(plan: Plan, method: str, relays: int, snr: float) -> DFRun | None:
    for run in plan.df_runs:
        if (run.method == method and run.relays == relays and run.shared
                and (run.snr_db is None or run.snr_db == snr)):
            return run
    return None


def draw_examples(plan: Plan, device: torch.device, snrs: list[float] | None = None,
                  n: int = N_IMAGES) -> Path | None:
    """Write OUT/examples.png (None when there are no test images or no DF models)."""
    cfg = plan.cfg
    examples = Examples(cfg, device, n)
    relays = sorted({0, max(cfg.sweep.relays)})
    snrs = example_snrs(cfg.sweep.snr_db, snrs)
    methods = list(dict.fromkeys(run.method for run in plan.df_runs if run.shared))
    grid = Grid()
    for method in methods:
        for r in relays:
            for snr in snrs:
                run = _run_for(plan, method, r, snr)
                if run is None or not run.checkpoint.is_file():
                    continue
                model, run_cfg = load(run.checkpoint, device=device, kind="deepjscc")
                system = df_system(model, build_channel(run_cfg.link.channel), [snr] * (r + 1),
                                   run_cfg.link.relay_clamp)
                grid.put(f"{method}, r = {r}, {snr:g} dB", "", examples.output(system))
    if not grid.cells:
        return None
    size = cfg.data.image_size
    k = create_model(cfg.model).num_symbols(size, size)
    channel = build_channel(cfg.link.channel)
    shown = ["adaptive"] if "adaptive" in cfg.digital.mcs else cfg.digital.mcs[:1]
    for codec in cfg.digital.codecs:
        for mcs in shown:
            for snr in snrs:
                chain = DigitalSystem(codec, mcs, snr, k, channel, hops=relays[-1] + 1,
                                      link=cfg.digital.link)
                outputs = examples.outputs(chain.outputs)
                for r in relays:
                    grid.put(f"{chain.row_fields()['method']}, r = {r}, {snr:g} dB", "",
                             outputs[r])
    return grid.draw(examples, plan.out / "examples.png",
                     title=f"Example reconstructions ({LOST_TITLE})")
