"""The units of the OFDM study: the task classifier, every DJSCC, and the evaluation of
every DJSCC and of the digital chain over every test channel (speed × CSI) at every test SNR,
each cached in OUT/eval/. Accuracy is the task classifier's top-1 accuracy on the outputs
(its accuracy on clean images: ``accuracy_clean``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ...baselines.digital import DIGITAL_NOTE, DigitalSystem
from ...channels import Channel
from ...config import inline_yaml
from ...data import num_classes_of
from ...evaluation.evaluate import Suite, df_system, evaluate_system
from ...evaluation.results import IMAGES
from ...evaluation.suites import reconstruction_suite, task_suite
from ...evaluation.task import evaluate_task
from ...files import write_text
from ...models import load
from ...parsing import read_json
from ..djscc import djscc_for, ratio_columns, test_loader
from ..executor import Unit
from ..units import CachedEvaluations, PerProcess, classifier_unit, djscc_units, fresh, seeded
from .plan import OFDM_COLUMNS, OFDMPlan, OFDMRun, channel_uses


@dataclass
class Scoring:
    """What every evaluation shares: the frozen classifier, its clean accuracy, the test
    loader and the device."""

    plan: OFDMPlan
    classifier: torch.nn.Module
    clean: float
    loader: Any
    device: torch.device

    def suites(self) -> list[Suite]:
        return [reconstruction_suite(self.plan.cfg, self.device),
                task_suite(self.classifier, num_classes_of(self.plan.cfg.data), "task",
                           self.device)]

    def evaluate(self, system: Any, channel: Channel, snr: float, desc: str) -> dict[str, Any]:
        """The scores of ``system`` and the setting columns of ``channel`` at ``snr``."""
        cfg = self.plan.cfg
        metrics = evaluate_system(system, self.loader, self.suites(), self.device,
                                  cfg.eval.seed, desc=desc)
        row = {k: v for k, v in metrics.items() if not k.startswith(("confusion_", "accuracy_"))}
        scores = row.get(IMAGES, {})  # the judge's per-image scores under the column's name
        if "accuracy_task" in scores:
            row[IMAGES] = {("accuracy" if m == "accuracy_task" else m): v
                           for m, v in scores.items()}
        k = djscc_for(cfg.ofdm.ratio).num_symbols(cfg.data.image_size, cfg.data.image_size)
        return {**row, "accuracy": metrics["accuracy_task"], "accuracy_clean": self.clean,
                **channel.describe(), "channel_uses": channel_uses(channel, k),
                **ratio_columns(djscc_for(cfg.ofdm.ratio), cfg.ofdm.ratio,
                                cfg.data.image_size),
                "snr_db": snr, "seed": cfg.eval.seed,
                "classifier": str(self.plan.task_checkpoint)}


def make_scoring(plan: OFDMPlan, dev: torch.device) -> Scoring:
    cache = plan.out / "eval" / "clean_task.json"
    if not fresh(cache, [plan.task_checkpoint]):
        result = evaluate_task(plan.task_checkpoint, plan.cfg.eval.split, device=str(dev))
        write_text(cache, json.dumps({"accuracy": result["accuracy"]}) + "\n")
    clean = read_json(cache, "evaluation cache")["accuracy"]
    classifier = load(plan.task_checkpoint, device=dev, kind="classifier")[0]
    return Scoring(plan, classifier, clean, test_loader(plan.cfg), dev)


def djscc_rows(run: OFDMRun, scoring: Scoring) -> list[dict[str, Any]]:
    """The DJSCC of ``run`` over every test channel at every test SNR."""
    model, _ = load(run.checkpoint, device=scoring.device, kind="deepjscc")
    rows = []
    for channel in scoring.plan.test_channels():
        channel.to(scoring.device)
        for snr in scoring.plan.cfg.ofdm.test_snr_db:
            row = scoring.evaluate(df_system(model, channel, [snr]), channel, snr,
                                   f"eval {run.label} over {channel.label} at {snr:g} dB")
            rows.append({**row, "method": run.method, "train_channel": run.train_channel,
                         "loss": inline_yaml(run.cfg.train.loss),
                         "checkpoint": str(run.checkpoint)})
    return seeded(run, rows)


def digital_rows(codec: str, scoring: Scoring) -> list[dict[str, Any]]:
    """The digital chain (``codec`` + TB + QAM, every ``digital.mcs``) over every test
    channel of ``ofdm.digital_csi`` at every test SNR, over the DJSCC's k data symbols (and
    the same pilots); a lost image is received as mid-gray."""
    cfg = scoring.plan.cfg
    k = djscc_for(cfg.ofdm.ratio).num_symbols(cfg.data.image_size, cfg.data.image_size)
    rows = []
    for channel in scoring.plan.test_channels(cfg.ofdm.digital_csi):
        for mcs in cfg.digital.mcs:
            for snr in cfg.ofdm.test_snr_db:
                system = DigitalSystem(codec, mcs, snr, k, channel, link=cfg.digital.link)
                row = scoring.evaluate(system, channel, snr, f"digital {codec} MCS {mcs} over "
                                       f"{channel.label} at {snr:g} dB")
                fields = {f: v for f, v in system.row_fields().items() if f in OFDM_COLUMNS}
                rows.append({**row, **fields, "note": DIGITAL_NOTE})
    return rows


def training_units(plan: OFDMPlan) -> list[Unit]:
    """The task classifier (it judges, it is in no loss) and every DJSCC."""
    return [classifier_unit("task", f"[1/3] task classifier ({plan.cfg.task.model}) on clean "
                            "images", plan.cfg, plan.task_dir),
            *djscc_units(plan.runs, plan.out / "djscc", "[2/3]")]


def evaluation_units(plan: OFDMPlan, dev: torch.device) -> tuple[list[Unit], list[Path]]:
    """Every DJSCC's and the digital chain's evaluation as cached units, and the caches in
    results order."""
    evals = CachedEvaluations(plan.out, PerProcess(lambda: make_scoring(plan, dev)),
                              [plan.task_checkpoint], ("task",), OFDM_COLUMNS)
    evals.add_djscc(plan.runs, plan.out / "djscc", "[3/3]", djscc_rows)
    for codec in plan.cfg.digital.codecs:
        evals.add(f"digital/{codec}", f"[3/3] digital {codec}", list,
                  lambda scoring, codec=codec: digital_rows(codec, scoring))
    return evals.units, evals.caches
