"""``experiment: eo-semloss``: the Earth-observation semantic-loss study (seed 001, "Toward a
Unified Semantic Loss Model for Deep JSCC-based Transmission of EO Imagery") end to end.

Units (each skipped when finished, resumed when interrupted):

1. the task classifier on clean images        -> OUT/task/
2. one DJSCC per channel × R (× SNR)           -> OUT/djscc/<channel>/cr<a>_<b>[_snr<s>]/
3. per condition (channel, R, SNR): the matched classifier (fine-tuned on reconstructions
   of the training split)                     -> OUT/matched/<channel>/cr<a>_<b>_snr<s>/
   and the evaluation of the test split       -> OUT/eval/djscc/..., OUT/eval/clean.json
4. separation baselines                        -> OUT/eval/separation/...
   and the digital chain (codec × MCS)         -> OUT/eval/digital/...

then OUT/results.csv (:data:`~.plan.EO_COLUMNS`), OUT/confusion.json, the figures, example
reconstructions per channel (OUT/examples_<channel>.png), the semantic-loss fits (OUT/fit/),
the allocation example (predicted and measured by transmission, OUT/allocation.json, .csv)
and OUT/report.md (OUT/splits.json too for EuroSAT). Our design where the paper is silent:
the two protocols, SNR-adaptive models (optional), the separation baselines, the digital
chain and their scoring.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...data.eurosat import split_manifest
from ...files import write_text
from ...registry import EXPERIMENTS
from ..executor import Unit
from ..runner import Experiment
from .allocation import allocation_stage
from .analysis import fit_stage
from .evaluate import clean_result, evaluation_units, read_evaluation, training_units
from .examples import draw_examples
from .figures import draw_eo_figures
from .plan import (
    EO_COLUMNS,
    EO_HEADLINE,
    EO_SETTING,
    SEPARATION_NOTE,
    EOPlan,
    build_plan,
    check_prerequisites,
)
from .report import write_report


@EXPERIMENTS.register("eo-semloss")
class EOExperiment(Experiment):
    """The EO semantic-loss study (see the module docstring)."""

    columns = EO_COLUMNS
    headline = EO_HEADLINE
    setting = EO_SETTING

    def check(self) -> None:
        check_prerequisites(self.cfg)

    def prepare(self) -> None:
        if self.cfg.data.kind == "eurosat":
            write_text(self.out / "splits.json",
                       json.dumps(split_manifest(self.cfg.data), indent=1) + "\n")

    def make_plan(self) -> None:
        self.plan: EOPlan = build_plan(self.cfg, self.out)

    def summary(self) -> str:
        eo = self.cfg.eo
        return (f"{len(self.plan.runs)} DJSCC models "
                f"({'SNR-adaptive' if eo.snr_adaptive else 'one per SNR'}), "
                f"{len(self.plan.conditions)} conditions, protocols "
                f"{','.join(eo.protocols) or 'none'}, separation "
                f"{','.join(eo.separation) or 'none'}")

    def units(self) -> list[Unit]:
        evaluations, self.caches = evaluation_units(self.plan, self.device)
        return training_units(self.plan) + evaluations

    def rows(self) -> list[dict[str, Any]]:
        """The evaluation rows; their confusion matrices go to OUT/confusion.json."""
        self.clean = clean_result(self.plan, self.device)
        rows: list[dict[str, Any]] = []
        confusions: list[dict[str, Any]] = []
        for cache in self.caches:
            got = read_evaluation(cache)
            rows += got[0]
            confusions += got[1]
        write_text(self.out / "confusion.json", json.dumps({
            "class_names": self.clean["class_names"], "rows": "true class",
            "columns": "predicted class (top-1)", "scoring": SEPARATION_NOTE,
            "clean": {"classifier": str(self.plan.task_checkpoint),
                      "matrix": self.clean["confusion_matrix"]},
            "conditions": confusions}, indent=1) + "\n")
        return rows

    def render(self, rows: list[dict[str, Any]], seconds: float) -> list[Path]:
        figures = draw_eo_figures(rows, self.out, self.cfg.eo.protocols)
        figures += draw_examples(self.plan, self.device)
        fit = fit_stage(self.cfg, rows, self.out / "fit")
        allocation = allocation_stage(self.plan, fit, self.device)
        report = write_report(self.plan, rows, self.clean, fit.document, allocation, figures,
                              self.device, seconds)
        return [self.out / "fit" / "fit.json", report]
