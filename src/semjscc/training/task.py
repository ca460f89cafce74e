"""Train and evaluate task classifiers (checkpoint kind ``classifier``).

Training follows the ``task`` section: AdamW/Adam/SGD at ``lr`` with ``weight_decay``, a
per-epoch learning-rate factor (``cosine`` to zero over the epochs, ``step``: StepLR's
γ^⌊epoch/step_size⌋, or ``constant``), cross-entropy for one-hot labels and BCE-with-logits
for multi-hot ones, random horizontal flips (and the ``task.degrade`` degradations of
:class:`~semjscc.semantics.Degrade` when training on clean images), validation accuracy
each epoch (best.pt = the most accurate epoch). The Earth-observation recipe is AdamW 1e-3,
weight decay 5e-4, ``step`` (7, 0.1), 25 epochs, batch 64.

Two protocols judge reconstructions Ŝ: *mismatched*, a classifier trained on clean images
and frozen (:func:`evaluate_task` with ``reconstruct``), and *matched*, the same classifier
fine-tuned for ``task.finetune_epochs`` (at ``task.finetune_lr``, default ``task.lr``) on
reconstructions of the training split
(:func:`train_task` with ``reconstruct``, starting from ``task.checkpoint``).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from torchmetrics.aggregation import MeanMetric, SumMetric

from ..checkpoint import load_checkpoint
from ..config import Config, TaskConfig
from ..data import DataError, build_dataset, make_loader, num_classes_of
from ..data.loader import EpochSampler
from ..device import memory_format
from ..errors import ConfigError
from ..evaluation.task import Reconstruct, multi_hot_labels
from ..metrics import TopLabelAccuracy
from ..models import Classifier, create_classifier
from ..models.classifiers import classifier_from_state_dict
from ..progress import progress
from ..semantics import Degrade
from .distributed import DistInfo, training_session
from .run import Run, checked_fingerprint, unwrap
from .seed import seed_everything

log = logging.getLogger("semjscc.train_task")

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("cosine", "step", "constant")
ARCHITECTURE_KEYS = ("model", "input_size", "normalize")  # must match when fine-tuning




def task_loss(logits: Tensor, labels: Tensor, multi_label: bool) -> Tensor:
    """BCE-with-logits against multi-hot labels, else cross-entropy against the one-hot class;
    logits and labels (B, C)."""
    if multi_label:
        return F.binary_cross_entropy_with_logits(logits, labels)
    return F.cross_entropy(logits, labels.argmax(1))


def task_optimizer(model: torch.nn.Module, cfg: TaskConfig,
                   lr: float | None = None) -> torch.optim.Optimizer:
    """``cfg.optimizer`` over all parameters (SGD with momentum 0.9) at ``lr`` (default
    ``cfg.lr``)."""
    params, lr, wd = model.parameters(), lr or cfg.lr, cfg.weight_decay
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=wd)
    raise ConfigError(f"task.optimizer={cfg.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")


def task_schedule(optimizer: torch.optim.Optimizer, cfg: TaskConfig,
                  epochs: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-epoch factor of the learning rate: ``cosine`` ½(1 + cos(π·e/epochs)), ``step``
    γ^⌊e/step_size⌋ (StepLR), ``constant`` 1; e = finished epochs. A closed form of the
    epoch, so resuming with more epochs continues the same curve."""
    if cfg.schedule == "cosine":
        def factor(e: int) -> float:
            return 0.5 * (1 + math.cos(math.pi * e / epochs))
    elif cfg.schedule == "step":
        def factor(e: int) -> float:
            return cfg.gamma ** (e // cfg.step_size)
    elif cfg.schedule == "constant":
        def factor(e: int) -> float:
            return 1.0
    else:
        raise ConfigError(f"task.schedule={cfg.schedule!r}; choose one of: {', '.join(SCHEDULES)}")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def follow_schedule(optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LambdaLR) -> None:
    """Set each group's rate to base·factor(finished epochs), as the scheduler's own step
    does: a run resumed with another number of epochs continues on the new curve instead of
    the rate restored from the old one."""
    for group, base, factor in zip(optimizer.param_groups, scheduler.base_lrs,
                                   scheduler.lr_lambdas):
        group["lr"] = base * factor(scheduler.last_epoch)


def random_hflip(x: Tensor) -> Tensor:
    """Each image of (B, 3, H, W) mirrored left-right with probability ½ (global torch RNG)."""
    flip = torch.rand(x.shape[0], device=x.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def finetune_start(cfg: Config, num_classes: int) -> Classifier:
    """The matched protocol's starting point: the trainable classifier of ``task.checkpoint``,
    which must have this config's architecture settings and class count."""
    path = cfg.task.checkpoint
    if not path:
        raise ConfigError("fine-tuning on reconstructions starts from a trained classifier: "
                          "set task.checkpoint=RUN/best.pt of a train-task run")
    ckpt = load_checkpoint(path, kind="classifier")
    trained = ckpt["config"].get("task", {})
    changed = [f"task.{k}={trained.get(k)!r}" for k in ARCHITECTURE_KEYS
               if trained.get(k) != getattr(cfg.task, k)]
    if changed:
        raise ConfigError(f"task.checkpoint={path} was trained with {', '.join(changed)}; "
                          "fine-tune it with the same settings")
    model = classifier_from_state_dict(ckpt["model"], cfg.task)
    if model.num_classes != num_classes:
        raise ConfigError(f"task.checkpoint={path} has {model.num_classes} classes but the "
                          f"data has {num_classes}; fine-tune it on the data it was trained on")
    return model


def _loaders(cfg: Config, dist: DistInfo) -> tuple[Any, Any, bool]:
    """Train loader (seeded order per epoch, sharded), validation loader, multi-hot flag."""
    train_set = build_dataset(cfg.data, "train")
    sampler = EpochSampler(len(train_set), None, cfg.seed, dist.rank, dist.world_size)
    train = make_loader(train_set, cfg.task.batch_size, shuffle=True, seed=cfg.seed,
                        drop_last=True, num_workers=cfg.data.num_workers, sampler=sampler)
    if len(train) == 0:
        raise DataError(f"the train split has {len(train_set)} images, fewer than "
                        f"task.batch_size={cfg.task.batch_size}; lower task.batch_size")
    val_set = build_dataset(cfg.data, "val")
    val = make_loader(val_set, cfg.train.eval_batch_size, shuffle=False, seed=cfg.seed,
                      num_workers=cfg.data.num_workers,
                      sampler=DistributedSampler(val_set, shuffle=False) if dist.enabled
                      else None)
    return train, val, multi_hot_labels(train_set)


def run_task_epoch(net: torch.nn.Module, loader: Any, multi_label: bool, device: torch.device,
                   dist: DistInfo, optimizer: torch.optim.Optimizer | None = None,
                   reconstruct: Reconstruct | None = None,
                   generator: torch.Generator | None = None, desc: str = "",
                   fmt: torch.memory_format = torch.contiguous_format,
                   degrade: Degrade | None = None) -> dict[str, float]:
    """One pass over ``loader``; trains (with random flips, then ``degrade``) when
    ``optimizer`` is given. With
    ``reconstruct`` the classifier sees clamp(reconstruct(x, generator), 0, 1). Returns the
    image-weighted mean ``loss``, top-label ``accuracy`` and ``images``, synchronised over
    DDP processes through torchmetrics."""
    training = optimizer is not None
    net.train(training)
    loss_mean, accuracy = MeanMetric().to(device), TopLabelAccuracy().to(device)
    n_images = SumMetric().to(device)
    for batch in progress(loader, desc, enabled=dist.is_main):
        x = batch["image"].to(device, non_blocking=True)
        labels = batch["label"].to(device, non_blocking=True)
        if training:
            x = random_hflip(x)
            if degrade is not None:
                x = degrade(x)
        if reconstruct is not None:
            with torch.no_grad():
                x = reconstruct(x, generator).clamp(0.0, 1.0)
        with torch.set_grad_enabled(training):
            logits = net(x.contiguous(memory_format=fmt))
            loss = task_loss(logits, labels, multi_label)
        if training:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        loss_mean.update(loss.detach(), weight=x.shape[0])
        accuracy.update(logits.detach(), labels)
        n_images.update(x.shape[0])
    return {"loss": float(loss_mean.compute()), "accuracy": float(accuracy.compute()),
            "images": int(n_images.compute())}


def train_task(cfg: Config, out_dir: str | Path, resume: bool = False,
               reconstruct: Reconstruct | None = None) -> Path:
    """Train the classifier ``cfg.task`` on ``cfg.data``'s train split; returns the run dir.

    ``reconstruct(x, generator) -> x_hat`` (the matched protocol): every training and
    validation batch is replaced by its reconstruction (clamped to [0, 1]) before the
    classifier, which starts from ``task.checkpoint`` and trains ``task.finetune_epochs``
    epochs. Training noise is seeded per epoch and validation noise is the same every epoch.
    """
    t = cfg.task
    with training_session(cfg.train.device) as (device, dist):
        seed_everything(cfg.seed + dist.rank)
        start = [(f"task.checkpoint={t.checkpoint}", t.checkpoint, "classifier")
                 ] if reconstruct is not None and t.checkpoint else []
        run = Run(out_dir, cfg, kind="classifier", resume=resume, is_main=dist.is_main,
                  fingerprint=checked_fingerprint(cfg, start))
        train_loader, val_loader, multi = _loaders(cfg, dist)
        num_classes = num_classes_of(cfg.data)
        if reconstruct is None:
            model = create_classifier(t, num_classes, pretrained=not resume,
                                      image_size=cfg.data.image_size)
            epochs = t.epochs
        else:
            model = finetune_start(cfg, num_classes)
            epochs = t.finetune_epochs
        degrade = Degrade(t.degrade) if t.degrade and reconstruct is None else None
        fmt = memory_format(cfg.train.channels_last)
        model = model.to(device, memory_format=fmt)
        net: torch.nn.Module = model
        if dist.enabled:
            net = DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None)
        optimizer = task_optimizer(model, t, None if reconstruct is None else t.finetune_lr)
        scheduler = task_schedule(optimizer, t, epochs)
        run.restore(model, optimizer, scheduler)
        follow_schedule(optimizer, scheduler)

        train_gen, val_gen = torch.Generator(device=device), torch.Generator(device=device)
        for epoch in range(run.start_epoch + 1, epochs + 1):
            train_loader.sampler.set_epoch(epoch)
            train_gen.manual_seed(cfg.seed + 20_000 + epoch * dist.world_size + dist.rank)
            lr = optimizer.param_groups[0]["lr"]
            start = time.perf_counter()
            tr = run_task_epoch(net, train_loader, multi, device, dist, optimizer, reconstruct,
                                train_gen, f"task epoch {epoch}/{epochs} train", fmt, degrade)
            seconds = time.perf_counter() - start
            scheduler.step()
            val_gen.manual_seed(cfg.seed + 10_000 + dist.rank)
            va = run_task_epoch(net, val_loader, multi, device, dist, None, reconstruct,
                                val_gen, f"task epoch {epoch} val", fmt)
            row = {"lr": lr, "train_loss": tr["loss"], "train_accuracy": tr["accuracy"],
                   "val_loss": va["loss"], "val_accuracy": va["accuracy"],
                   "train_seconds": round(seconds, 2),
                   "train_images_per_s": round(tr["images"] / seconds, 1)}
            improved = run.end_epoch(epoch, row, va["accuracy"], unwrap(net), optimizer,
                                     scheduler, higher_is_better=True)
            if dist.is_main:
                log.info("task epoch %d/%d  train loss %.4f  val loss %.4f  val accuracy "
                         "%.4f%s", epoch, epochs, tr["loss"], va["loss"], va["accuracy"],
                         "  (best)" if improved else "")
        return run.dir
