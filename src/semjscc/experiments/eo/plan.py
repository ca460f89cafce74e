"""The plan of the Earth-observation study (``experiment: eo-semloss``): one DJSCC per
channel × R (× SNR), the conditions (channel, R, SNR) each evaluated and each with a matched
classifier, the results schema, and the checks made before anything runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...baselines import codec_from_method
from ...baselines.digital import check_digital
from ...channels import build_channel
from ...config import Config, ConfigError, derive
from ...data import num_classes_of
from ...evaluation.results import interval_columns
from ...models import create_classifier
from ...semloss import FAMILIES, AllocationProblem
from ..djscc import SingleHopPlan, check_single_label_data, djscc_for, djscc_model, ratio_slug
from ..units import (
    TrainingRun,
    check_distinct_names,
    check_distinct_ratios,
    check_distinct_values,
)
from .analysis import SNR_OFFSET_DB

PROTOCOLS = ("mismatched", "matched")
TASK_SCORES = ("accuracy", "precision_w", "recall_w", "f1_w")
RECONSTRUCTION = ("psnr", "ssim", "ssim_gray", "ms_ssim", "lpips")
# The metrics with 95 % intervals in results.csv, and the columns naming a setting (rows that
# differ only in their training seed are pooled in the report).
EO_HEADLINE = ["accuracy_mismatched", "accuracy_matched", "ssim", "psnr"]
EO_SETTING = ["method", "channel", "equalization", "k_factor", "requested_cr", "snr_db",
              "train_snr_db", "codec", "mcs", "link"]
# The EO results schema: every results.csv has these columns in this order (empty cells: not
# applicable or not available), then any extra columns, sorted.
EO_COLUMNS = [
    "method", "channel", "equalization", "k_factor", "requested_cr", "realized_cr", "k",
    "snr_db", "snr_db_authors", "train_snr_db", *RECONSTRUCTION,
    *[f"{s}_{p}" for p in PROTOCOLS for s in TASK_SCORES], *[f"{s}_clean" for s in TASK_SCORES],
    *interval_columns(EO_HEADLINE), "n_images", "n_unreachable", "budget_bits", "used_bits",
    "codec", "mcs", "mcs_index", "link", "tb_bits", "bler", "n_lost", "seed", "train_seed",
    "checkpoint",
    "classifier_mismatched", "classifier_matched", "note",
]


def snr_columns(snr_db: float) -> dict[str, float]:
    """``snr_db`` (ours, per complex symbol) and ``snr_db_authors``: the EO authors' nominal
    SNR of the same link, :data:`~.analysis.SNR_OFFSET_DB` below ours."""
    return {"snr_db": snr_db, "snr_db_authors": round(snr_db - SNR_OFFSET_DB, 2)}


SEPARATION_NOTE = ("an image whose budget no file meets is a decoding failure: scored as chance "
                   "for the task (expected accuracy 1/C) and left out of the reconstruction "
                   "metrics; the matched columns repeat the clean classifier (nothing to "
                   "fine-tune on per condition)")


@dataclass(frozen=True)
class DJSCCRun(TrainingRun):
    """One DJSCC of the sweep: a channel (``channel``: its label) × requested ratio, trained
    at ``snr_db`` or, when that is None, SNR-adaptively over ``cfg.train.snr_db_range``;
    evaluated at ``eval_snrs``."""

    channel: str
    ratio: str
    snr_db: float | None
    eval_snrs: tuple[float, ...]
    cfg: Config
    dir: Path

    @property
    def train_snr(self) -> str:
        """``"4"``, or ``"-8..12"`` for an SNR-adaptive model (U[lo, hi] dB)."""
        if self.snr_db is None:
            lo, hi = self.cfg.train.snr_db_range
            return f"{lo:g}..{hi:g}"
        return f"{self.snr_db:g}"

    @property
    def label(self) -> str:
        snr = "SNR-adaptive" if self.snr_db is None else f"{self.snr_db:g} dB"
        seed = f", seed {self.cfg.seed}" if self.seed_suffix else ""
        return f"{self.channel}, R = {self.ratio}, {snr}{seed}"


@dataclass(frozen=True)
class Condition:
    """One evaluated setting: a DJSCC run at one SNR."""

    run: DJSCCRun
    snr_db: float

    @property
    def name(self) -> str:
        """``<channel label>/cr<a>_<b>_snr<s>`` (then ``_seed<k>`` with several seeds)."""
        return (f"{self.run.channel}/{ratio_slug(self.run.ratio)}_snr{self.snr_db:g}"
                f"{self.run.seed_suffix}")


@dataclass
class EOPlan(SingleHopPlan):
    runs: list[DJSCCRun] = field(default_factory=list)

    @property
    def conditions(self) -> list[Condition]:
        return [Condition(run, s) for run in self.runs for s in run.eval_snrs]

    def matched_dir(self, cond: Condition) -> Path:
        return self.out / "matched" / cond.name

    def matched_cfg(self) -> Config:
        """The config of the matched fine-tunes: the clean classifier as starting point."""
        return derive(self.cfg, task={"checkpoint": str(self.task_checkpoint)})


def build_plan(cfg: Config, out: Path) -> EOPlan:
    """Every DJSCC run of the sweep with its derived configuration (``model.name`` forced to
    the Bourtsoulatze DJSCC, one hop, the run's channel, ratio and SNR or SNR range)."""
    eo = cfg.eo
    lo, hi = eo.snr_adaptive_range or [min(eo.snr_db), max(eo.snr_db)]
    plan = EOPlan(cfg, out)
    snrs: list[float | None] = [None] if eo.snr_adaptive else list(eo.snr_db)
    for seed, suffix in cfg.training_seeds():
        for spec in eo.channels:
            label = build_channel(spec).label
            for ratio in eo.ratios:
                for snr in snrs:
                    if snr is None:
                        name, evals = ratio_slug(ratio), tuple(eo.snr_db)
                    else:
                        name, evals = f"{ratio_slug(ratio)}_snr{snr:g}", (snr,)
                    run_cfg = derive(
                        cfg, seed=seed, model=djscc_model(ratio),
                        link={"channel": spec, "relays": 0,
                              "snr_db": (lo + hi) / 2 if snr is None else snr},
                        train={"snr_db_range": [lo, hi] if snr is None else None})
                    plan.runs.append(DJSCCRun(label, ratio, snr, evals, run_cfg,
                                              out / "djscc" / label / (name + suffix)))
    return plan


def metric_columns(cfg: Config) -> list[str]:
    """The metric columns a sweep fills: reconstruction, and task scores per protocol."""
    return [*RECONSTRUCTION, *[f"{s}_{p}" for p in cfg.eo.protocols for s in TASK_SCORES]]


def check_prerequisites(cfg: Config) -> None:
    """Refuse early, in one line, what would fail later: missing data, missing ImageNet
    weights of the classifier, multi-label data, unknown channels, ratios, protocols, codecs,
    fit metrics or families, a malformed ``eo.users``, and sweep values naming one unit twice
    (ratios ``2/12`` and ``1/6``, SNRs within the tolerance)."""
    eo = cfg.eo
    if not eo.ratios or not eo.snr_db or not eo.channels:
        raise ConfigError("eo.channels, eo.ratios and eo.snr_db must each list at least one "
                          "value")
    check_distinct_ratios("eo.ratios", eo.ratios)
    check_distinct_values("eo.snr_db", eo.snr_db)
    check_distinct_names("eo.channels", [build_channel(spec).label for spec in eo.channels])
    check_single_label_data(cfg, "EO")
    if cfg.task.pretrained.lower() != "none":
        create_classifier(cfg.task, num_classes_of(cfg.data), image_size=cfg.data.image_size)
    for spec in eo.channels:
        build_channel(spec)
    for ratio in eo.ratios:
        djscc_for(ratio)
    unknown = [p for p in eo.protocols if p not in PROTOCOLS]
    if unknown:
        raise ConfigError(f"eo.protocols: unknown protocol {unknown[0]!r}; choose from "
                          f"{', '.join(PROTOCOLS)}")
    for codec in eo.separation:
        codec_from_method(codec)
    size = cfg.data.image_size
    for spec in eo.channels:
        check_digital(cfg.digital, [djscc_for(r).num_symbols(size, size) for r in eo.ratios],
                      build_channel(spec))
    metrics = metric_columns(cfg)
    bad = [m for m in eo.fit_metrics if m not in metrics]
    if bad:
        raise ConfigError(f"eo.fit_metrics: {bad[0]!r} is not a metric of this sweep; choose "
                          f"from {', '.join(metrics)}")
    bad = [f for f in eo.fit_families if f not in FAMILIES]
    if bad:
        raise ConfigError(f"eo.fit_families: unknown family {bad[0]!r}; choose from "
                          f"{', '.join(FAMILIES)}")
    if eo.users:
        AllocationProblem.from_dict(eo.users, "eo.users")
