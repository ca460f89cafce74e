"""Train a Deep Hash Distillation module (teacher/student views, proxy + distillation +
quantisation losses), selecting the epoch with the best validation mAP.

Validation ranks the ``val`` split as queries against the ``train`` split as database (no
test data is used to choose the model, unlike DHD's official code).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from ..config import Config
from ..data import DataError, build_dataset, make_loader, num_classes_of
from ..data.loader import EpochSampler
from ..device import memory_format
from ..losses.dhd import DHDLoss
from ..metrics.retrieval import mean_average_precision, to_codes
from ..models import DHD, create_dhd
from ..progress import progress
from ..semantics import compute_hashes, dhd_augmentation
from .distributed import all_reduce_sum, per_process_batch, training_session
from .run import Run, checked_fingerprint, unwrap
from .seed import seed_everything

log = logging.getLogger("semjscc.train_dhd")


def dhd_optimizer(model: DHD, cfg: Config) -> torch.optim.Adam:
    """Adam with the backbone at ``backbone_lr_scale`` × the head's (and proxies') rate."""
    d = cfg.dhd
    return torch.optim.Adam(
        [{"params": model.backbone.parameters(), "lr": d.lr * d.backbone_lr_scale},
         {"params": model.head.parameters(), "lr": d.lr}],
        weight_decay=d.weight_decay)


def dhd_schedule(optimizer: torch.optim.Optimizer, cfg: Config) -> torch.optim.lr_scheduler.LambdaLR:
    """Constant for ``warmup_epochs``, then a cosine to 0 over the remaining epochs."""
    warm, total = cfg.dhd.warmup_epochs, cfg.dhd.epochs

    def factor(epoch: int) -> float:
        if epoch < warm or total <= warm:
            return 1.0
        return 0.5 * (1 + math.cos(math.pi * (epoch - warm) / (total - warm)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def validation_map(model: DHD, cfg: Config, device: torch.device) -> float:
    """mAP@K of ``val`` queries against the ``train`` split as database."""
    size = cfg.train.eval_batch_size
    loaders = [make_loader(build_dataset(cfg.data, split), size, shuffle=False, seed=cfg.seed,
                           num_workers=cfg.data.num_workers) for split in ("val", "train")]
    model.eval()
    (hq, lq), (hd, ld) = (compute_hashes(model, loader, device, f"val mAP {name}")
                          for loader, name in zip(loaders, ("queries", "database")))
    return float(mean_average_precision(to_codes(hq), to_codes(hd), lq, ld, top_k=cfg.dhd.top_k))


def train_dhd(cfg: Config, out_dir: str | Path, resume: bool = False) -> Path:
    """Train the DHD described by ``cfg.dhd`` on ``cfg.data``; returns the run directory."""
    with training_session(cfg.train.device) as (device, dist):
        seed_everything(cfg.seed + dist.rank)
        run = Run(out_dir, cfg, kind="dhd", resume=resume, is_main=dist.is_main,
                  fingerprint=checked_fingerprint(cfg, []))
        fmt = memory_format(cfg.train.channels_last)
        model = create_dhd(cfg.dhd, num_classes_of(cfg.data), pretrained=not resume).to(
            device, memory_format=fmt)
        dataset = build_dataset(cfg.data, "train")
        sampler = EpochSampler(len(dataset), None, cfg.seed, dist.rank, dist.world_size)
        batch = per_process_batch(cfg.dhd.batch_size, dist, "dhd.batch_size")
        loader = make_loader(dataset, batch, shuffle=True, seed=cfg.seed,
                             drop_last=True, num_workers=cfg.data.num_workers, sampler=sampler)
        if len(loader) == 0:
            raise DataError(f"the train split has {len(dataset)} images, fewer than "
                            f"dhd.batch_size={cfg.dhd.batch_size}; lower dhd.batch_size")
        net: torch.nn.Module = model
        if dist.enabled:
            net = DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None)
        size = cfg.data.image_size
        crop = tuple(cfg.dhd.crop_scale)
        teacher_aug = dhd_augmentation(size, cfg.dhd.teacher_strength, crop).to(device)
        student_aug = dhd_augmentation(size, cfg.dhd.student_strength, crop).to(device)
        criterion = DHDLoss(cfg.dhd.tau, cfg.dhd.lambda_sdh, cfg.dhd.lambda_bceq, cfg.dhd.sigma)
        optimizer = dhd_optimizer(model, cfg)
        scheduler = dhd_schedule(optimizer, cfg)
        run.restore(model, optimizer, scheduler)

        for epoch in range(run.start_epoch + 1, cfg.dhd.epochs + 1):
            loader.sampler.set_epoch(epoch)
            net.train()
            start = time.perf_counter()
            sums = torch.zeros(5, device=device)  # loss, hp, sdh, bceq, images
            for batch in progress(loader, f"dhd epoch {epoch}/{cfg.dhd.epochs}", dist.is_main):
                x = batch["image"].to(device, non_blocking=True)
                labels = batch["label"].to(device)
                with torch.no_grad():
                    x_teacher = teacher_aug(x).contiguous(memory_format=fmt)
                    x_student = student_aug(x).contiguous(memory_format=fmt)
                terms = criterion(net(x_teacher), net(x_student), model.head.proxies, labels)
                optimizer.zero_grad(set_to_none=True)
                terms["loss"].backward()
                optimizer.step()
                n = x.shape[0]
                sums += torch.stack([terms[k].detach() * n for k in ("loss", "hp", "sdh", "bceq")]
                                    + [torch.tensor(float(n), device=device)])
            seconds = time.perf_counter() - start
            sums = all_reduce_sum(sums, dist)
            lr = optimizer.param_groups[1]["lr"]
            scheduler.step()
            val_map = validation_map(unwrap(net), cfg, device) if dist.is_main else math.nan
            n_images = float(sums[4])
            row = {"lr": lr, **{f"train_{k}": float(v) / n_images
                                for k, v in zip(("loss", "hp", "sdh", "bceq"), sums[:4])},
                   "val_map": val_map, "train_seconds": round(seconds, 2),
                   "train_images_per_s": round(n_images / seconds, 1)}
            improved = run.end_epoch(epoch, row, val_map, unwrap(net), optimizer, scheduler,
                                     higher_is_better=True)
            if dist.is_main:
                log.info("dhd epoch %d/%d  loss %.4f (hp %.4f, sdh %.4f, bceq %.4f)  val mAP %.4f%s",
                         epoch, cfg.dhd.epochs, row["train_loss"], row["train_hp"],
                         row["train_sdh"], row["train_bceq"], val_map,
                         "  (best)" if improved else "")
        return run.dir
