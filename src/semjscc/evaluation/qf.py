"""Fit QF codebooks on a trained r = 0 model's channel outputs, and evaluate QF.

Fitting data: the channel outputs y of the validation split at the model's SNR (fresh noise,
seeded). At paper scale that is ~69 million 2-D blocks; K-means is fitted on a seeded uniform
subsample of at most ``max_blocks`` blocks (all blocks when fewer).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..channels import Channel, build_channel
from ..channels.quantize import Codebook, CodebookError, bits_per_block, fit_codebook, to_blocks
from ..config import Config
from ..data import build_dataset, make_loader
from ..data.fingerprint import KEY, check_same_data, checkpoint_fingerprint, read_fingerprint
from ..device import resolve_device
from ..losses import method_label
from ..models import JSCCModel, QuantizeForward, channel_output, load, pad_to_multiple
from ..progress import progress
from ..semantics import Judge
from .evaluate import (
    CheckpointEvaluation,
    evaluate_system,
    image_suite,
    judge_suites,
    setting_columns,
)

log = logging.getLogger("semjscc.qf")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_settings(text: str) -> list[tuple[int, float]]:
    """``"4:0.75,2:1"`` -> [(4, 0.75), (2, 1.0)], each N_Q·b checked to be a whole, positive
    number of bits; an empty text is an empty list."""
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        try:
            n_q, bits = item.split(":")
            setting = (int(n_q), float(bits))
        except ValueError:
            raise CodebookError(f"bad N_Q:b setting {item!r}; write N_Q:b, e.g. 4:0.75,2:1") \
                from None
        if not (math.isfinite(setting[1]) and setting[1] > 0):
            raise CodebookError(f"bad N_Q:b setting {item!r}: b must be a positive finite "
                                "number of bits per real")
        bits_per_block(*setting)
        out.append(setting)
    return out


@torch.no_grad()
def collect_blocks(model: JSCCModel, cfg: Config, channel: Channel, snr_db: float,
                   n_qs: set[int], max_blocks: int, seed: int,
                   device: torch.device) -> tuple[dict[int, np.ndarray], int]:
    """Seeded uniform subsample (<= max_blocks) of the val split's channel-output blocks for
    every N_Q, from one pass; also returns the number of reals 2k per image."""
    dataset = build_dataset(cfg.data, "val")
    loader = make_loader(dataset, cfg.train.eval_batch_size, shuffle=False, seed=seed,
                         num_workers=cfg.data.num_workers)
    gen = torch.Generator(device=device).manual_seed(seed)
    rng = np.random.default_rng(seed)
    kept: dict[int, list[np.ndarray]] = {n: [] for n in n_qs}
    reals = None
    for batch in progress(loader, f"collecting channel outputs at {snr_db:g} dB"):
        x, _ = pad_to_multiple(batch["image"].to(device), model.downsampling_factor)
        snr = torch.full((x.shape[0],), snr_db, device=device)
        y = channel_output(model, x, channel, snr, gen)
        reals = y[0].numel()
        for n_q in n_qs:
            blocks = to_blocks(y, n_q).reshape(-1, n_q).cpu().numpy()
            total = len(dataset) * reals // n_q
            p = min(1.0, max_blocks / total)
            kept[n_q].append(blocks if p >= 1 else blocks[rng.random(len(blocks)) < p])
    return {n: np.concatenate(v) for n, v in kept.items()}, int(reals or 0)


def fit_codebooks(checkpoint: str | Path, settings: list[tuple[int, float]], out_dir: str | Path,
                  snr_db: float | None = None, max_blocks: int = 1_000_000, seed: int = 0,
                  device: str = "auto") -> list[Path]:
    """Fit one codebook per (N_Q, b) for ``checkpoint`` and save them in ``out_dir``."""
    dev = resolve_device(device)
    model, cfg = load(checkpoint, device=dev, kind="deepjscc")
    if cfg.link.relays != 0:
        log.warning("%s was trained for %d relays; QF is defined on an r = 0 model",
                    checkpoint, cfg.link.relays)
    snr = cfg.link.hop_snrs_db()[0] if snr_db is None else snr_db
    blocks, reals = collect_blocks(model, cfg, build_channel(cfg.link.channel), snr,
                                   {n for n, _ in settings}, max_blocks, seed, dev)
    n_images = len(build_dataset(cfg.data, "val"))
    digest = file_sha256(checkpoint)
    fingerprint = checkpoint_fingerprint(checkpoint, "deepjscc")
    paths = []
    for n_q, bits in settings:
        start = time.perf_counter()
        total = n_images * reals // n_q
        meta = {"checkpoint": str(checkpoint), "checkpoint_sha256": digest,
                "method": method_label(cfg.train.loss), "split": "val", "n_images": n_images,
                "n_blocks_total": total, "n_blocks_fit": int(len(blocks[n_q])), "seed": seed,
                **({KEY: fingerprint} if fingerprint else {})}
        book = fit_codebook(blocks[n_q], n_q, bits, snr, seed, meta)
        book.meta["fit_seconds"] = round(time.perf_counter() - start, 2)
        paths.append(book.save(Path(out_dir) / f"{book.name}.safetensors"))
        log.info("N_Q=%d b=%g: %d centres fitted on %s of %s blocks in %.1f s -> %s", n_q, bits,
                 2 ** book.bits_per_block, f"{len(blocks[n_q]):,}", f"{total:,}",
                 book.meta["fit_seconds"], paths[-1])
    return paths


def load_codebooks(directory: str | Path, checkpoint: str | Path) -> list[Codebook]:
    """Every codebook in ``directory``, checked to belong to ``checkpoint`` (its file hash,
    and the data fingerprint both record)."""
    files = sorted(Path(directory).glob("qf_*.safetensors"))
    if not files:
        raise CodebookError(f"no codebooks (qf_*.safetensors) in {directory}; run "
                            "`semjscc fit-codebook --checkpoint CKPT --out DIR` first")
    digest = file_sha256(checkpoint)
    fingerprint = checkpoint_fingerprint(checkpoint, "deepjscc")
    books = [Codebook.load(f) for f in files]
    for f, book in zip(files, books):
        if book.meta.get("checkpoint_sha256") != digest:
            raise CodebookError(f"{f} was fitted for {book.meta.get('checkpoint')}, not "
                                f"{checkpoint}; refit with `semjscc fit-codebook`")
        recorded = read_fingerprint(book.meta.get(KEY), f"codebook {f}")
        check_same_data((f"codebook {f}", recorded), (f"the model {checkpoint}", fingerprint))
    return sorted(books, key=lambda b: (b.bits, b.n_q))


def evaluate_qf_checkpoint(checkpoint: str | Path, codebooks: str | Path,
                           relays: list[int] | None = None, every_relay: bool = False,
                           overrides: list[str] | None = None, device: str = "auto",
                           seed: int | None = None, dhd: str | Path | None = None,
                           judges: list[Judge] | None = None,
                           snr_db: list[float] | None = None,
                           batch_size: int | None = None) -> list[dict[str, Any]]:
    """Result rows (``protocol=qf``, or ``qf-every-relay``) for every codebook of the model,
    at each SNR of ``snr_db`` (default: the SNR each codebook was fitted at)."""
    s = CheckpointEvaluation.open(checkpoint, overrides, device, seed, batch_size, dhd, judges)
    model, cfg, dev, seed = s.model, s.cfg, s.device, s.seed
    channel, loader, judges = s.channel, s.loader, s.judges
    rows = []
    for book in load_codebooks(codebooks, checkpoint):
        for r in relays or [1]:
            for snr in snr_db or [book.snr_db]:
                link = QuantizeForward(model, book, relays=r, every_relay=every_relay,
                                       channel=channel)
                holder: dict[str, int] = {}

                def system(x, g, link=link, holder=holder, snr=snr):
                    out = link(x, snr, generator=g)
                    holder["bits"], holder["pixels"] = out["bits"], x.shape[-1] * x.shape[-2]
                    return out["x_hat"]

                metrics = evaluate_system(
                    system, loader, [image_suite(cfg, dev), *judge_suites(judges, dev)], dev,
                    seed, desc=f"eval QF N_Q={book.n_q} b={book.bits:g} {snr:g} dB")
                rows.append({
                    **setting_columns(model, cfg, channel, [snr] * (r + 1)),
                    "protocol": "qf-every-relay" if every_relay else "qf", "relays": r,
                    "n_q": book.n_q, "bits": book.bits,
                    "bpp": holder["bits"] / holder["pixels"], **metrics, "seed": seed,
                    "checkpoint": str(checkpoint),
                })
    return rows
