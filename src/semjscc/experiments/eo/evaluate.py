"""``experiment: eo-semloss``: the Earth-observation semantic-loss study (seed 001, "Toward a
Unified Semantic Loss Model for Deep JSCC-based Transmission of EO Imagery") end to end,
resumable.

Stages (each skipped when finished, resumed when interrupted):

1. prerequisites, the resolved config        -> OUT/reproduce.yaml (OUT/splits.json: EuroSAT)
2. the task classifier on clean images       -> OUT/task/
3. one DJSCC per channel × R (× SNR)          -> OUT/djscc/<channel>/cr<a>_<b>[_snr<s>]/
4. per condition (channel, R, SNR): the matched classifier (fine-tuned on reconstructions
   of the training split)                    -> OUT/matched/<channel>/cr<a>_<b>_snr<s>/
   and the evaluation of the test split      -> OUT/eval/djscc/..., OUT/eval/clean.json
5. separation baselines                       -> OUT/eval/separation/...
   all rows                                   -> OUT/results.csv (EO_COLUMNS), OUT/confusion.json
6. figures                                    -> OUT/*.png
7. semantic-loss fits, 8. allocation, 9. report (:mod:`.eo_report`) -> OUT/fit/,
   OUT/allocation.json, OUT/report.md

Task scores come from a confusion matrix of expected counts (:class:`ExpectedConfusion`): a
separation image whose capacity budget no codec file meets is a decoding failure, counted
1/C in every column of its true class's row (a uniform guess: expected accuracy 1/C) and
left out of the reconstruction metrics. Conditions share noise draws (``eval.seed``).
Our design where the paper is silent: the two protocols, SNR-adaptive models (optional), the
separation baselines and their scoring.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection

from ..baselines import available_codecs, codec_from_method, separation_system
from ..channels import build_channel
from ..config import Config, ConfigError, load_config, parse_ratio, save_config, to_dict
from ..data import build_dataset, make_loader, num_classes_of
from ..data.errors import DataError
from ..data.eurosat import split_manifest
from ..files import write_text
from ..metrics import LPIPSMetric, reconstruction_metrics
from ..metrics.lpips import LPIPS_MIN_SIZE
from ..models import JSCCModel, create_classifier, create_model, load
from ..plots.eo import draw_eo_figures
from ..registry import EXPERIMENTS
from ..semloss import FAMILIES, AllocationProblem
from .eo_report import allocation_stage, fit_stage, write_report
from .evaluate import Suite, df_system, evaluate_system, shared_lpips
from .executor import Executor, Unit, run_units
from .pipeline import flow_yaml, fresh, run_state
from .results import read_results, write_results
from .train_task import evaluate_task, train_task
from .units import PerProcess, TrainingRun, classifier_unit, djscc_units, evaluation_unit

log = logging.getLogger("semjscc.eo")

DJSCC_MODEL = "bourtsoulatze2019-djscc"
PROTOCOLS = ("mismatched", "matched")
TASK_SCORES = ("accuracy", "precision_w", "recall_w", "f1_w")
RECONSTRUCTION = ("psnr", "ssim", "ssim_gray", "ms_ssim", "lpips")
# The EO results schema: every results.csv has these columns in this order (empty cells: not
# applicable or not available), then any extra columns, sorted.
EO_COLUMNS = [
    "method", "channel", "equalization", "k_factor", "requested_cr", "realized_cr", "k",
    "snr_db", "train_snr_db", *RECONSTRUCTION,
    *[f"{s}_{p}" for p in PROTOCOLS for s in TASK_SCORES], *[f"{s}_clean" for s in TASK_SCORES],
    "n_images", "n_unreachable", "budget_bits", "used_bits", "seed", "checkpoint",
    "classifier_mismatched", "classifier_matched", "note",
]
SEPARATION_NOTE = ("an image whose budget no file meets is a decoding failure: scored as chance "
                   "for the task (expected accuracy 1/C) and left out of the reconstruction "
                   "metrics; the matched columns repeat the clean classifier (nothing to "
                   "fine-tune on per condition)")


# ----------------------------------------------------------------------------- the plan


def model_overrides(ratio: str) -> list[str]:
    """``--set`` overrides of the DJSCC for the requested ratio ``ratio`` (``"1/20"``)."""
    return [f"model.name={DJSCC_MODEL}", "model.num_features=null",
            f"model.bandwidth_ratio={ratio}"]


def djscc_for(ratio: str) -> JSCCModel:
    """An (untrained) DJSCC for ``ratio``: its realised ratio and k per image."""
    return create_model(load_config(None, model_overrides(ratio)).model)


def ratio_slug(ratio: str) -> str:
    """``"1/20"`` -> ``"cr1_20"`` (run-directory names)."""
    r = parse_ratio(ratio)
    return f"cr{r.numerator}_{r.denominator}"


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
        return f"{self.channel}, R = {self.ratio}, {snr}"


@dataclass(frozen=True)
class Condition:
    """One evaluated setting: a DJSCC run at one SNR."""

    run: DJSCCRun
    snr_db: float

    @property
    def name(self) -> str:
        """``<channel label>/cr<a>_<b>_snr<s>``."""
        return f"{self.run.channel}/{ratio_slug(self.run.ratio)}_snr{self.snr_db:g}"


@dataclass
class EOPlan:
    cfg: Config
    out: Path
    runs: list[DJSCCRun] = field(default_factory=list)

    @property
    def task_dir(self) -> Path:
        return self.out / "task"

    @property
    def task_checkpoint(self) -> Path:
        return self.task_dir / "best.pt"

    @property
    def conditions(self) -> list[Condition]:
        return [Condition(run, s) for run in self.runs for s in run.eval_snrs]

    def matched_dir(self, cond: Condition) -> Path:
        return self.out / "matched" / cond.name

    def matched_cfg(self) -> Config:
        """The config of the matched fine-tunes: the clean classifier as starting point."""
        return load_config(None, [f"task.checkpoint={self.task_checkpoint}"],
                           base=to_dict(self.cfg))


def make_plan(cfg: Config, out: Path) -> EOPlan:
    """Every DJSCC run of the sweep with its derived configuration (``model.name`` forced to
    the Bourtsoulatze DJSCC, one hop, the run's channel, ratio and SNR or SNR range)."""
    eo = cfg.eo
    lo, hi = eo.snr_adaptive_range or [min(eo.snr_db), max(eo.snr_db)]
    plan = EOPlan(cfg, out)
    for spec in eo.channels:
        label = build_channel(spec).label
        for ratio in eo.ratios:
            base = [*model_overrides(ratio), f"link.channel={flow_yaml(spec)}", "link.relays=0"]
            snrs: list[float | None] = [None] if eo.snr_adaptive else list(eo.snr_db)
            for snr in snrs:
                if snr is None:
                    sets = [f"train.snr_db_range=[{lo}, {hi}]", f"link.snr_db={(lo + hi) / 2}"]
                    name, evals = ratio_slug(ratio), tuple(eo.snr_db)
                else:
                    sets = ["train.snr_db_range=null", f"link.snr_db={snr}"]
                    name, evals = f"{ratio_slug(ratio)}_snr{snr:g}", (snr,)
                run_cfg = load_config(None, base + sets, base=to_dict(cfg))
                plan.runs.append(DJSCCRun(label, ratio, snr, evals, run_cfg,
                                          out / "djscc" / label / name))
    return plan


def metric_columns(cfg: Config) -> list[str]:
    """The metric columns a sweep fills: reconstruction, and task scores per protocol."""
    return [*RECONSTRUCTION, *[f"{s}_{p}" for p in cfg.eo.protocols for s in TASK_SCORES]]


def check_prerequisites(cfg: Config) -> None:
    """Refuse early, in one line, what would fail later: missing data, missing ImageNet
    weights of the classifier, multi-label data, unknown channels, ratios, protocols, codecs,
    fit metrics or families, and a malformed ``eo.users``."""
    eo = cfg.eo
    if not eo.ratios or not eo.snr_db or not eo.channels:
        raise ConfigError("eo.channels, eo.ratios and eo.snr_db must each list at least one "
                          "value")
    try:
        for split in ("train", "val", "test"):
            dataset = build_dataset(cfg.data, split)
    except DataError as exc:
        raise DataError(f"reproduce cannot start: {exc}") from None
    if dataset.multi_label:
        raise ConfigError(f"data.kind={cfg.data.kind} has multi-hot labels; the EO experiment "
                          "scores single-label classification (eurosat, synthetic-eo)")
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


# ---------------------------------------------------------------------------- scoring


def decoded(x_hat: Tensor) -> Tensor:
    """(B,) bool: images that were decoded, i.e. hold no NaN (a separation system with
    ``on_unreachable="nan"`` outputs NaN images for its decoding failures)."""
    return ~x_hat.isnan().flatten(1).any(1)


class ExpectedConfusion(Metric):
    """(C, C) expected counts, rows = true class, columns = predicted (top-1) class.

    ``update(preds, labels, failed)``: logits (B, C), one-hot labels (B, C), (B,) bool. A
    failed image (nothing decoded) adds 1/C to every column of its row, the expectation of a
    uniform guess; the others add 1 at (true, predicted)."""

    higher_is_better = None
    full_state_update = False
    counts: Tensor

    def __init__(self, num_classes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.add_state("counts", torch.zeros(num_classes, num_classes, dtype=torch.float64),
                       dist_reduce_fx="sum")

    def update(self, preds: Tensor, labels: Tensor, failed: Tensor) -> None:
        true = labels.argmax(1)
        ok = ~failed
        hits = torch.ones(int(ok.sum()), dtype=self.counts.dtype, device=self.counts.device)
        self.counts.index_put_((true[ok], preds[ok].argmax(1)), hits, accumulate=True)
        guess = torch.full((int(failed.sum()), self.num_classes), 1.0 / self.num_classes,
                           dtype=self.counts.dtype, device=self.counts.device)
        self.counts.index_add_(0, true[failed], guess)

    def compute(self) -> Tensor:
        return self.counts


def confusion_scores(counts: Tensor) -> dict[str, float]:
    """``accuracy``, ``precision_w``, ``recall_w``, ``f1_w`` of (C, C) counts (rows true,
    columns predicted): per-class scores averaged with weights = class support, as
    torchmetrics' ``average="weighted"`` (a class never predicted has precision 0)."""
    cm = counts.double()
    tp, support, predicted = cm.diag(), cm.sum(1), cm.sum(0)
    precision = (tp / predicted).nan_to_num(0.0)
    recall = (tp / support).nan_to_num(0.0)
    f1 = (2 * precision * recall / (precision + recall)).nan_to_num(0.0)
    weights = support / cm.sum()
    return {"accuracy": float(tp.sum() / cm.sum()),
            "precision_w": float((weights * precision).sum()),
            "recall_w": float((weights * recall).sum()), "f1_w": float((weights * f1).sum())}


@dataclass
class DecodedSuite(Suite):
    """A suite fed only the decoded images of each batch (see :func:`decoded`); with none
    decoded at all its metrics are empty cells."""

    seen: int = 0

    def update(self, x: Tensor, x_hat: Tensor, labels: Tensor) -> None:
        ok = decoded(x_hat)
        if ok.any():
            self.seen += int(ok.sum())
            super().update(x[ok], x_hat[ok], labels[ok])

    def compute(self) -> dict[str, Any]:
        return super().compute() if self.seen else {}


def reconstruction_suite(cfg: Config, device: torch.device) -> DecodedSuite:
    """PSNR, SSIM (RGB and grey), MS-SSIM and LPIPS (when the AlexNet file is there) on
    outputs clamped to [0, 1]."""
    metrics = reconstruction_metrics(cfg.data.image_size)
    if cfg.data.image_size >= LPIPS_MIN_SIZE:
        net = shared_lpips(cfg.eval.alexnet_weights, str(device))
        if net is not None:
            metrics.add_metrics({"lpips": LPIPSMetric(net)})
    return DecodedSuite(metrics.to(device),
                        lambda x, x_hat, labels: {"preds": x_hat.clamp(0, 1), "target": x})


def task_suite(classifier: nn.Module, num_classes: int, protocol: str,
               device: torch.device) -> Suite:
    """``confusion_<protocol>``: the expected confusion of ``classifier`` on the outputs
    (clamped to [0, 1]; failed images are scored as chance, whatever it predicts for them)."""
    metrics = MetricCollection({f"confusion_{protocol}": ExpectedConfusion(num_classes)})

    def inputs(x: Tensor, x_hat: Tensor, labels: Tensor) -> dict[str, Tensor]:
        return {"preds": classifier(x_hat.nan_to_num(0.5).clamp(0, 1)), "labels": labels,
                "failed": ~decoded(x_hat)}

    return Suite(metrics.to(device), inputs)


def scored(metrics: dict[str, Any], classifiers: dict[str, Path]) -> tuple[dict[str, Any],
                                                                           dict[str, list]]:
    """Result columns of ``evaluate_system``'s output: the confusion of each protocol turned
    into its scores (``<score>_<protocol>``) and the classifier used; and the matrices."""
    row = {k: v for k, v in metrics.items() if not k.startswith("confusion_")}
    matrices = {}
    for protocol, path in classifiers.items():
        counts = metrics[f"confusion_{protocol}"]
        row.update({f"{k}_{protocol}": v for k, v in confusion_scores(counts).items()})
        row[f"classifier_{protocol}"] = str(path)
        matrices[protocol] = counts.tolist()
    return row, matrices


# ------------------------------------------------------------------------- evaluation


def test_loader(cfg: Config) -> Any:
    """The evaluation split in a fixed order, batches of ``train.eval_batch_size``."""
    return make_loader(build_dataset(cfg.data, cfg.eval.split), cfg.train.eval_batch_size,
                       shuffle=False, seed=cfg.eval.seed, num_workers=cfg.data.num_workers)


def ratio_columns(model: JSCCModel, ratio: str, size: int) -> dict[str, Any]:
    return {"requested_cr": ratio, "realized_cr": float(model.bandwidth_ratio()),
            "k": model.num_symbols(size, size)}


def clean_result(plan: EOPlan, dev: torch.device) -> dict[str, Any]:
    """The clean classifier on clean test images (M_clean), cached in OUT/eval/clean.json."""
    cache = plan.out / "eval" / "clean.json"
    if fresh(cache, [plan.task_checkpoint]):
        return json.loads(cache.read_text())
    result = evaluate_task(plan.task_checkpoint, plan.cfg.eval.split, device=str(dev))
    write_text(cache, json.dumps(result, indent=1) + "\n")
    return result


def clean_columns(clean: dict[str, Any]) -> dict[str, Any]:
    return {f"{s}_clean": clean[s] for s in TASK_SCORES}


def evaluate_condition(plan: EOPlan, cond: Condition, classifiers: dict[str, Path],
                       clean: dict[str, Any], loader: Any, dev: torch.device,
                       ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The DJSCC of ``cond`` over its channel at its SNR on the test split, judged by every
    protocol's classifier: one result row and one confusion entry per protocol."""
    cfg = plan.cfg
    model, run_cfg = load(cond.run.checkpoint, device=dev, kind="deepjscc")
    channel = build_channel(run_cfg.link.channel)
    num_classes = num_classes_of(cfg.data)
    judges = {p: load(path, device=dev, kind="classifier")[0] for p, path in classifiers.items()}
    suites = [reconstruction_suite(cfg, dev),
              *[task_suite(net, num_classes, p, dev) for p, net in judges.items()]]
    metrics = evaluate_system(df_system(model, channel, [cond.snr_db]), loader,
                              suites, dev, cfg.eval.seed,
                              desc=f"eval {cond.run.channel} R={cond.run.ratio} "
                              f"{cond.snr_db:g} dB")
    row, matrices = scored(metrics, classifiers)
    setting = {"method": "djscc", **channel.describe(),
               **ratio_columns(model, cond.run.ratio, cfg.data.image_size),
               "snr_db": cond.snr_db}
    row.update({**setting, "train_snr_db": cond.run.train_snr, **clean_columns(clean),
                "seed": cfg.eval.seed, "checkpoint": str(cond.run.checkpoint)})
    return [row], [{**setting, "protocol": p, "classifier": str(classifiers[p]), "matrix": m}
                   for p, m in matrices.items()]


def separation_rows(plan: EOPlan, codec: str, spec: dict[str, Any], ratio: str,
                    clean: dict[str, Any], loader: Any, dev: torch.device,
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``codec`` at the capacity budget of the DJSCC's k channel uses at every SNR of the
    sweep over channel ``spec`` (over fading: each image's instantaneous capacity, a
    genie-aided bound), judged by the clean classifier for every protocol."""
    cfg = plan.cfg
    size = cfg.data.image_size
    model = djscc_for(ratio)
    channel = build_channel(spec)
    columns = {**channel.describe(), **ratio_columns(model, ratio, size)}
    if codec not in available_codecs():
        return [{**columns, "method": f"separation-{codec}", "snr_db": snr,
                 "note": f"{codec} encoder not available in this Pillow build"}
                for snr in cfg.eo.snr_db], []
    classifier = load(plan.task_checkpoint, device=dev, kind="classifier")[0]
    rows, confusions = [], []
    for snr in cfg.eo.snr_db:
        system = separation_system(codec, snr, columns["k"], on_unreachable="nan",
                                   channel=channel)
        metrics = evaluate_system(
            system, loader, [reconstruction_suite(cfg, dev),
                                       task_suite(classifier, num_classes_of(cfg.data),
                                                  "mismatched", dev)],
            dev, cfg.eval.seed, desc=f"separation {codec} {channel.label} R={ratio} {snr:g} dB")
        row, matrices = scored(metrics, {"mismatched": plan.task_checkpoint})
        if "matched" in cfg.eo.protocols:
            row.update({f"{s}_matched": row[f"{s}_mismatched"] for s in TASK_SCORES})
            row["classifier_matched"] = str(plan.task_checkpoint)
        fields = {k: v for k, v in system.row_fields().items() if k in EO_COLUMNS}
        note = "; ".join(filter(None, [fields.pop("note"), SEPARATION_NOTE]))
        rows.append({**row, **fields, **columns, "snr_db": snr, **clean_columns(clean),
                     "seed": cfg.eval.seed, "note": note})
        confusions.append({"method": system.method, **columns, "snr_db": snr,
                           "protocol": "mismatched", "classifier": str(plan.task_checkpoint),
                           "matrix": matrices["mismatched"], "note": SEPARATION_NOTE})
    return rows, confusions


def write_evaluation(cache: Path, evaluated: tuple[list[dict[str, Any]], list[dict[str, Any]]],
                     ) -> None:
    """Write the (rows, confusion entries) of an evaluation: rows to ``cache`` (a CSV of
    ``EO_COLUMNS``), confusions to its ``.json`` twin. The twin is written first, so a CSV on
    disk always has its confusions."""
    rows, confusions = evaluated
    write_text(cache.with_suffix(".json"), json.dumps(confusions) + "\n")
    write_results(rows, cache, EO_COLUMNS)


def read_evaluation(cache: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The (rows, confusion entries) that :func:`write_evaluation` wrote to ``cache``."""
    return read_results(cache), json.loads(cache.with_suffix(".json").read_text())


def train_matched(plan: EOPlan, cond: Condition, state: str, dev: torch.device) -> None:
    """Fine-tune the clean classifier on reconstructions of the training split through the
    DJSCC of ``cond`` at its SNR (the matched protocol), resuming when ``state`` is
    ``partial``."""
    model, run_cfg = load(cond.run.checkpoint, device=dev, kind="deepjscc")
    train_task(plan.matched_cfg(), plan.matched_dir(cond), resume=state == "partial",
               reconstruct=df_system(model, build_channel(run_cfg.link.channel), [cond.snr_db]))


# --------------------------------------------------------------------------- pipeline


def training_units(plan: EOPlan) -> list[Unit]:
    """The clean task classifier and every DJSCC of ``plan`` as executor units."""
    cfg = plan.cfg
    return [classifier_unit("task", f"[1/6] task classifier ({cfg.task.model}) on clean images",
                            cfg, plan.task_dir),
            *djscc_units(plan.runs, plan.out / "djscc", "[2/6]")]


def evaluation_units(plan: EOPlan, dev: torch.device) -> tuple[list[Unit], list[Path]]:
    """The clean classifier's test score, every condition's matched classifier (a
    fine-tune) and evaluation, and every separation baseline as executor units, each cached
    in OUT/eval/ (re-run when older than a model or classifier it reads); and the evaluation
    caches in results order. Each process renders the test split once."""
    cfg, eo = plan.cfg, plan.cfg.eo
    loader = PerProcess(lambda: test_loader(cfg))
    clean = plan.out / "eval" / "clean.json"
    units = [evaluation_unit("eval/clean", "[3/6] clean classifier on the test split", clean,
                             lambda: [plan.task_checkpoint], lambda: clean_result(plan, dev),
                             ("task",))]
    caches: list[Path] = []

    def add(key: str, label: str, cache: Path, sources: list[Path],
            evaluate: Callable[[dict[str, Any], Any], tuple[list[dict[str, Any]],
                                                            list[dict[str, Any]]]],
            needs: tuple[str, ...]) -> None:
        caches.append(cache)
        units.append(evaluation_unit(
            key, label, cache, lambda: sources,
            lambda: write_evaluation(cache, evaluate(clean_result(plan, dev), loader())),
            ("task", "eval/clean", *needs)))

    conditions = plan.conditions
    for i, cond in enumerate(conditions, start=1):
        trained = f"djscc/{cond.run.dir.relative_to(plan.out / 'djscc')}"
        label = f"[3/6] condition {i}/{len(conditions)} ({cond.name})"
        classifiers = {"mismatched": plan.task_checkpoint} if "mismatched" in eo.protocols else {}
        needs: tuple[str, ...] = (trained,)
        if "matched" in eo.protocols:
            run_dir = plan.matched_dir(cond)
            units.append(Unit(
                f"matched/{cond.name}", f"{label}: matched classifier",
                lambda state, cond=cond: train_matched(plan, cond, state, dev),
                lambda run_dir=run_dir: run_state(run_dir, cfg.task.finetune_epochs),
                needs=("task", trained)))
            classifiers["matched"] = run_dir / "best.pt"
            needs += (f"matched/{cond.name}",)
        add(f"eval/djscc/{cond.name}", f"{label}: evaluation",
            plan.out / "eval" / "djscc" / f"{cond.name}.csv",
            [cond.run.checkpoint, plan.task_checkpoint, *classifiers.values()],
            lambda clean, loader, cond=cond, classifiers=classifiers: evaluate_condition(
                plan, cond, classifiers, clean, loader, dev), needs)
    for codec in eo.separation:
        for spec in eo.channels:
            channel = build_channel(spec).label
            for ratio in eo.ratios:
                name = f"{channel}/{codec}_{ratio_slug(ratio)}"
                add(f"eval/separation/{name}", f"[4/6] separation {codec}, {channel}, R = {ratio}",
                    plan.out / "eval" / "separation" / f"{name}.csv", [plan.task_checkpoint],
                    lambda clean, loader, codec=codec, spec=spec, ratio=ratio: separation_rows(
                        plan, codec, spec, ratio, clean, loader, dev), ())
    return units, caches


@EXPERIMENTS.register("eo-semloss")
def reproduce_eo(cfg: Config, out: Path, dev: torch.device, started: float,
                 executor: Executor | None = None) -> Path:
    """The EO semantic-loss experiment (see the module docstring) with its trainings on
    ``executor`` (default: local); returns ``out``."""
    check_prerequisites(cfg)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "reproduce.yaml")
    if cfg.data.kind == "eurosat":
        write_text(out / "splits.json", json.dumps(split_manifest(cfg.data), indent=1) + "\n")
    plan = make_plan(cfg, out)
    eo = cfg.eo
    log.info("eo-semloss %s -> %s on %s: %d DJSCC models (%s), %d conditions, protocols %s, "
             "separation %s", cfg.name, out, dev, len(plan.runs),
             "SNR-adaptive" if eo.snr_adaptive else "one per SNR", len(plan.conditions),
             ",".join(eo.protocols) or "none", ",".join(eo.separation) or "none")

    evaluations, caches = evaluation_units(plan, dev)
    if run_units(training_units(plan) + evaluations, executor):
        return out
    clean = clean_result(plan, dev)
    rows: list[dict[str, Any]] = []
    confusions: list[dict[str, Any]] = []
    for cache in caches:
        got = read_evaluation(cache)
        rows += got[0]
        confusions += got[1]
    results = write_results(rows, out / "results.csv", EO_COLUMNS)
    write_text(out / "confusion.json", json.dumps({
        "class_names": clean["class_names"], "rows": "true class",
        "columns": "predicted class (top-1)", "scoring": SEPARATION_NOTE,
        "clean": {"classifier": str(plan.task_checkpoint), "matrix": clean["confusion_matrix"]},
        "conditions": confusions}, indent=1) + "\n")

    log.info("[5/6] figures, semantic-loss fits and allocation")
    rows = read_results(results)
    figures = draw_eo_figures(rows, out, eo.protocols)
    fits = fit_stage(cfg, rows, out / "fit")
    allocation = allocation_stage(cfg, out)
    log.info("[6/6] report")
    report = write_report(plan, rows, clean, fits, allocation, figures, dev,
                          time.perf_counter() - started)
    log.info("done: %s, %s, %s", results, out / "fit" / "fit.json", report)
    return out
