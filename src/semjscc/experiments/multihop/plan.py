"""The plan of the core multi-hop experiment (``experiment: multihop-dhd``): the DHD, the
independent judges and every DeepJSCC training run of the sweep, each with its derived
config; the checks made before anything runs, and the run-time estimate."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ...baselines import SEPARATION_CODECS
from ...baselines.digital import check_digital
from ...channels import build_channel
from ...config import Config, ConfigError, derive, with_overrides
from ...data import build_dataset, num_classes_of
from ...data.errors import DataError
from ...device import memory_format
from ...evaluation.evaluate import shared_lpips
from ...losses import method_label
from ...models import create_dhd, create_model
from ...models.pretrained import resolve_weights
from ...training.bench import bench_model
from ..units import (
    TrainingRun,
    check_distinct_names,
    check_distinct_values,
    method_slug,
)

# The columns naming a setting of the results (rows that differ only in their training seed
# are pooled in the report).
SETTING = ["method", "protocol", "channel", "equalization", "k_factor", "relays",
           "shared_codec", "snr_db", "hop_snr_db", "n_q", "bits", "codec", "mcs",
           "train_relays", "train_snr_db"]


@dataclass
class DFRun(TrainingRun):
    """One DeepJSCC model of the sweep (or, with method ``base``, the shared base that the
    methods' r = 0 models fine-tune)."""

    method: str  # the label derived from the loss terms, e.g. mse+dhd
    loss: dict[str, Any]
    relays: int
    snr_db: float | None  # None: SNR-adaptive over the sweep's range
    cfg: Config
    dir: Path

    @property
    def eval_snrs(self) -> list[float]:
        return self.cfg.sweep.snr_db if self.snr_db is None else [self.snr_db]

    @property
    def shared(self) -> bool:
        return self.cfg.link.shared_codec

    @property
    def label(self) -> str:
        snr = "SNR-adaptive" if self.snr_db is None else f"{self.snr_db:g} dB"
        pairs = "" if self.shared else ", one pair per hop"
        seed = f", seed {self.cfg.seed}" if self.seed_suffix else ""
        return f"{self.method}, r = {self.relays}, {snr}{pairs}{seed}"


@dataclass
class JudgeRun(TrainingRun):
    """An independent judge of the reproduction: a DHD or a classifier, never trained on."""

    name: str  # dhd_indep, dhd_xarch, task
    suffix: str  # of its result columns
    cfg: Config
    dir: Path

    @property
    def label(self) -> str:
        return f"judge {self.name}"

    @property
    def is_dhd(self) -> bool:
        return self.name.startswith("dhd")

    @property
    def epochs(self) -> int:
        return self.cfg.dhd.epochs if self.is_dhd else self.cfg.task.epochs


@dataclass
class Plan:
    cfg: Config
    out: Path
    dhd_dir: Path
    df_runs: list[DFRun] = field(default_factory=list)
    bases: list[DFRun] = field(default_factory=list)  # trained, never evaluated
    judges: list[JudgeRun] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # methods left out, with the reason

    @property
    def dhd_checkpoint(self) -> Path:
        return self.dhd_dir / "best.pt"


def judge_runs(cfg: Config, out: Path) -> list[JudgeRun]:
    """The independent judges ``cfg.judges`` asks for."""
    j = cfg.judges
    epochs = {} if j.dhd_epochs is None else {"epochs": j.dhd_epochs}
    runs = []
    if j.dhd_seed is not None:
        runs.append(JudgeRun("dhd_indep", "_indep", derive(cfg, seed=j.dhd_seed, dhd=epochs),
                             out / "judges" / "dhd_indep"))
    if j.dhd_backbone is not None:
        dhd = {"backbone": j.dhd_backbone, "width": j.dhd_width,
               "pretrained": j.dhd_pretrained, **epochs}
        runs.append(JudgeRun("dhd_xarch", "_xarch", derive(cfg, dhd=dhd),
                             out / "judges" / "dhd_xarch"))
    if j.classifier:
        runs.append(JudgeRun("task", "", cfg, out / "judges" / "task"))
    return runs


def build_plan(cfg: Config, out: Path, lpips_usable: bool = True) -> Plan:
    """Every training run of the sweep with its derived configuration; methods with an
    ``lpips`` term are left out (and listed) when ``lpips_usable`` is false."""
    sweep = cfg.sweep
    if 0 not in sweep.relays:
        raise ConfigError("sweep.relays must include 0 (QF and warm starts use the r = 0 models)")
    plan = Plan(cfg, out, out / "dhd", judges=judge_runs(cfg, out))
    snrs: list[float | None] = [None] if sweep.snr_adaptive else list(sweep.snr_db)
    lo, hi = sweep.snr_adaptive_range or [min(sweep.snr_db), max(sweep.snr_db)]
    grid = [(r, True) for r in sorted(sweep.relays)] + [(r, False) for r in sweep.per_hop_codecs]

    def run(method: str, loss: dict[str, Any], r: int, snr: float | None, shared: bool,
            init_from: Path | None, extra: list[str], seed: int, suffix: str) -> DFRun:
        name = ((f"r{r}" if snr is None else f"r{r}_snr{snr:g}") + ("" if shared else "_perhop")
                + suffix)
        adaptive = snr is None
        run_cfg = derive(
            cfg, seed=seed, link={"relays": r, "shared_codec": shared,
                                  "snr_db": (lo + hi) / 2 if adaptive else snr},
            train={"loss": loss, "snr_db_range": [lo, hi] if adaptive else None,
                   **({} if init_from is None else {"init_from": str(init_from)})},
            dhd={"checkpoint": str(plan.dhd_checkpoint)})
        return DFRun(method, loss, r, snr, with_overrides(run_cfg, extra),
                     out / "df" / method_slug(method) / name)

    methods = []
    for loss in sweep.methods:
        if "lpips" in loss and not lpips_usable:
            plan.dropped.append(f"`{method_label(loss)}` (LPIPS unavailable: no ImageNet "
                                "AlexNet weights)")
        else:
            methods.append((method_label(loss), loss))
    for seed, suffix in cfg.training_seeds():
        bases = [run("base", {"mse": 1.0}, 0, snr, True, None, sweep.base_set, seed, suffix)
                 for snr in snrs] if sweep.base_set else []
        plan.bases += bases
        for method, loss in methods:
            for snr in snrs:
                start = {b.snr_db: b.checkpoint for b in bases}.get(snr)
                for r, shared in grid:
                    init_from, extra = None, []
                    if sweep.warm_start and r > 0:
                        r0 = out / "df" / method_slug(method) / (
                            ("r0" if snr is None else f"r0_snr{snr:g}") + suffix)
                        init_from, extra = r0 / "best.pt", sweep.warm_start_set
                    elif start is not None and r == 0 and shared:
                        init_from, extra = start, sweep.base_finetune_set
                    plan.df_runs.append(run(method, loss, r, snr, shared, init_from, extra,
                                            seed, suffix))
    return plan


def check_prerequisites(cfg: Config, lpips_required: bool) -> bool:
    """Refuse early (one clear line) when data or required weights are missing or a sweep
    value repeats a unit (e.g. SNRs 5 and 5.000001), and say
    whether LPIPS is usable. Without the ImageNet AlexNet, LPIPS is required for real data
    (the paper's headline metric) and optional (one warning, empty column, no LPIPS-trained
    method) for the synthetic presets."""
    sweep = cfg.sweep
    check_distinct_values("sweep.snr_db", sweep.snr_db)
    check_distinct_names("sweep.relays", sweep.relays)
    check_distinct_names("sweep.per_hop_codecs", sweep.per_hop_codecs)
    check_distinct_names("sweep.methods", [method_label(loss) for loss in sweep.methods])
    unknown = [c for c in sweep.separation if c not in SEPARATION_CODECS]
    if unknown:
        raise ConfigError(f"sweep.separation: unknown codec {unknown[0]!r}; choose from "
                          f"{', '.join(SEPARATION_CODECS)}")
    size = cfg.data.image_size
    check_digital(cfg.digital, [create_model(cfg.model).num_symbols(size, size)],
                  build_channel(cfg.link.channel))
    try:
        for split in ("train", "test", "db"):
            build_dataset(cfg.data, split)
    except DataError as exc:
        raise DataError(f"reproduce cannot start: {exc}") from None
    for backbone, weights in ((cfg.dhd.backbone, cfg.dhd.pretrained),
                              (cfg.judges.dhd_backbone, cfg.judges.dhd_pretrained)):
        if backbone is not None and weights.lower() != "none":
            resolve_weights(backbone, weights)
    if cfg.eval.alexnet_weights.lower() == "none":
        return False
    if lpips_required:
        resolve_weights("alexnet", cfg.eval.alexnet_weights)
        return True
    return shared_lpips(cfg.eval.alexnet_weights, "cpu") is not None  # warns once if not


def estimate_seconds(plan: Plan, device: torch.device) -> dict[str, float]:
    """Run-time estimate from a short measurement of this machine's step times."""
    cfg = plan.cfg
    size = cfg.data.image_size
    small = device.type == "cuda" or size <= 64  # big CPU batches would take minutes to time
    batch = cfg.train.batch_size_for(0) if small else 1
    hop = bench_model("estimate", cfg.model, size, batch, device, repeats=2, train=cfg.train)
    t_hop = 1.0 / hop.train_images_per_s  # one hop forward+backward per image
    fmt = memory_format(cfg.train.channels_last)
    dhd = create_dhd(cfg.dhd, num_classes_of(cfg.data), pretrained=False).to(
        device, memory_format=fmt)
    dhd_batch = cfg.dhd.batch_size if small else 1
    x = torch.rand(dhd_batch, 3, size, size, device=device).contiguous(memory_format=fmt)
    dhd(x).sum().backward()  # warm-up
    start = time.perf_counter()
    for _ in range(2):
        dhd(x).sum().backward()
    t_dhd = (time.perf_counter() - start) / (2 * dhd_batch)
    n_train = len(build_dataset(cfg.data, "train"))
    dhd_s = cfg.dhd.epochs * n_train * 2 * t_dhd
    df_s = 0.0
    for run in plan.bases + plan.df_runs:
        images = run.cfg.train.epochs * min(run.cfg.train.epoch_images or n_train, n_train)
        per_image = (run.relays + 1) * t_hop + (2 * t_dhd if "dhd" in run.loss else 0)
        df_s += images * per_image
    return {"dhd": dhd_s, "df": df_s, "total": dhd_s + df_s}
