"""Evaluate a transmission system over a split: metric suites fed (S, Ŝ, labels) per batch.

A *system* maps a clean batch (B, 3, H, W) and a noise generator to the destination's
reconstruction Ŝ. A *suite* is a torchmetrics ``MetricCollection`` plus the function that
turns (S, Ŝ, labels) into its inputs (e.g. a judge network's outputs); all state lives in
the metrics, so DDP evaluation syncs through them. The same seed gives the same noise at
every setting (common random numbers), so differences between settings are not noise-draw
luck.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torchmetrics import MetricCollection

from ..channels import Channel, build_channel
from ..config import Config
from ..data import build_dataset, make_loader
from ..data.fingerprint import check_same_data, checkpoint_fingerprint
from ..device import resolve_device
from ..errors import ConfigError
from ..losses import method_label
from ..metrics.image import image_metrics
from ..metrics.lpips import LPIPS, LPIPS_MIN_SIZE, LPIPSMetric, lpips_available
from ..metrics.per_image import PerImage
from ..models import JSCCModel, MultiHopDF, load
from ..progress import progress
from ..semantics import ClassifierJudge, HashJudge, Judge
from .dhd import split_hashes
from .results import IMAGES

System = Callable[[Tensor, torch.Generator], Tensor]
Inputs = Callable[[Tensor, Tensor, Tensor], dict[str, Tensor]]
log = logging.getLogger("semjscc.eval")


@dataclass
class Suite:
    """Metrics plus how to feed them: ``inputs(x, x_hat, labels)`` gives the keyword
    arguments of ``metrics.update``."""

    metrics: MetricCollection
    inputs: Inputs

    def update(self, x: Tensor, x_hat: Tensor, labels: Tensor) -> None:
        self.metrics.update(**self.inputs(x, x_hat, labels))

    def compute(self) -> dict[str, Any]:
        """Scalar metrics as floats; tensor-valued ones (e.g. distance lists) as tensors."""
        return {k: float(v) if v.numel() == 1 else v for k, v in self.metrics.compute().items()}

    def per_image(self) -> dict[str, Tensor]:
        """(N,) scores of the :class:`~semjscc.metrics.per_image.PerImage` metrics, in the
        order the images were fed."""
        return {name: metric.scores().cpu() for name, metric in self.metrics.items()
                if isinstance(metric, PerImage)}


def _clamped(x: Tensor, x_hat: Tensor, labels: Tensor) -> dict[str, Tensor]:
    return {"preds": x_hat.clamp(0.0, 1.0), "target": x}


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


def image_suite(cfg: Config, device: torch.device) -> Suite:
    """PSNR and MS-SSIM, plus LPIPS when the AlexNet weights are there (and the images are
    large enough), on outputs clamped to [0, 1]."""
    metrics = image_metrics(cfg.data.image_size)
    if cfg.data.image_size >= LPIPS_MIN_SIZE:
        net = shared_lpips(cfg.eval.alexnet_weights, str(device))
        if net is not None:
            metrics.add_metrics({"lpips": LPIPSMetric(net)})
    return Suite(metrics.to(device), _clamped)


def hash_judge(path: str | Path, cfg: Config, device: torch.device,
               suffix: str = "") -> HashJudge:
    """A frozen DHD from ``path`` with the clean hashes of ``cfg``'s ``db`` split."""
    dhd, dhd_cfg = load(path, device=device, kind="dhd")
    db = split_hashes(dhd, cfg, "db", device)
    return HashJudge(dhd, db.hashes.to(device), db.labels.to(device), dhd_cfg.dhd.top_k, suffix)


def classifier_judge(path: str | Path, device: torch.device, suffix: str = "") -> ClassifierJudge:
    """A frozen task classifier from ``path`` judging whether reconstructions keep the class
    of their source (multi-label or not as its own training data)."""
    classifier, cfg = load(path, device=device, kind="classifier")
    multi_label = build_dataset(cfg.data, "test").multi_label
    return ClassifierJudge(classifier, multi_label, classifier.num_classes, suffix)


def judge_suites(judges: Iterable[Judge], device: torch.device) -> list[Suite]:
    return [Suite(j.metrics().to(device), j.inputs) for j in judges]


def evaluate_system(system: System, loader: Iterable[dict[str, Any]], suites: list[Suite],
                    device: torch.device, seed: int, desc: str = "eval") -> dict[str, Any]:
    """Run ``system`` over ``loader`` and return the merged metrics plus ``n_images``."""
    return evaluate_outputs(lambda x, g: [system(x, g)], loader, [suites], device, seed,
                            desc)[0]


@torch.no_grad()
def evaluate_outputs(system: Callable[[Tensor, torch.Generator], list[Tensor]],
                     loader: Iterable[dict[str, Any]], suites: list[list[Suite]],
                     device: torch.device, seed: int, desc: str = "eval") -> list[dict[str, Any]]:
    """Run a ``system`` with several outputs per image (e.g. the image at every hop of one
    chain) over ``loader``: ``suites[i]`` scores output i; the metrics of each output plus
    ``n_images`` and, under :data:`~semjscc.evaluation.results.IMAGES`, the per-image
    scores ({metric: (N,) tensor}), in output order."""
    generator = torch.Generator(device=device).manual_seed(seed)
    n_images = 0
    for batch in progress(loader, desc):
        x, labels = batch["image"].to(device), batch["label"].to(device)
        for x_hat, scoring in zip(system(x, generator), suites, strict=True):
            for suite in scoring:
                suite.update(x, x_hat, labels)
        n_images += x.shape[0]
    results: list[dict[str, Any]] = []
    for scoring in suites:
        out: dict[str, Any] = {"n_images": n_images}
        images: dict[str, Tensor] = {}
        for suite in scoring:
            out.update(suite.compute())
            images.update(suite.per_image())
        results.append({**out, IMAGES: images} if images else out)
    return results


def df_system(model: JSCCModel, channel: Channel, hop_snrs_db: list[float],
              relay_clamp: bool = True) -> System:
    """The DF chain over ``len(hop_snrs_db) - 1`` relays, hop i at ``hop_snrs_db[i]``."""
    link = MultiHopDF(model, channel, relay_clamp=relay_clamp)
    return lambda x, g: link(x, hop_snrs_db, generator=g)["x_hat"]


def default_dhd(cfg: Config, explicit: str | Path | None) -> str | Path | None:
    """The DHD judging hash metrics: ``--dhd``, else ``dhd.checkpoint`` (the one the
    ``dhd`` loss term trains with); None means no hash metrics."""
    return explicit or cfg.dhd.checkpoint


def hop_snrs_for(cfg: Config, relays: int, snr_db: float | None) -> list[float]:
    """Per-hop SNRs of an evaluation: ``snr_db`` at every hop, or by default the trained
    per-hop list (which needs the trained number of relays when it differs per hop)."""
    if not cfg.link.shared_codec and relays != cfg.link.relays:
        raise ConfigError(f"the model has one pair per hop for {cfg.link.relays} relays and "
                          f"cannot serve {relays}; evaluate it at --relays {cfg.link.relays}")
    if snr_db is not None:
        return [snr_db] * (relays + 1)
    if isinstance(cfg.link.snr_db, (list, tuple)) and relays != cfg.link.relays:
        raise ConfigError(f"the model was trained with per-hop SNRs {cfg.link.snr_db} for "
                          f"{cfg.link.relays} relays; evaluating {relays} relays needs "
                          "--snr-db")
    return cfg.link.hop_snrs_db(relays)


def setting_columns(model: JSCCModel, cfg: Config, channel: Channel,
                    hop_snrs: list[float]) -> dict[str, Any]:
    """Result-row columns naming a DeepJSCC setting (method, channel, rate, SNR)."""
    size = cfg.data.image_size
    return {"method": method_label(cfg.train.loss), "snr_db": min(hop_snrs),
            "hop_snr_db": "/".join(f"{s:g}" for s in hop_snrs), **channel.describe(),
            "k": model.num_symbols(size, size), "realized_cr": float(model.bandwidth_ratio()),
            "shared_codec": cfg.link.shared_codec, "train_relays": cfg.link.relays,
            "train_snr_db": "/".join(f"{s:g}" for s in cfg.link.hop_snrs_db())}


@dataclass
class CheckpointEvaluation:
    """What evaluating a DeepJSCC checkpoint needs: the model and its config (with
    ``overrides``), its channel, the evaluation split's loader (``eval.split``, fixed order),
    the noise seed (``eval.seed`` unless given) and the hash judges (``judges``, else the
    DHD of :func:`default_dhd`, else none). A DHD trained on another dataset than the
    model is refused, one trained on other files of it warned about."""

    model: JSCCModel
    cfg: Config
    device: torch.device
    channel: Channel
    loader: Iterable[dict[str, Any]]
    seed: int
    judges: list[Judge]

    @classmethod
    def open(cls, path: str | Path, overrides: list[str] | None, device: str,
             seed: int | None, batch_size: int | None, dhd: str | Path | None,
             judges: list[Judge] | None) -> CheckpointEvaluation:
        dev = resolve_device(device)
        model, cfg = load(path, overrides, dev, kind="deepjscc")
        dhd_path = default_dhd(cfg, dhd) if judges is None else None
        if dhd_path:
            check_same_data((f"the DHD {dhd_path}", checkpoint_fingerprint(dhd_path, "dhd")),
                            (f"the model {path}", checkpoint_fingerprint(path, "deepjscc")))
        seed = cfg.eval.seed if seed is None else seed
        loader = make_loader(build_dataset(cfg.data, cfg.eval.split),
                             batch_size or cfg.train.eval_batch_size, shuffle=False, seed=seed,
                             num_workers=cfg.data.num_workers)
        if judges is None:
            judges = [hash_judge(dhd_path, cfg, dev)] if dhd_path else []
        return cls(model, cfg, dev, build_channel(cfg.link.channel), loader, seed, judges)


def evaluate_df_checkpoint(path: str | Path, snr_db: list[float] | None = None,
                           relays: list[int] | None = None, overrides: list[str] | None = None,
                           batch_size: int | None = None, device: str = "auto",
                           seed: int | None = None, dhd: str | Path | None = None,
                           judges: list[Judge] | None = None) -> list[dict[str, Any]]:
    """Result rows of a DeepJSCC checkpoint over relays × SNR on its evaluation split.

    Defaults: the trained relays and per-hop SNRs (or ``eval.relays``/``eval.snr_db``), the
    checkpoint's config with ``overrides`` applied (e.g. ``data.root``, ``link.channel``),
    ``eval.split``/``eval.seed``. Hash columns are added when a DHD is known (``dhd``, see
    :func:`default_dhd`) or ``judges`` are given.
    """
    s = CheckpointEvaluation.open(path, overrides, device, seed, batch_size, dhd, judges)
    model, cfg, dev, seed = s.model, s.cfg, s.device, s.seed
    channel, loader, judges = s.channel, s.loader, s.judges
    relays = relays or cfg.eval.relays or [cfg.link.relays]
    snrs: list[float | None] = list(snr_db or cfg.eval.snr_db) or [None]
    rows = []
    for r in relays:
        for snr in snrs:
            hop_snrs = hop_snrs_for(cfg, r, snr)
            metrics = evaluate_system(
                df_system(model, channel, hop_snrs, cfg.link.relay_clamp), loader,
                [image_suite(cfg, dev), *judge_suites(judges, dev)], dev, seed,
                desc=f"eval relays={r} snr={'/'.join(f'{s:g}' for s in hop_snrs)}dB")
            rows.append({**setting_columns(model, cfg, channel, hop_snrs), "protocol": "df",
                         "relays": r, **metrics, "seed": seed, "checkpoint": str(path)})
    return rows
