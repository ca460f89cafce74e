"""Train one DeepJSCC model end to end through ``relays + 1`` DF hops.

Adam, MultiplicativeLR (lr ← decay·lr per epoch), the configured objective on images in
[0, 1], validation each epoch. Works on CPU, one GPU, or several with ``torchrun``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from ..config import Config, TrainConfig
from ..data import build_dataset, make_loader
from ..data.loader import EpochSampler
from ..errors import ConfigError
from ..losses.objective import JSCCObjective, build_objective
from ..models import MultiHopDF, create_model
from ..progress import progress
from .checkpoint import load_checkpoint
from .distributed import DistInfo, all_reduce_sum, memory_format, training_session
from .run import Run, unwrap
from .seed import seed_everything

log = logging.getLogger("semjscc.train")


def _loader(cfg: Config, split: str, batch_size: int, train: bool, dist: DistInfo):
    """Train loader (seeded order, ``train.epoch_images`` per epoch, sharded over ranks) or
    validation loader (fixed order, sharded over ranks)."""
    dataset = build_dataset(cfg.data, split)
    if train:
        sampler = EpochSampler(len(dataset), cfg.train.epoch_images, cfg.seed, dist.rank,
                               dist.world_size)
    elif dist.enabled:
        sampler = DistributedSampler(dataset, shuffle=False)
    else:
        sampler = None
    return make_loader(dataset, batch_size, shuffle=train, seed=cfg.seed, drop_last=train,
                       num_workers=cfg.data.num_workers, sampler=sampler)


SNRSampler = Callable[[int, torch.device], list[float | torch.Tensor]]


def make_snr_sampler(cfg: TrainConfig, hop_snrs_db: list[float]) -> SNRSampler:
    """Per-batch hop SNRs: the fixed list, or with ``train.snr_db_range`` one uniform draw
    per image and hop (SNR-adaptive training)."""
    if cfg.snr_db_range is None:
        return lambda batch, device: hop_snrs_db
    if len(cfg.snr_db_range) != 2 or cfg.snr_db_range[0] > cfg.snr_db_range[1]:
        raise ConfigError(f"train.snr_db_range must be [low, high] in dB, got {cfg.snr_db_range}")
    lo, hi = cfg.snr_db_range
    return lambda batch, device: [torch.empty(batch, device=device).uniform_(lo, hi)
                                  for _ in hop_snrs_db]


def run_epoch(link: torch.nn.Module, objective: JSCCObjective, loader, snr_sampler: SNRSampler,
              device: torch.device, dist: DistInfo, optimizer: torch.optim.Optimizer | None = None,
              generator: torch.Generator | None = None, desc: str = "",
              fmt: torch.memory_format = torch.contiguous_format) -> dict[str, float]:
    """One pass over ``loader``; trains when ``optimizer`` is given. ``snr_sampler(B, device)``
    gives the hop SNRs of a batch. Returns image-weighted means of the objective's terms
    plus ``psnr`` (per image, output clamped to [0, 1])."""
    training = optimizer is not None
    link.train(training)
    sums: dict[str, torch.Tensor] = {}
    n_images = torch.zeros((), device=device)
    bar = progress(loader, desc, enabled=dist.is_main)
    for batch in bar:
        x = batch["image"].to(device, non_blocking=True, memory_format=fmt)
        with torch.set_grad_enabled(training):
            out = link(x, snr_sampler(x.shape[0], device), generator=generator)
            terms = objective(x, out["x_hat"])
        if training:
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            optimizer.step()
        with torch.no_grad():
            err = (out["x_hat"].detach().clamp(0, 1) - x).pow(2).flatten(1).mean(1)
            terms = {k: v.detach() * x.shape[0] for k, v in terms.items()}
            terms["psnr"] = (-10 * torch.log10(err.clamp_min(1e-10))).sum()
        for key, value in terms.items():
            sums[key] = sums.get(key, torch.zeros((), device=device)) + value
        n_images += x.shape[0]
        bar.set_postfix(loss=f"{float(terms['loss']) / x.shape[0]:.4f}")
    keys = sorted(sums)
    totals = all_reduce_sum(torch.stack([sums[k] for k in keys] + [n_images]), dist)
    n = float(totals[-1].clamp_min(1))
    return {**{k: float(v) / n for k, v in zip(keys, totals[:-1])}, "images": int(n)}


def train_jscc(cfg: Config, out_dir: str | Path, resume: bool = False) -> Path:
    """Train the DeepJSCC model described by ``cfg`` into ``out_dir``; returns the run dir."""
    with training_session(cfg.train.device) as (device, dist):
        seed_everything(cfg.seed + dist.rank)
        run = Run(out_dir, cfg, kind="deepjscc", resume=resume, is_main=dist.is_main)
        relays = cfg.link.relays
        hop_snrs = cfg.link.hop_snrs_db()
        train_snrs = make_snr_sampler(cfg.train, hop_snrs)
        train_loader = _loader(cfg, "train", cfg.train.batch_size_for(relays), True, dist)
        val_loader = _loader(cfg, "val", cfg.train.eval_batch_size, False, dist)

        fmt = memory_format(cfg.train.channels_last)
        model = create_model(cfg.model).to(device, memory_format=fmt)
        if cfg.train.init_from and not resume:
            model.load_state_dict(load_checkpoint(cfg.train.init_from, kind="deepjscc")["model"])
        link: torch.nn.Module = MultiHopDF(model, relay_clamp=cfg.link.relay_clamp)
        if dist.enabled:
            link = DistributedDataParallel(
                link, device_ids=[device.index] if device.type == "cuda" else None)
        objective = build_objective(cfg.train, device, cfg.eval.alexnet_weights)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr,
                                     weight_decay=cfg.train.weight_decay)
        decay = cfg.train.lr_decay
        scheduler = torch.optim.lr_scheduler.MultiplicativeLR(optimizer, lambda _: decay)
        run.restore(model, optimizer, scheduler)

        val_gen = torch.Generator(device=device)
        for epoch in range(run.start_epoch + 1, cfg.train.epochs + 1):
            train_loader.sampler.set_epoch(epoch)
            start = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            tr = run_epoch(link, objective, train_loader, train_snrs, device, dist, optimizer,
                           desc=f"epoch {epoch}/{cfg.train.epochs} train",
                           fmt=fmt)
            seconds = time.perf_counter() - start
            val_gen.manual_seed(cfg.seed + 10_000 + dist.rank)
            va = run_epoch(link, objective, val_loader, lambda b, d: hop_snrs, device, dist,
                           generator=val_gen, desc=f"epoch {epoch} val",
                           fmt=fmt)
            scheduler.step()
            images = tr.pop("images")
            va.pop("images")
            row = {"lr": lr, **{f"train_{k}": v for k, v in tr.items()},
                   **{f"val_{k}": v for k, v in va.items()},
                   "train_seconds": round(seconds, 2),
                   "train_images_per_s": round(images / seconds, 1)}
            improved = run.end_epoch(epoch, row, va["loss"], unwrap(link).model, optimizer,
                                     scheduler, higher_is_better=False)
            if dist.is_main:
                log.info("epoch %d/%d  train loss %.5f  val loss %.5f  val PSNR %.2f dB%s",
                         epoch, cfg.train.epochs, tr["loss"], va["loss"], va["psnr"],
                         "  (best)" if improved else "")
        return run.dir
