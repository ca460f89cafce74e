"""Example reconstructions of the OFDM study: the first test images after each DJSCC and
after the adaptive digital chain (lost images come back mid-gray) over the test channel at
the highest UE speed with LS estimation, at the lowest and highest test SNR ->
OUT/examples.png."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ...baselines.digital import DigitalSystem
from ...evaluation.evaluate import df_system
from ...models import load
from ...plots import image_grid
from ..djscc import djscc_for
from ..multihop.examples import N_IMAGES, example_images
from .plan import OFDMPlan


@torch.no_grad()
def draw_examples(plan: OFDMPlan, device: torch.device, n: int = N_IMAGES) -> Path | None:
    """Write OUT/examples.png (None when there are no test images)."""
    cfg, study = plan.cfg, plan.cfg.ofdm
    x = example_images(plan, n)  # type: ignore[arg-type]  (it reads plan.cfg only)
    if x is None:
        return None
    speed = max(study.speeds)
    channel = next(c for c in plan.test_channels(["ls"]) if c.speed_mps == speed).to(device)
    snrs = sorted({min(study.test_snr_db), max(study.test_snr_db)})
    rows: list[tuple[str, Tensor]] = []

    def seeded() -> torch.Generator:
        return torch.Generator(device=device).manual_seed(cfg.eval.seed)

    seen = set()
    for run in plan.runs:
        if run.method in seen or not run.checkpoint.is_file():
            continue
        seen.add(run.method)
        model, _ = load(run.checkpoint, device=device, kind="deepjscc")
        for snr in snrs:
            x_hat = df_system(model, channel, [snr])(x.to(device), seeded())
            rows.append((f"{run.method}, {snr:g} dB", x_hat.cpu()))
    size = cfg.data.image_size
    k = djscc_for(study.ratio).num_symbols(size, size)
    for codec in cfg.digital.codecs:
        for snr in snrs:
            chain = DigitalSystem(codec, "adaptive", snr, k, channel, link=cfg.digital.link)
            rows.append((f"digital {codec}, {snr:g} dB", chain(x, seeded()).cpu()))
    return image_grid(x, rows, plan.out / "examples.png",
                      title=f"{channel.model.upper()}, {speed:g} m/s, LS estimation "
                            "(digital: lost images are gray)")
