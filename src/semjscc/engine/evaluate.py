"""Evaluate a transmission system over a split: metric suites fed (S, Ŝ, labels) per batch.

A *system* maps a clean batch (B, 3, H, W) and a noise generator to the destination's
reconstruction Ŝ. The same seed gives the same noise at every setting (common random
numbers), so differences between settings are not noise-draw luck.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from ..config import Config, config_from_dict
from ..metrics.image import image_metrics, update_clamped
from ..models import DeepJSCC, MultiHopDF, create_model
from ..progress import progress
from .checkpoint import load_checkpoint

System = Callable[[Tensor, torch.Generator], Tensor]


class MetricSuite(Protocol):
    """Accumulates metrics over batches; ``compute`` returns result columns."""

    def update(self, x: Tensor, x_hat: Tensor, labels: Tensor) -> None: ...

    def compute(self) -> dict[str, float]: ...


class ImageSuite:
    """PSNR and MS-SSIM (see :mod:`semjscc.metrics.image`)."""

    def __init__(self, image_size: int, device: torch.device) -> None:
        self.metrics = image_metrics(image_size).to(device)

    def update(self, x: Tensor, x_hat: Tensor, labels: Tensor) -> None:
        update_clamped(self.metrics, x, x_hat)

    def compute(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.metrics.compute().items()}


def load_jscc(path: str | Path, device: torch.device) -> tuple[DeepJSCC, Config, dict[str, Any]]:
    """Rebuild a trained DeepJSCC pair from its checkpoint alone (eval mode)."""
    ckpt = load_checkpoint(path, kind="deepjscc")
    cfg = config_from_dict(ckpt["config"])
    model = create_model(cfg.model)
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval(), cfg, ckpt


def df_system(model: DeepJSCC, relays: int, snr_db: float, relay_clamp: bool = True) -> System:
    """DF chain with ``relays`` relays, every hop at ``snr_db``."""
    link = MultiHopDF(model, relay_clamp=relay_clamp)
    return lambda x, g: link(x, [snr_db] * (relays + 1), generator=g)["x_hat"]


@torch.no_grad()
def evaluate_system(system: System, loader: Iterable[dict[str, Any]],
                    suites: list[MetricSuite], device: torch.device, seed: int,
                    desc: str = "eval") -> dict[str, float]:
    """Run ``system`` over ``loader`` and return the merged metrics plus ``n_images``."""
    generator = torch.Generator(device=device).manual_seed(seed)
    n_images = 0
    for batch in progress(loader, desc):
        x = batch["image"].to(device)
        if x.shape[0] == 0:
            continue
        x_hat = system(x, generator)
        for suite in suites:
            suite.update(x, x_hat, batch["label"].to(device))
        n_images += x.shape[0]
    out: dict[str, float] = {"n_images": n_images}
    for suite in suites:
        out.update(suite.compute())
    return out


def evaluate_df_checkpoint(path: str | Path, snr_db: list[float] | None = None,
                           relays: list[int] | None = None, overrides: list[str] | None = None,
                           batch_size: int | None = None, device: str = "auto",
                           seed: int | None = None) -> list[dict[str, Any]]:
    """Result rows of a DeepJSCC checkpoint over relays × SNR on its evaluation split.

    Defaults: the trained relays and per-hop SNR, the checkpoint's data config with
    ``overrides`` applied, ``eval.split``/``eval.seed`` of its config.
    """
    from ..config import load_config
    from ..data import build_dataset, make_loader
    from .distributed import resolve_device

    dev = resolve_device(device)
    model, cfg, ckpt = load_jscc(path, dev)
    cfg = load_config(None, overrides, base=ckpt["config"]) if overrides else cfg
    relays = relays or cfg.eval.relays or [cfg.link.relays]
    trained_snrs = cfg.link.hop_snrs_db()
    snr_db = snr_db or cfg.eval.snr_db or [trained_snrs[0]]
    seed = cfg.eval.seed if seed is None else seed
    dataset = build_dataset(cfg.data, cfg.eval.split)
    loader = make_loader(dataset, batch_size or cfg.train.eval_batch_size, shuffle=False,
                         seed=seed, num_workers=cfg.data.num_workers)
    rows = []
    for r in relays:
        for snr in snr_db:
            metrics = evaluate_system(
                df_system(model, r, snr, cfg.link.relay_clamp), loader,
                [ImageSuite(cfg.data.image_size, dev)], dev, seed,
                desc=f"eval relays={r} snr={snr:g}dB")
            rows.append({
                "method": cfg.train.method, "protocol": "df", "relays": r, "snr_db": snr,
                "n_q": None, "bits": None, "bpp": None, **metrics, "seed": seed,
                "train_relays": cfg.link.relays,
                "train_snr_db": "/".join(f"{s:g}" for s in trained_snrs),
                "checkpoint": str(path),
            })
    return rows
