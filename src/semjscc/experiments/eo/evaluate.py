"""The units of the Earth-observation study: the clean task classifier, every DJSCC, every
condition's matched classifier and evaluation, and every separation baseline and digital
chain, each cached in OUT/eval/ (a CSV of rows and a JSON twin of confusion matrices).

Task scores come from a confusion matrix of expected counts
(:class:`~semjscc.metrics.ExpectedConfusion`): a separation image whose capacity budget no
codec file meets is a decoding failure, counted 1/C in every column of its true class's row
(a uniform guess: expected accuracy 1/C) and left out of the reconstruction metrics.
Conditions share noise draws (``eval.seed``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ...baselines import available_codecs, separation_system
from ...baselines.digital import DIGITAL_NOTE, DigitalSystem
from ...channels import build_channel
from ...data import num_classes_of
from ...evaluation.evaluate import df_system, evaluate_system
from ...evaluation.results import IMAGES, read_results, write_results
from ...evaluation.suites import reconstruction_suite, task_suite
from ...evaluation.task import evaluate_task
from ...files import write_text
from ...metrics import confusion_scores
from ...models import load
from ...parsing import read_json
from ...training.task import train_task
from ..djscc import djscc_for, ratio_columns, ratio_slug, test_loader
from ..executor import Unit
from ..units import PerProcess, classifier_unit, djscc_units, evaluation_unit, fresh, run_state
from .plan import EO_COLUMNS, SEPARATION_NOTE, TASK_SCORES, Condition, EOPlan, snr_columns


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


def clean_result(plan: EOPlan, dev: torch.device) -> dict[str, Any]:
    """The clean classifier on clean test images (M_clean), cached in OUT/eval/clean.json."""
    cache = plan.out / "eval" / "clean.json"
    if fresh(cache, [plan.task_checkpoint]):
        return read_json(cache, "evaluation cache")
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
               **snr_columns(cond.snr_db)}
    row.update({**setting, "train_snr_db": cond.run.train_snr, **clean_columns(clean),
                "seed": cfg.eval.seed, "train_seed": cond.run.cfg.seed,
                "checkpoint": str(cond.run.checkpoint)})
    return [row], [{**setting, "protocol": p, "classifier": str(classifiers[p]), "matrix": m}
                   for p, m in matrices.items()]


Evaluated = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def _baseline_rows(plan: EOPlan, columns: dict[str, Any], systems: list[tuple[float, Any, str]],
                   clean: dict[str, Any], loader: Any, dev: torch.device, note: str,
                   ) -> Evaluated:
    """Rows and confusions of baseline ``systems`` ((SNR, system, progress text) each, the
    system with ``row_fields()``) judged by the clean classifier for every protocol."""
    cfg = plan.cfg
    classifier = load(plan.task_checkpoint, device=dev, kind="classifier")[0]
    rows, confusions = [], []
    for snr, system, desc in systems:
        metrics = evaluate_system(
            system, loader, [reconstruction_suite(cfg, dev),
                             task_suite(classifier, num_classes_of(cfg.data), "mismatched", dev)],
            dev, cfg.eval.seed, desc=desc)
        row, matrices = scored(metrics, {"mismatched": plan.task_checkpoint})
        if "matched" in cfg.eo.protocols:
            row.update({f"{s}_matched": row[f"{s}_mismatched"] for s in TASK_SCORES})
            row["classifier_matched"] = str(plan.task_checkpoint)
            if IMAGES in row:
                row[IMAGES]["accuracy_matched"] = row[IMAGES]["accuracy_mismatched"]
        fields = {k: v for k, v in system.row_fields().items() if k in EO_COLUMNS}
        row_note = "; ".join(filter(None, [fields.pop("note", None), note]))
        rows.append({**row, **fields, **columns, **snr_columns(snr), **clean_columns(clean),
                     "seed": cfg.eval.seed, "note": row_note})
        confusions.append({"method": fields["method"], **columns, "snr_db": snr,
                           "protocol": "mismatched", "classifier": str(plan.task_checkpoint),
                           "matrix": matrices["mismatched"], "note": note})
    return rows, confusions


def separation_rows(plan: EOPlan, codec: str, spec: dict[str, Any], ratio: str,
                    clean: dict[str, Any], loader: Any, dev: torch.device) -> Evaluated:
    """``codec`` at the capacity budget of the DJSCC's k channel uses at every SNR of the
    sweep over channel ``spec`` (over fading: each image's instantaneous capacity, a
    genie-aided bound), judged by the clean classifier for every protocol."""
    channel = build_channel(spec)
    columns = {**channel.describe(), **ratio_columns(djscc_for(ratio), ratio,
                                                     plan.cfg.data.image_size)}
    if codec not in available_codecs():
        return [{**columns, "method": f"separation-{codec}", **snr_columns(snr),
                 "note": f"{codec} encoder not available in this Pillow build"}
                for snr in plan.cfg.eo.snr_db], []
    systems = [(snr, separation_system(codec, snr, columns["k"], on_unreachable="nan",
                                       channel=channel),
                f"separation {codec} {channel.label} R={ratio} {snr:g} dB")
               for snr in plan.cfg.eo.snr_db]
    return _baseline_rows(plan, columns, systems, clean, loader, dev, SEPARATION_NOTE)


def digital_rows(plan: EOPlan, codec: str, mcs: int | str, spec: dict[str, Any], ratio: str,
                 clean: dict[str, Any], loader: Any, dev: torch.device) -> Evaluated:
    """The digital chain (``codec`` + TB of ``mcs`` + QAM) over the DJSCC's k channel uses
    at every SNR of the sweep over channel ``spec``, judged by the clean classifier for
    every protocol; a lost image is received as mid-gray and scored so."""
    cfg = plan.cfg
    channel = build_channel(spec)
    columns = {**channel.describe(), **ratio_columns(djscc_for(ratio), ratio,
                                                     cfg.data.image_size)}
    systems = [(snr, DigitalSystem(codec, mcs, snr, columns["k"], channel,
                                   link=cfg.digital.link),
                f"digital {codec} MCS {mcs} {channel.label} R={ratio} {snr:g} dB")
               for snr in cfg.eo.snr_db]
    return _baseline_rows(plan, columns, systems, clean, loader, dev, DIGITAL_NOTE)


def write_evaluation(cache: Path, evaluated: Evaluated) -> None:
    """Write the (rows, confusion entries) of an evaluation: rows to ``cache`` (a CSV of
    ``EO_COLUMNS``), confusions to its ``.json`` twin. The twin is written first, so a CSV on
    disk always has its confusions."""
    rows, confusions = evaluated
    write_text(cache.with_suffix(".json"), json.dumps(confusions) + "\n")
    write_results(rows, cache, EO_COLUMNS)


def read_evaluation(cache: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The (rows, confusion entries) that :func:`write_evaluation` wrote to ``cache`` (with
    ``snr_db_authors`` filled in rows cached before that column existed)."""
    rows = [{**r, **snr_columns(r["snr_db"])} for r in read_results(cache)]
    return rows, read_json(cache.with_suffix(".json"), "evaluation cache")


def train_matched(plan: EOPlan, cond: Condition, state: str, dev: torch.device) -> None:
    """Fine-tune the clean classifier on reconstructions of the training split through the
    DJSCC of ``cond`` at its SNR (the matched protocol), resuming when ``state`` is
    ``partial``."""
    model, run_cfg = load(cond.run.checkpoint, device=dev, kind="deepjscc")
    train_task(plan.matched_cfg(), plan.matched_dir(cond), resume=state == "partial",
               reconstruct=df_system(model, build_channel(run_cfg.link.channel), [cond.snr_db]))


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
    for codec in cfg.digital.codecs:
        for mcs in cfg.digital.mcs:
            for spec in eo.channels:
                channel = build_channel(spec).label
                for ratio in eo.ratios:
                    name = f"{channel}/{codec}_mcs{mcs}_{ratio_slug(ratio)}"
                    add(f"eval/digital/{name}",
                        f"[4/6] digital {codec}, MCS {mcs}, {channel}, R = {ratio}",
                        plan.out / "eval" / "digital" / f"{name}.csv", [plan.task_checkpoint],
                        lambda clean, loader, codec=codec, mcs=mcs, spec=spec, ratio=ratio:
                        digital_rows(plan, codec, mcs, spec, ratio, clean, loader, dev), ())
    return units, caches
