"""``experiment: importance``: DeepJSCC with semantic importance (seed 002, "Deep Joint
Source-Channel Coding for Wireless Image Transmission with Semantic Importance", Sun et al.)
end to end, resumable. The loss formulas are our design (:mod:`semjscc.losses.importance`).

Stages (each skipped when finished, resumed when interrupted):

1. prerequisites, the resolved config            -> OUT/reproduce.yaml
2. the task network T on clean images             -> OUT/task/ (the network of the losses)
3. the independent classifier on clean images     -> OUT/judges/independent/ (never in a loss)
4. one Bourtsoulatze DJSCC per method × R × train SNR
                                                  -> OUT/djscc/<method>/cr<a>_<b>_snr<s>/
5. every DJSCC at every test SNR, the separation baselines at every (R, test SNR)
                                                  -> OUT/eval/..., OUT/results.csv
6. figures and report (:mod:`.importance_report`) -> OUT/*.png, OUT/report.md

Rows hold PSNR/SSIM, L_sem (the default ``importance`` term on the test set) and the top-1
accuracy of T (``accuracy_task``) and of the independent classifier (``accuracy_indep``).
``served`` marks, per method × R × test SNR, the model whose train SNR is nearest the test
SNR (ties: the lower): the curves and tables use those rows. A separation image whose
capacity budget no codec file meets is a decoding failure: scored as chance (expected
accuracy 1/C) for both classifiers and left out of PSNR/SSIM and L_sem.
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
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.aggregation import MeanMetric

from ..baselines import available_codecs, codec_from_method, separation_system
from ..channels import build_channel
from ..config import Config, ConfigError, load_config, save_config, to_dict
from ..data import build_dataset, num_classes_of
from ..data.errors import DataError
from ..files import write_text
from ..losses import LossTerm, method_label, term_weights
from ..losses.importance import importance_term
from ..models import create_classifier, load
from ..plots.importance import draw_importance_figures
from ..registry import EXPERIMENTS, LOSSES
from .eo import (
    DecodedSuite,
    confusion_scores,
    djscc_for,
    model_overrides,
    ratio_columns,
    ratio_slug,
    reconstruction_suite,
    task_suite,
    test_loader,
)
from .evaluate import Suite, df_system, evaluate_system
from .executor import Executor, Unit, run_units
from .importance_report import write_report
from .pipeline import flow_yaml, fresh, method_slug
from .results import read_results, write_results
from .train_task import evaluate_task
from .units import PerProcess, TrainingRun, classifier_unit, djscc_units, evaluation_unit

log = logging.getLogger("semjscc.importance")

CLASSIFIERS = ("task", "indep")  # result-column suffixes: T, the independent classifier
RECONSTRUCTION = ("psnr", "ssim", "ssim_gray", "ms_ssim", "lpips")
# The results schema of the importance experiment (then any extra columns, sorted).
IMPORTANCE_COLUMNS = [
    "method", "loss", "channel", "equalization", "k_factor", "requested_cr", "realized_cr",
    "k", "snr_db", "train_snr_db", "served", *RECONSTRUCTION, "l_sem",
    "accuracy_task", "accuracy_indep", "accuracy_task_clean", "accuracy_indep_clean",
    "n_images", "n_unreachable", "budget_bits", "used_bits", "seed", "checkpoint",
    "task_classifier", "indep_classifier", "note",
]
FAILURE_NOTE = ("an image whose budget no file meets is a decoding failure: scored as chance "
                "for both classifiers (expected accuracy 1/C) and left out of PSNR, SSIM and "
                "L_sem")


# ----------------------------------------------------------------------------- the plan


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
        return f"{self.method}, R = {self.ratio}, {self.snr_db:g} dB"


def independent_config(cfg: Config) -> Config:
    """The independent classifier's config: ``importance.independent`` on top of ``cfg``."""
    return load_config(None, list(cfg.importance.independent), base=to_dict(cfg))


@dataclass
class ImportancePlan:
    cfg: Config
    out: Path
    runs: list[ImportanceRun] = field(default_factory=list)

    @property
    def task_dir(self) -> Path:
        return self.out / "task"

    @property
    def indep_dir(self) -> Path:
        return self.out / "judges" / "independent"

    @property
    def classifiers(self) -> dict[str, Path]:
        """Checkpoints of T (``task``) and of the independent classifier (``indep``)."""
        return {"task": self.task_dir / "best.pt", "indep": self.indep_dir / "best.pt"}

    def loss_cfg(self) -> Config:
        """The config the loss terms read: ``task.checkpoint`` = T."""
        return load_config(None, [f"task.checkpoint={self.classifiers['task']}"],
                           base=to_dict(self.cfg))


def make_plan(cfg: Config, out: Path) -> ImportancePlan:
    """Every DJSCC run with its derived configuration: the Bourtsoulatze DJSCC at the run's
    ratio, one hop over ``importance.channel`` at the train SNR, the method's loss with T as
    ``task.checkpoint``."""
    imp = cfg.importance
    plan = ImportancePlan(cfg, out)
    task = plan.classifiers["task"]
    for loss in imp.methods:
        method = method_label(loss)
        for ratio in imp.ratios:
            for snr in imp.train_snr_db:
                sets = [*model_overrides(ratio), f"link.channel={flow_yaml(imp.channel)}",
                        "link.relays=0", "train.snr_db_range=null", f"link.snr_db={snr}",
                        f"train.loss={flow_yaml(loss)}", f"task.checkpoint={task}"]
                plan.runs.append(ImportanceRun(
                    method, loss, ratio, float(snr), load_config(None, sets, base=to_dict(cfg)),
                    out / "djscc" / method_slug(method) / f"{ratio_slug(ratio)}_snr{snr:g}"))
    return plan


def check_prerequisites(cfg: Config) -> None:
    """Refuse early, in one line, what would fail later: missing data, multi-label data,
    empty grids, duplicate methods, unknown loss terms or options, layers T lacks, channels,
    ratios, codecs, and a bad independent-classifier config."""
    imp = cfg.importance
    if not imp.methods or not imp.ratios or not imp.train_snr_db or not imp.test_snr_db:
        raise ConfigError("importance.methods, ratios, train_snr_db and test_snr_db must each "
                          "list at least one value")
    labels = [method_label(loss) for loss in imp.methods]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"importance.methods: two methods share a label ({', '.join(labels)}); "
                          "each loss mapping must name a different set of terms")
    for loss in imp.methods:
        for name, (_, options) in term_weights(loss).items():
            LOSSES.check_options(name, options, f"importance.methods: {name}", positional=2)
    try:
        for split in ("train", "val", "test"):
            dataset = build_dataset(cfg.data, split)
    except DataError as exc:
        raise DataError(f"reproduce cannot start: {exc}") from None
    if dataset.multi_label:
        raise ConfigError(f"data.kind={cfg.data.kind} has multi-hot labels; the importance "
                          "experiment scores single-label classification")
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


# ---------------------------------------------------------------------------- scoring


def semantic_distortion_suite(term: LossTerm, device: torch.device) -> DecodedSuite:
    """``l_sem``: the image-weighted mean of ``term`` (x, clamp(x̂, 0, 1), labels) over the
    decoded images."""
    metrics = MetricCollection({"l_sem": MeanMetric()})

    def inputs(x: Tensor, x_hat: Tensor, labels: Tensor) -> dict[str, Tensor]:
        return {"value": term(x, x_hat.clamp(0, 1), labels), "weight": x.new_tensor(len(x))}

    return DecodedSuite(metrics.to(device), inputs)


@dataclass
class Scoring:
    """What every evaluation shares: T and the independent classifier (frozen), the L_sem
    term, clean accuracies, the test loader and the device."""

    plan: ImportancePlan
    judges: dict[str, torch.nn.Module]
    l_sem: LossTerm
    clean: dict[str, float]
    loader: Any
    device: torch.device

    def suites(self) -> list[Suite]:
        num_classes = num_classes_of(self.plan.cfg.data)
        return [reconstruction_suite(self.plan.cfg, self.device),
                semantic_distortion_suite(self.l_sem, self.device),
                *[task_suite(net, num_classes, name, self.device)
                  for name, net in self.judges.items()]]

    def columns(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """Result columns of ``evaluate_system``'s output: confusions turned into
        accuracies, the clean accuracies and the classifiers' checkpoints."""
        row = {k: v for k, v in metrics.items() if not k.startswith("confusion_")}
        for name in CLASSIFIERS:
            row[f"accuracy_{name}"] = confusion_scores(metrics[f"confusion_{name}"])["accuracy"]
            row[f"accuracy_{name}_clean"] = self.clean[name]
            row[f"{name}_classifier"] = str(self.plan.classifiers[name])
        return row


def make_scoring(plan: ImportancePlan, dev: torch.device) -> Scoring:
    clean = {}
    for name, path in plan.classifiers.items():
        cache = plan.out / "eval" / f"clean_{name}.json"
        if not fresh(cache, [path]):
            result = evaluate_task(path, plan.cfg.eval.split, device=str(dev))
            write_text(cache, json.dumps({"accuracy": result["accuracy"]}) + "\n")
        clean[name] = json.loads(cache.read_text())["accuracy"]
    judges = {n: load(p, device=dev, kind="classifier")[0] for n, p in plan.classifiers.items()}
    return Scoring(plan, judges, importance_term(plan.loss_cfg(), dev), clean,
                   test_loader(plan.cfg), dev)


def djscc_rows(run: ImportanceRun, scoring: Scoring) -> list[dict[str, Any]]:
    """The DJSCC of ``run`` over its channel at every test SNR on the test split."""
    cfg, dev = scoring.plan.cfg, scoring.device
    model, run_cfg = load(run.checkpoint, device=dev, kind="deepjscc")
    channel = build_channel(run_cfg.link.channel)
    rows = []
    for snr in cfg.importance.test_snr_db:
        metrics = evaluate_system(df_system(model, channel, [snr]), scoring.loader,
                                  scoring.suites(), dev, cfg.eval.seed,
                                  desc=f"eval {run.label} at {snr:g} dB")
        rows.append({**scoring.columns(metrics), "method": run.method,
                     "loss": flow_yaml(run.loss), **channel.describe(),
                     **ratio_columns(model, run.ratio, cfg.data.image_size), "snr_db": snr,
                     "train_snr_db": run.snr_db, "seed": cfg.eval.seed,
                     "checkpoint": str(run.checkpoint)})
    return rows


def separation_rows(codec: str, ratio: str, scoring: Scoring) -> list[dict[str, Any]]:
    """``codec`` at the capacity budget of the DJSCC's k channel uses at every test SNR
    (failures: see the module docstring)."""
    cfg, dev = scoring.plan.cfg, scoring.device
    model, channel = djscc_for(ratio), build_channel(cfg.importance.channel)
    columns = {**channel.describe(), **ratio_columns(model, ratio, cfg.data.image_size)}
    if codec not in available_codecs():
        return [{**columns, "method": f"separation-{codec}", "snr_db": snr,
                 "note": f"{codec} encoder not available in this Pillow build"}
                for snr in cfg.importance.test_snr_db]
    rows = []
    for snr in cfg.importance.test_snr_db:
        system = separation_system(codec, snr, columns["k"], on_unreachable="nan",
                                   channel=channel)
        metrics = evaluate_system(system, scoring.loader, scoring.suites(), dev, cfg.eval.seed,
                                  desc=f"separation {codec} R={ratio} {snr:g} dB")
        fields = {k: v for k, v in system.row_fields().items() if k in IMPORTANCE_COLUMNS}
        note = "; ".join(filter(None, [fields.pop("note"), FAILURE_NOTE]))
        rows.append({**scoring.columns(metrics), **fields, **columns, "snr_db": snr,
                     "seed": cfg.eval.seed, "note": note})
    return rows


def mark_served(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set ``served`` on DJSCC rows: true for the model whose train SNR is nearest the test
    SNR (ties: the lower) among its method × R; separation rows stay empty."""
    trained: dict[tuple[str, Any], set[float]] = {}
    for r in rows:
        if r.get("train_snr_db") is not None:
            trained.setdefault((r["method"], r["requested_cr"]), set()).add(r["train_snr_db"])
    for r in rows:
        if r.get("train_snr_db") is not None:
            snrs = trained[(r["method"], r["requested_cr"])]
            nearest = min(sorted(snrs), key=lambda s: abs(s - r["snr_db"]))
            r["served"] = r["train_snr_db"] == nearest
    return rows


# --------------------------------------------------------------------------- pipeline


def training_units(plan: ImportancePlan) -> list[Unit]:
    """T, the independent classifier and every DJSCC of ``plan`` as executor units (the
    DJSCCs need T: the importance losses use it)."""
    cfg, indep = plan.cfg, independent_config(plan.cfg)
    return [classifier_unit("task", f"[1/4] task network T ({cfg.task.model}) on clean images",
                            cfg, plan.task_dir),
            classifier_unit("independent", f"[1/4] independent classifier ({indep.task.model})"
                            " on clean images", indep, plan.indep_dir),
            *djscc_units(plan.runs, plan.out / "djscc", "[2/4]", needs=("task",))]


def evaluation_units(plan: ImportancePlan, dev: torch.device) -> tuple[list[Unit], list[Path]]:
    """The evaluation of every DJSCC at every test SNR and of every separation baseline as
    executor units, each cached in OUT/eval/ (re-run when older than its model or either
    classifier); and those caches in results order. Each process builds its scoring (clean
    accuracies, classifiers, importance term, test split) once."""
    cfg = plan.cfg
    judges = list(plan.classifiers.values())
    scoring = PerProcess(lambda: make_scoring(plan, dev))
    units: list[Unit] = []
    caches: list[Path] = []

    def add(key: str, label: str, sources: list[Path],
            rows: Callable[[Scoring], list[dict[str, Any]]], needs: tuple[str, ...]) -> None:
        cache = plan.out / "eval" / f"{key}.csv"
        caches.append(cache)
        units.append(evaluation_unit(
            f"eval/{key}", label, cache, lambda: [*sources, *judges],
            lambda: write_results(rows(scoring()), cache, IMPORTANCE_COLUMNS),
            ("task", "independent", *needs)))

    for i, run in enumerate(plan.runs, start=1):
        name = str(run.dir.relative_to(plan.out / "djscc"))
        add(f"djscc/{name}", f"[3/4] evaluating DJSCC {i}/{len(plan.runs)} ({run.label})",
            [run.checkpoint], lambda scoring, run=run: djscc_rows(run, scoring),
            (f"djscc/{name}",))
    for codec in cfg.importance.separation:
        for ratio in cfg.importance.ratios:
            add(f"separation/{codec}_{ratio_slug(ratio)}", f"[3/4] separation {codec}, R = {ratio}",
                [], lambda scoring, codec=codec, ratio=ratio: separation_rows(codec, ratio, scoring),
                ())
    return units, caches


@EXPERIMENTS.register("importance")
def reproduce_importance(cfg: Config, out: Path, dev: torch.device, started: float,
                         executor: Executor | None = None) -> Path:
    """The semantic-importance experiment (see the module docstring) with its trainings on
    ``executor`` (default: local); returns ``out``."""
    check_prerequisites(cfg)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "reproduce.yaml")
    plan = make_plan(cfg, out)
    imp = cfg.importance
    log.info("importance %s -> %s on %s: %d DJSCC models (%s × R %s × train SNR %s dB), test "
             "SNR %s dB, separation %s", cfg.name, out, dev, len(plan.runs),
             ", ".join(method_label(m) for m in imp.methods), ",".join(imp.ratios),
             ",".join(f"{s:g}" for s in imp.train_snr_db),
             ",".join(f"{s:g}" for s in imp.test_snr_db), ",".join(imp.separation) or "none")

    evaluations, caches = evaluation_units(plan, dev)
    if run_units(training_units(plan) + evaluations, executor):
        return out
    rows = [row for cache in caches for row in read_results(cache)]
    results = write_results(mark_served(rows), out / "results.csv", IMPORTANCE_COLUMNS)

    log.info("[4/4] figures and report")
    rows = read_results(results)
    figures = draw_importance_figures(rows, out)
    report = write_report(plan, rows, figures, dev, time.perf_counter() - started)
    log.info("done: %s, %s", results, report)
    return out
