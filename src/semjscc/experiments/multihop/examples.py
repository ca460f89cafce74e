"""Example reconstructions of the core multi-hop experiment: the first test images after
each method's shared-codec DF chain at r = 0 and the largest r, at a few SNRs, and after the
digital chain (its lost images come back mid-gray) -> OUT/examples.png."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ...baselines.digital import DigitalSystem
from ...channels import build_channel
from ...data import build_dataset
from ...evaluation.evaluate import df_system
from ...models import create_model, load
from ...plots import image_grid
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


def example_images(plan: Plan, n: int = N_IMAGES) -> Tensor | None:
    """The first ``n`` readable test images, (n, 3, H, W) in [0, 1] (None: none)."""
    dataset = build_dataset(plan.cfg.data, plan.cfg.eval.split)
    images = []
    for i in range(len(dataset)):
        item = dataset[i]
        if item is not None:
            images.append(item["image"])
        if len(images) == n:
            break
    return torch.stack(images) if images else None


def _run_for(plan: Plan, method: str, relays: int, snr: float) -> DFRun | None:
    for run in plan.df_runs:
        if (run.method == method and run.relays == relays and run.shared
                and (run.snr_db is None or run.snr_db == snr)):
            return run
    return None


@torch.no_grad()
def draw_examples(plan: Plan, device: torch.device, snrs: list[float] | None = None,
                  n: int = N_IMAGES) -> Path | None:
    """Write OUT/examples.png (None when there are no test images or no DF models)."""
    cfg = plan.cfg
    x = example_images(plan, n)
    if x is None:
        return None
    relays = sorted({0, max(cfg.sweep.relays)})
    snrs = example_snrs(cfg.sweep.snr_db, snrs)
    methods = list(dict.fromkeys(run.method for run in plan.df_runs if run.shared))
    channel = build_channel(cfg.link.channel)
    rows: list[tuple[str, Tensor]] = []

    def seeded() -> torch.Generator:
        return torch.Generator(device=device).manual_seed(cfg.seed)

    for method in methods:
        for r in relays:
            for snr in snrs:
                run = _run_for(plan, method, r, snr)
                if run is None or not run.checkpoint.is_file():
                    continue
                model, run_cfg = load(run.checkpoint, device=device, kind="deepjscc")
                system = df_system(model, build_channel(run_cfg.link.channel), [snr] * (r + 1))
                rows.append((f"{method}, r = {r}, {snr:g} dB",
                             system(x.to(device), seeded()).cpu()))
    if not rows:
        return None
    size = cfg.data.image_size
    k = create_model(cfg.model).num_symbols(size, size)
    for codec in cfg.digital.codecs:
        for snr in snrs:
            chain = DigitalSystem(codec, "adaptive", snr, k, channel, hops=relays[-1] + 1,
                                  link=cfg.digital.link)
            outputs = chain.outputs(x, seeded())
            rows += [(f"digital {codec}, r = {r}, {snr:g} dB", outputs[r].cpu()) for r in relays]
    return image_grid(x, rows, plan.out / "examples.png",
                      title="Example reconstructions (digital: lost images are gray)")
