"""Evaluate a transmission system over a split: metric suites fed (S, Ŝ, labels) per batch.

A *system* maps a clean batch (B, 3, H, W) and a noise generator to the destination's
reconstruction Ŝ. The same seed gives the same noise at every setting (common random
numbers), so differences between settings are not noise-draw luck.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from ..config import Config, config_from_dict, load_config
from ..data import build_dataset, make_loader
from ..metrics.image import image_metrics, update_clamped
from ..metrics.lpips import LPIPS, LPIPS_MIN_SIZE, LPIPSMetric, lpips_available
from ..metrics.retrieval import mean_average_precision, to_codes
from ..models import DeepJSCC, MultiHopDF, create_model
from ..progress import progress
from ..semantics.dhd import hash_cosine, load_dhd
from .checkpoint import load_checkpoint
from .distributed import resolve_device
from .eval_dhd import HashDatabase, split_hashes

System = Callable[[Tensor, torch.Generator], Tensor]
log = logging.getLogger("semjscc.eval")


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


class LPIPSSuite:
    """LPIPS (AlexNet, v0.1) on outputs clamped to [0, 1]; see :mod:`semjscc.metrics.lpips`."""

    def __init__(self, net: LPIPS) -> None:
        self.metric = LPIPSMetric(net)

    def update(self, x: Tensor, x_hat: Tensor, labels: Tensor) -> None:
        self.metric.update(x_hat.clamp(0.0, 1.0), x)

    def compute(self) -> dict[str, float]:
        return {"lpips": float(self.metric.compute())}


@functools.cache
def shared_lpips(weights: str, device: str) -> LPIPS | None:
    """The LPIPS network for ``weights`` (loaded once), or None with one warning saying how
    to provide the AlexNet file; LPIPS is never computed with random weights."""
    if weights.lower() == "none":
        return None
    net, message = lpips_available(weights, device)
    if net is None:
        log.warning(message)
    return net


def standard_suites(cfg: Config, device: torch.device,
                    semantic: "SemanticContext | None" = None) -> list[MetricSuite]:
    """PSNR/MS-SSIM, plus LPIPS when the AlexNet weights are there, plus hash metrics."""
    suites: list[MetricSuite] = [ImageSuite(cfg.data.image_size, device)]
    if cfg.data.image_size >= LPIPS_MIN_SIZE:
        net = shared_lpips(cfg.eval.alexnet_weights, str(device))
        if net is not None:
            suites.append(LPIPSSuite(net))
    if semantic is not None:
        suites.append(semantic.suite())
    return suites


class HashSuite:
    """Semantic alignment through a frozen DHD, on outputs clamped to [0, 1].

    ``hash_cos``: mean cos(h(S), h(Ŝ)) of continuous hashes; ``hash_bit_agreement``: mean
    share of equal sign bits; ``map``: mAP@K of the reconstructions as queries against the
    clean database codes; ``map_clean``: the same with the clean images as queries.
    """

    def __init__(self, dhd: torch.nn.Module, database: "HashDatabase", top_k: int | None) -> None:
        self.dhd, self.database, self.top_k = dhd, database, top_k
        self.cos: list[Tensor] = []
        self.agree: list[Tensor] = []
        self.codes: list[Tensor] = []
        self.clean_codes: list[Tensor] = []
        self.labels: list[Tensor] = []

    def update(self, x: Tensor, x_hat: Tensor, labels: Tensor) -> None:
        h, h_hat = self.dhd(x), self.dhd(x_hat.clamp(0.0, 1.0))
        c, c_hat = to_codes(h), to_codes(h_hat)
        self.cos.append(hash_cosine(h, h_hat).cpu())
        self.agree.append((c == c_hat).float().mean(1).cpu())
        self.codes.append(c_hat.cpu())
        self.clean_codes.append(c.cpu())
        self.labels.append(labels.cpu())

    def compute(self) -> dict[str, float]:
        labels, db = torch.cat(self.labels), self.database
        ranked = {name: float(mean_average_precision(torch.cat(codes), db.codes, labels,
                                                     db.labels, top_k=self.top_k))
                  for name, codes in (("map", self.codes), ("map_clean", self.clean_codes))}
        return {"hash_cos": float(torch.cat(self.cos).mean()),
                "hash_bit_agreement": float(torch.cat(self.agree).mean()), **ranked}


def load_jscc(path: str | Path, device: torch.device,
              overrides: list[str] | None = None) -> tuple[DeepJSCC, Config]:
    """Rebuild a trained DeepJSCC pair from its checkpoint alone (eval mode), with its
    config; ``overrides`` (``key=value``) change that config, e.g. where the data lives."""
    ckpt = load_checkpoint(path, kind="deepjscc")
    model = create_model(config_from_dict(ckpt["config"]).model)
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval(), load_config(None, overrides, base=ckpt["config"])


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
        x_hat = system(x, generator)
        for suite in suites:
            suite.update(x, x_hat, batch["label"].to(device))
        n_images += x.shape[0]
    out: dict[str, float] = {"n_images": n_images}
    for suite in suites:
        out.update(suite.compute())
    return out


def resolve_dhd_path(cfg: Config, explicit: str | Path | None) -> str | Path | None:
    """The DHD used for hash metrics: ``--dhd``, else ``dhd.checkpoint``, else the one a
    ``mse+dhd`` model was trained with; None means no hash metrics."""
    return explicit or cfg.dhd.checkpoint or cfg.train.dhd_checkpoint


class SemanticContext:
    """A frozen DHD with the clean database hashes of a dataset, shared by evaluations."""

    def __init__(self, path: str | Path, cfg: Config, device: torch.device) -> None:
        self.dhd, dhd_cfg = load_dhd(path, device)
        self.top_k = dhd_cfg.dhd.top_k
        self.database = split_hashes(self.dhd, cfg, "db", device)

    def suite(self) -> HashSuite:
        return HashSuite(self.dhd, self.database, self.top_k)


def evaluate_df_checkpoint(path: str | Path, snr_db: list[float] | None = None,
                           relays: list[int] | None = None, overrides: list[str] | None = None,
                           batch_size: int | None = None, device: str = "auto",
                           seed: int | None = None, dhd: str | Path | None = None,
                           semantic: SemanticContext | None = None) -> list[dict[str, Any]]:
    """Result rows of a DeepJSCC checkpoint over relays × SNR on its evaluation split.

    Defaults: the trained relays and per-hop SNR, the checkpoint's data config with
    ``overrides`` applied, ``eval.split``/``eval.seed`` of its config. Hash columns are
    added when a DHD is known (``dhd``, see :func:`resolve_dhd_path`, or a prepared
    ``semantic`` context).
    """
    dev = resolve_device(device)
    model, cfg = load_jscc(path, dev, overrides)
    relays = relays or cfg.eval.relays or [cfg.link.relays]
    trained_snrs = cfg.link.hop_snrs_db()
    snr_db = snr_db or cfg.eval.snr_db or [trained_snrs[0]]
    seed = cfg.eval.seed if seed is None else seed
    dataset = build_dataset(cfg.data, cfg.eval.split)
    loader = make_loader(dataset, batch_size or cfg.train.eval_batch_size, shuffle=False,
                         seed=seed, num_workers=cfg.data.num_workers)
    dhd_path = resolve_dhd_path(cfg, dhd)
    if semantic is None and dhd_path:
        semantic = SemanticContext(dhd_path, cfg, dev)
    rows = []
    for r in relays:
        for snr in snr_db:
            metrics = evaluate_system(
                df_system(model, r, snr, cfg.link.relay_clamp), loader,
                standard_suites(cfg, dev, semantic), dev, seed,
                desc=f"eval relays={r} snr={snr:g}dB")
            rows.append({
                "method": cfg.train.method, "protocol": "df", "relays": r, "snr_db": snr,
                "n_q": None, "bits": None, "bpp": None, **metrics, "seed": seed,
                "train_relays": cfg.link.relays,
                "train_snr_db": "/".join(f"{s:g}" for s in trained_snrs),
                "checkpoint": str(path),
            })
    return rows
