"""Train one DeepJSCC model end to end through ``relays + 1`` DF hops.

Adam (optionally with clipped gradients), the schedule of ``train.schedule``, the configured
loss terms on images in [0, 1] over the configured channel, validation each epoch. Works on
CPU, one GPU, or several with ``torchrun``.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from torchmetrics.aggregation import SumMetric

from ..channels import build_channel
from ..checkpoint import load_checkpoint
from ..config import Config, TrainConfig
from ..data import build_dataset, make_loader
from ..data.loader import EpochSampler
from ..device import autocast, check_precision, memory_format
from ..errors import CheckpointError, ConfigError
from ..losses import WeightedLoss, build_loss, term_weights
from ..models import JSCCModel, MultiHopDF
from ..models.multihop import HopCodecs, create_codecs
from ..progress import progress
from ..registry import LOSSES
from .distributed import DistInfo, per_process_batch, training_session
from .optim import adam, maybe_compile
from .run import Run, checked_fingerprint, unwrap
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


def warm_start(model: JSCCModel | HopCodecs, path: str | Path) -> None:
    """Load the DeepJSCC weights of checkpoint ``path`` into ``model`` (same sizes); a shared
    pair's weights go into every pair of per-hop codecs."""
    state = load_checkpoint(path, kind="deepjscc")["model"]
    if isinstance(model, HopCodecs) and not any(k.startswith("0.") for k in state):
        state = {f"{i}.{k}": v for i in range(len(model)) for k, v in state.items()}
    expected = model.state_dict()
    mismatched = [k for k, v in expected.items() if k not in state or state[k].shape != v.shape]
    if mismatched or set(state) - set(expected):
        raise CheckpointError(f"train.init_from={path} holds a model of other sizes "
                              f"({len(mismatched)} mismatched tensors, e.g. {mismatched[:1]}); "
                              "warm-start from a checkpoint with the same model settings")
    model.load_state_dict(state)


def trained_sources(cfg: Config, resume: bool) -> list[tuple[str, str, str]]:
    """(label, checkpoint, kind) of every trained network a DeepJSCC run uses: the frozen
    networks of its loss terms (``dhd``: the term's ``checkpoint`` or ``dhd.checkpoint``;
    a term with a task network: its ``checkpoint`` or ``task.checkpoint``) and, unless
    resuming, ``train.init_from``."""
    sources = []
    for name, (_, options) in term_weights(cfg.train.loss).items():
        if "checkpoint" not in inspect.signature(LOSSES.get(name)).parameters:
            continue
        dhd = name == "dhd"
        path = options.get("checkpoint") or (cfg.dhd.checkpoint if dhd else cfg.task.checkpoint)
        if path:
            sources.append((f"the {name} loss term's network {path}", str(path),
                            "dhd" if dhd else "classifier"))
    if cfg.train.init_from and not resume:
        sources.append((f"train.init_from={cfg.train.init_from}", cfg.train.init_from,
                        "deepjscc"))
    return sources


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


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig,
                   steps_per_epoch: int) -> tuple[Any, bool]:
    """The learning-rate schedule of ``train.schedule`` and whether it steps per batch:
    ``decay`` (lr ← lr_decay·lr after every epoch, the paper's), ``onecycle`` (PyTorch's
    OneCycleLR over all batches, peak ``train.lr``: warm-up then cosine annealing) or
    ``plateau`` (ReduceLROnPlateau on the validation loss, stepped after every epoch with
    it; the EO authors' recipe)."""
    if cfg.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=cfg.plateau_factor, patience=cfg.plateau_patience), False
    if cfg.schedule == "decay":
        decay = cfg.lr_decay
        return torch.optim.lr_scheduler.MultiplicativeLR(optimizer, lambda _: decay), False
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.lr, total_steps=max(1, cfg.epochs * steps_per_epoch),
            pct_start=0.15), True
    raise ConfigError(f"train.schedule={cfg.schedule!r}: choose decay, onecycle or plateau")


def run_epoch(link: torch.nn.Module, objective: WeightedLoss, loader, snr_sampler: SNRSampler,
              device: torch.device, dist: DistInfo, optimizer: torch.optim.Optimizer | None = None,
              generator: torch.Generator | None = None, desc: str = "",
              fmt: torch.memory_format = torch.contiguous_format,
              batch_scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
              precision: str = "fp32", grad_clip: float | None = None) -> dict[str, float]:
    """One pass over ``loader``; trains when ``optimizer`` is given (clipping the
    gradients' joint L2 norm to ``grad_clip`` if set, stepping ``batch_scheduler`` after
    every batch), the forward pass and loss in ``precision`` (autocast).
    ``snr_sampler(B, device)`` gives the hop SNRs of a batch. Returns image-weighted means
    of the objective's terms plus ``psnr`` (per image, output clamped to [0, 1]) and
    ``images``, synchronised over DDP processes through torchmetrics; the loop itself never
    waits for the device (a NaN shows in the means)."""
    training = optimizer is not None
    link.train(training)
    sums: dict[str, SumMetric] = {}  # image-weighted sums; no NaN check (it would sync)
    n_images = SumMetric(nan_strategy="disable").to(device)
    bar = progress(loader, desc, enabled=dist.is_main)
    for batch in bar:
        x = batch["image"].to(device, non_blocking=True, memory_format=fmt)
        labels = batch["label"].to(device, non_blocking=True)
        with torch.set_grad_enabled(training), autocast(device, precision):
            out = link(x, snr_sampler(x.shape[0], device), generator=generator)
            terms = objective(x, out["x_hat"].float(), labels)
        if training:
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(link.parameters(), grad_clip)
            optimizer.step()
            if batch_scheduler is not None:
                batch_scheduler.step()
        with torch.no_grad():
            err = (out["x_hat"].detach().float().clamp(0, 1) - x).pow(2).flatten(1).mean(1)
            values = {k: v.detach() for k, v in terms.items()}
            values["psnr"] = (-10 * torch.log10(err.clamp_min(1e-10))).mean()
        for key, value in values.items():
            if key not in sums:
                sums[key] = SumMetric(nan_strategy="disable").to(device)
            sums[key].update(value * x.shape[0])
        n_images.update(x.shape[0])
        if not bar.disable:  # reading the loss waits for the device
            bar.set_postfix(loss=f"{float(values['loss']):.4f}")
    images = n_images.compute()
    return {**{k: float(m.compute() / images) for k, m in sorted(sums.items())},
            "images": int(images)}


def train_jscc(cfg: Config, out_dir: str | Path, resume: bool = False) -> Path:
    """Train the DeepJSCC model described by ``cfg`` into ``out_dir``; returns the run dir."""
    with training_session(cfg.train.device) as (device, dist):
        seed_everything(cfg.seed + dist.rank)
        fingerprint = checked_fingerprint(cfg, trained_sources(cfg, resume))
        run = Run(out_dir, cfg, kind="deepjscc", resume=resume, is_main=dist.is_main,
                  fingerprint=fingerprint)
        relays = cfg.link.relays
        hop_snrs = cfg.link.hop_snrs_db()
        train_snrs = make_snr_sampler(cfg.train, hop_snrs)
        batch = per_process_batch(cfg.train.batch_size_for(relays), dist, "train.batch_size")
        train_loader = _loader(cfg, "train", batch, True, dist)
        val_loader = _loader(cfg, "val", cfg.train.eval_batch_size, False, dist)

        check_precision(device, cfg.train.precision)
        fmt = memory_format(cfg.train.channels_last)
        model = create_codecs(cfg.model, relays, cfg.link.shared_codec).to(
            device, memory_format=fmt)
        if cfg.train.init_from and not resume:
            warm_start(model, cfg.train.init_from)
        link: torch.nn.Module = MultiHopDF(model, build_channel(cfg.link.channel),
                                           relay_clamp=cfg.link.relay_clamp,
                                           grad_checkpoint=cfg.train.grad_checkpoint)
        if dist.enabled:
            link = DistributedDataParallel(
                link, device_ids=[device.index] if device.type == "cuda" else None)
        link = maybe_compile(link, cfg.train.compile)
        objective = build_loss(cfg, device)
        optimizer = adam(model.parameters(), cfg.train.lr, cfg.train.weight_decay,
                         cfg.train.fused_adam)
        scheduler, per_batch = make_scheduler(optimizer, cfg.train, len(train_loader))
        run.restore(model, optimizer, scheduler)

        val_gen = torch.Generator(device=device)
        first = cfg.train.epochs + 1 if run.finished else run.start_epoch + 1
        for epoch in range(first, cfg.train.epochs + 1):
            train_loader.sampler.set_epoch(epoch)
            start = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            tr = run_epoch(link, objective, train_loader, train_snrs, device, dist, optimizer,
                           desc=f"epoch {epoch}/{cfg.train.epochs} train", fmt=fmt,
                           batch_scheduler=scheduler if per_batch else None,
                           precision=cfg.train.precision, grad_clip=cfg.train.grad_clip)
            seconds = time.perf_counter() - start
            val_gen.manual_seed(cfg.seed + 10_000 + dist.rank)
            va = run_epoch(link, objective, val_loader, lambda b, d: hop_snrs, device, dist,
                           generator=val_gen, desc=f"epoch {epoch} val",
                           fmt=fmt, precision=cfg.train.precision)
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(va["loss"])
            elif not per_batch:
                scheduler.step()
            images = tr.pop("images")
            va.pop("images")
            row = {"lr": lr, **{f"train_{k}": v for k, v in tr.items()},
                   **{f"val_{k}": v for k, v in va.items()},
                   "train_seconds": round(seconds, 2),
                   "train_images_per_s": round(images / seconds, 1)}
            stop = optimizer.param_groups[0]["lr"] < cfg.train.min_lr
            improved = run.end_epoch(epoch, row, va["loss"], unwrap(link).model, optimizer,
                                     scheduler, higher_is_better=False, finished=stop)
            if dist.is_main:
                log.info("epoch %d/%d  train loss %.5f  val loss %.5f  val PSNR %.2f dB%s",
                         epoch, cfg.train.epochs, tr["loss"], va["loss"], va["psnr"],
                         "  (best)" if improved else "")
            if stop:
                if dist.is_main:
                    log.info("learning rate below train.min_lr=%g: stopping after epoch %d",
                             cfg.train.min_lr, epoch)
                break
        return run.dir
