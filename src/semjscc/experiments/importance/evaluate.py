"""The units of the semantic-importance experiment: T, the independent classifier, every
DJSCC, and the evaluation of every DJSCC at every test SNR and of every separation baseline,
each cached in OUT/eval/.

Rows hold PSNR/SSIM, L_sem (the default ``importance`` term on the test set) and the top-1
accuracy of T (``accuracy_task``) and of the independent classifier (``accuracy_indep``).
``served`` marks, per method × R × test SNR, the model whose train SNR is nearest the test
SNR (ties: the lower): the curves and tables use those rows. A separation image whose
capacity budget no codec file meets is a decoding failure: scored as chance (expected
accuracy 1/C) for both classifiers and left out of PSNR/SSIM and L_sem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.aggregation import MeanMetric

from ...baselines import available_codecs, separation_system
from ...baselines.digital import DIGITAL_NOTE, DigitalSystem
from ...channels import build_channel
from ...config import inline_yaml
from ...data import num_classes_of
from ...evaluation.evaluate import Suite, df_system, evaluate_system
from ...evaluation.suites import DecodedSuite, reconstruction_suite, task_suite
from ...evaluation.task import evaluate_task
from ...files import write_text
from ...losses import LossTerm
from ...losses.importance import importance_term
from ...metrics import confusion_scores
from ...models import load
from ...parsing import read_json
from ..djscc import djscc_for, ratio_columns, ratio_slug, test_loader
from ..executor import Unit
from ..units import CachedEvaluations, PerProcess, classifier_unit, djscc_units, fresh
from .plan import (
    CLASSIFIERS,
    FAILURE_NOTE,
    IMPORTANCE_COLUMNS,
    ImportancePlan,
    ImportanceRun,
    independent_config,
)


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
        clean[name] = read_json(cache, "evaluation cache")["accuracy"]
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
                     "loss": inline_yaml(run.loss), **channel.describe(),
                     **ratio_columns(model, run.ratio, cfg.data.image_size), "snr_db": snr,
                     "train_snr_db": run.snr_db, "seed": cfg.eval.seed,
                     "train_seed": run_cfg.seed, "checkpoint": str(run.checkpoint)})
    return rows


def _baseline_columns(ratio: str, scoring: Scoring) -> tuple[Any, dict[str, Any]]:
    """The test channel and the setting columns of a baseline at the DJSCC's ratio ``ratio``."""
    cfg = scoring.plan.cfg
    channel = build_channel(cfg.importance.channel)
    return channel, {**channel.describe(),
                     **ratio_columns(djscc_for(ratio), ratio, cfg.data.image_size)}


def _baseline_rows(systems: list[tuple[float, Any, str]], columns: dict[str, Any],
                   scoring: Scoring, note: str) -> list[dict[str, Any]]:
    """One row per baseline system ((test SNR, system with ``row_fields()``, progress
    text) each): the scores, the system's fields and ``note`` after any note of its own."""
    cfg = scoring.plan.cfg
    rows = []
    for snr, system, desc in systems:
        metrics = evaluate_system(system, scoring.loader, scoring.suites(), scoring.device,
                                  cfg.eval.seed, desc=desc)
        fields = {k: v for k, v in system.row_fields().items() if k in IMPORTANCE_COLUMNS}
        row_note = "; ".join(filter(None, [fields.pop("note", None), note]))
        rows.append({**scoring.columns(metrics), **fields, **columns, "snr_db": snr,
                     "seed": cfg.eval.seed, "note": row_note})
    return rows


def separation_rows(codec: str, ratio: str, scoring: Scoring) -> list[dict[str, Any]]:
    """``codec`` at the capacity budget of the DJSCC's k channel uses at every test SNR
    (failures: see the module docstring)."""
    snrs = scoring.plan.cfg.importance.test_snr_db
    channel, columns = _baseline_columns(ratio, scoring)
    if codec not in available_codecs():
        return [{**columns, "method": f"separation-{codec}", "snr_db": snr,
                 "note": f"{codec} encoder not available in this Pillow build"}
                for snr in snrs]
    systems = [(snr, separation_system(codec, snr, columns["k"], on_unreachable="nan",
                                       channel=channel),
                f"separation {codec} R={ratio} {snr:g} dB") for snr in snrs]
    return _baseline_rows(systems, columns, scoring, FAILURE_NOTE)


def digital_rows(codec: str, ratio: str, scoring: Scoring) -> list[dict[str, Any]]:
    """The digital chain (``codec`` + TB + QAM, every ``digital.mcs``) over the DJSCC's k
    channel uses at every test SNR; a lost image is received as mid-gray."""
    cfg = scoring.plan.cfg
    channel, columns = _baseline_columns(ratio, scoring)
    systems = [(snr, DigitalSystem(codec, mcs, snr, columns["k"], channel,
                                   link=cfg.digital.link),
                f"digital {codec} MCS {mcs} R={ratio} {snr:g} dB")
               for mcs in cfg.digital.mcs for snr in cfg.importance.test_snr_db]
    return _baseline_rows(systems, columns, scoring, DIGITAL_NOTE)


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


def training_units(plan: ImportancePlan) -> list[Unit]:
    """T, the independent classifier and every DJSCC of ``plan`` as executor units, the
    shared bases first (the DJSCCs need T: the importance losses use it)."""
    cfg, indep = plan.cfg, independent_config(plan.cfg)
    return [classifier_unit("task", f"[1/4] task network T ({cfg.task.model}) on clean images",
                            cfg, plan.task_dir),
            classifier_unit("independent", f"[1/4] independent classifier ({indep.task.model})"
                            " on clean images", indep, plan.indep_dir),
            *djscc_units(plan.bases + plan.runs, plan.out / "djscc", "[2/4]",
                        needs=("task",))]


def evaluation_units(plan: ImportancePlan, dev: torch.device) -> tuple[list[Unit], list[Path]]:
    """The evaluation of every DJSCC at every test SNR and of every separation baseline as
    executor units, each cached in OUT/eval/ (re-run when older than its model or either
    classifier); and those caches in results order. Each process builds its scoring (clean
    accuracies, classifiers, importance term, test split) once."""
    cfg = plan.cfg
    evals = CachedEvaluations(plan.out, PerProcess(lambda: make_scoring(plan, dev)),
                              plan.classifiers.values(), ("task", "independent"),
                              IMPORTANCE_COLUMNS)
    evals.add_djscc(plan.runs, plan.out / "djscc", "[3/4]", djscc_rows)
    for codec in cfg.importance.separation:
        for ratio in cfg.importance.ratios:
            evals.add(f"separation/{codec}_{ratio_slug(ratio)}",
                      f"[3/4] separation {codec}, R = {ratio}", list,
                      lambda scoring, codec=codec, ratio=ratio: separation_rows(
                          codec, ratio, scoring))
    for codec in cfg.digital.codecs:
        for ratio in cfg.importance.ratios:
            evals.add(f"digital/{codec}_{ratio_slug(ratio)}",
                      f"[3/4] digital {codec}, R = {ratio}", list,
                      lambda scoring, codec=codec, ratio=ratio: digital_rows(
                          codec, ratio, scoring))
    return evals.units, evals.caches
