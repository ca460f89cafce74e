"""The plan of the semantic-importance experiment (``experiment: importance``): one
Bourtsoulatze DJSCC per method × R × train SNR, the task network T of the losses and the
independent classifier, the results schema, and the checks made before anything runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...baselines import codec_from_method
from ...baselines.digital import check_digital
from ...channels import build_channel
from ...config import Config, ConfigError, derive, with_overrides
from ...data import num_classes_of
from ...evaluation.results import interval_columns
from ...losses import method_label, term_weights
from ...models import create_classifier
from ...registry import LOSSES
from ..djscc import SingleHopPlan, check_single_label_data, djscc_for, djscc_model, ratio_slug
from ..units import TrainingRun, check_distinct_ratios, check_distinct_values, method_slug

CLASSIFIERS = ("task", "indep")  # result-column suffixes: T, the independent classifier
RECONSTRUCTION = ("psnr", "ssim", "ssim_gray", "ms_ssim", "lpips")
# The metrics with 95 % intervals in results.csv, and the columns naming a setting (rows that
# differ only in their training seed are pooled in the report).
IMPORTANCE_HEADLINE = ["accuracy_task", "accuracy_indep", "psnr", "ssim"]
IMPORTANCE_SETTING = ["method", "channel", "equalization", "k_factor", "requested_cr",
                      "snr_db", "train_snr_db", "codec", "mcs", "link"]
# The results schema of the importance experiment (then any extra columns, sorted).
IMPORTANCE_COLUMNS = [
    "method", "loss", "channel", "equalization", "k_factor", "requested_cr", "realized_cr",
    "k", "snr_db", "train_snr_db", "served", *RECONSTRUCTION, "l_sem",
    "accuracy_task", "accuracy_indep", "accuracy_task_clean", "accuracy_indep_clean",
    *interval_columns(IMPORTANCE_HEADLINE), "n_images", "n_unreachable", "codec", "mcs",
    "mcs_index", "link", "tb_bits", "bler", "n_lost", "budget_bits", "used_bits", "seed",
    "train_seed", "checkpoint",
    "task_classifier", "indep_classifier", "note",
]
FAILURE_NOTE = ("an image whose budget no file meets is a decoding failure: scored as chance "
                "for both classifiers (expected accuracy 1/C) and left out of PSNR, SSIM and "
                "L_sem")


@dataclass(frozen=True)
class ImportanceRun(TrainingRun):
    """One DJSCC of the sweep: a method (its loss mapping) × requested ratio × train SNR."""

    method: str
    loss: dict[str, Any]
    ratio: str
    snr_db: float
    cfg: Config
    dir: Path

    @property
    def label(self) -> str:
        seed = f", seed {self.cfg.seed}" if self.seed_suffix else ""
        return f"{self.method}, R = {self.ratio}, {self.snr_db:g} dB{seed}"


def independent_config(cfg: Config) -> Config:
    """The independent classifier's config: ``importance.independent`` on top of ``cfg``."""
    return with_overrides(cfg, cfg.importance.independent)


@dataclass
class ImportancePlan(SingleHopPlan):
    runs: list[ImportanceRun] = field(default_factory=list)
    bases: list[ImportanceRun] = field(default_factory=list)  # trained, never evaluated

    @property
    def indep_dir(self) -> Path:
        return self.out / "judges" / "independent"

    @property
    def classifiers(self) -> dict[str, Path]:
        """Checkpoints of T (``task``) and of the independent classifier (``indep``)."""
        return {"task": self.task_checkpoint, "indep": self.indep_dir / "best.pt"}

    def loss_cfg(self) -> Config:
        """The config the loss terms read: ``task.checkpoint`` = T."""
        return derive(self.cfg, task={"checkpoint": str(self.classifiers["task"])})


def build_plan(cfg: Config, out: Path) -> ImportancePlan:
    """Every DJSCC run with its derived configuration: the Bourtsoulatze DJSCC at the run's
    ratio, one hop over ``importance.channel`` at the train SNR, the method's loss with T as
    ``task.checkpoint``. With ``sweep.base_set``, one MSE model per ratio × train SNR × seed
    (the shared base, trained with those overrides) is the start of every method's model,
    which then trains with ``sweep.base_finetune_set``: the same start and budget for all."""
    imp, sweep = cfg.importance, cfg.sweep
    plan = ImportancePlan(cfg, out)
    task = plan.classifiers["task"]

    def run(method: str, loss: dict[str, Any], ratio: str, snr: float, seed: int,
            suffix: str, extra: list[str], init_from: Path | None) -> ImportanceRun:
        start = {} if init_from is None else {"init_from": str(init_from)}
        run_cfg = derive(cfg, seed=seed, model=djscc_model(ratio),
                         link={"channel": imp.channel, "relays": 0, "snr_db": snr},
                         train={"snr_db_range": None, "loss": loss, **start},
                         task={"checkpoint": str(task)})
        return ImportanceRun(method, loss, ratio, float(snr), with_overrides(run_cfg, extra),
                             out / "djscc" / method_slug(method)
                             / f"{ratio_slug(ratio)}_snr{snr:g}{suffix}")

    for seed, suffix in cfg.training_seeds():
        bases = {(ratio, snr): run("base", {"mse": 1.0}, ratio, snr, seed, suffix,
                                   sweep.base_set, None)
                 for ratio in imp.ratios for snr in imp.train_snr_db} if sweep.base_set else {}
        plan.bases += bases.values()
        for loss in imp.methods:
            for ratio in imp.ratios:
                for snr in imp.train_snr_db:
                    base = bases.get((ratio, snr))
                    plan.runs.append(run(
                        method_label(loss), loss, ratio, snr, seed, suffix,
                        sweep.base_finetune_set if base else [],
                        base.checkpoint if base else None))
    return plan


def check_prerequisites(cfg: Config) -> None:
    """Refuse early, in one line, what would fail later: missing data, multi-label data,
    empty grids, duplicate methods, ratios or SNRs (one unit listed twice), unknown loss
    terms or options, layers T lacks, channels, ratios, codecs, and a bad
    independent-classifier config."""
    imp = cfg.importance
    if not imp.methods or not imp.ratios or not imp.train_snr_db or not imp.test_snr_db:
        raise ConfigError("importance.methods, ratios, train_snr_db and test_snr_db must each "
                          "list at least one value")
    labels = [method_label(loss) for loss in imp.methods]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"importance.methods: two methods share a label ({', '.join(labels)}); "
                          "each loss mapping must name a different set of terms")
    check_distinct_ratios("importance.ratios", imp.ratios)
    check_distinct_values("importance.train_snr_db", imp.train_snr_db)
    check_distinct_values("importance.test_snr_db", imp.test_snr_db)
    for loss in imp.methods:
        for name, (_, options) in term_weights(loss).items():
            LOSSES.check_options(name, options, f"importance.methods: {name}", positional=2)
    check_single_label_data(cfg, "importance")
    num_classes = num_classes_of(cfg.data)
    network = create_classifier(cfg.task, num_classes, image_size=cfg.data.image_size)
    modules = dict(network.net.named_modules())
    unknown = [n for n in imp.layers + imp.multilayer_layers if n not in modules]
    if unknown:
        raise ConfigError(f"importance.layers: {cfg.task.model} has no layer {unknown[0]!r}; "
                          f"choose from {', '.join(network.feature_layers())}")
    create_classifier(independent_config(cfg).task, num_classes, image_size=cfg.data.image_size)
    build_channel(imp.channel)
    for ratio in imp.ratios:
        djscc_for(ratio)
    for codec in imp.separation:
        codec_from_method(codec)
    size = cfg.data.image_size
    check_digital(cfg.digital, [djscc_for(r).num_symbols(size, size) for r in imp.ratios],
                  build_channel(imp.channel))
