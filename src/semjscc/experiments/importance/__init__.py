"""``experiment: importance``: DeepJSCC with semantic importance (seed 002, "Deep Joint
Source-Channel Coding for Wireless Image Transmission with Semantic Importance", Sun et al.)
end to end, resumable. The loss formulas are our design (:mod:`semjscc.losses.importance`).

Units (each skipped when finished, resumed when interrupted):

1. the task network T on clean images             -> OUT/task/ (the network of the losses)
2. the independent classifier on clean images     -> OUT/judges/independent/ (never in a loss)
3. one Bourtsoulatze DJSCC per method × R × train SNR
                                                  -> OUT/djscc/<method>/cr<a>_<b>_snr<s>/
4. every DJSCC at every test SNR, the separation baselines and the digital chain at
   every (R, test SNR)                            -> OUT/eval/...

then OUT/results.csv (:data:`~.plan.IMPORTANCE_COLUMNS`), the figures, example reconstructions
per R (OUT/examples_cr<a>_<b>.png) and OUT/report.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...evaluation.results import read_results
from ...losses import method_label
from ...registry import EXPERIMENTS
from ..executor import Unit
from ..runner import Experiment
from .evaluate import evaluation_units, mark_served, training_units
from .examples import draw_examples
from .figures import draw_importance_figures
from .plan import (
    IMPORTANCE_COLUMNS,
    IMPORTANCE_HEADLINE,
    IMPORTANCE_SETTING,
    ImportancePlan,
    build_plan,
    check_prerequisites,
)
from .report import write_report


@EXPERIMENTS.register("importance")
class ImportanceExperiment(Experiment):
    """The semantic-importance study (see the module docstring)."""

    columns = IMPORTANCE_COLUMNS
    headline = IMPORTANCE_HEADLINE
    setting = IMPORTANCE_SETTING

    def check(self) -> None:
        check_prerequisites(self.cfg)

    def make_plan(self) -> None:
        self.plan: ImportancePlan = build_plan(self.cfg, self.out)

    def summary(self) -> str:
        imp = self.cfg.importance
        return (f"{len(self.plan.runs)} DJSCC models "
                f"({', '.join(method_label(m) for m in imp.methods)} × R "
                f"{','.join(imp.ratios)} × train SNR "
                f"{','.join(f'{s:g}' for s in imp.train_snr_db)} dB), test SNR "
                f"{','.join(f'{s:g}' for s in imp.test_snr_db)} dB, separation "
                f"{','.join(imp.separation) or 'none'}")

    def units(self) -> list[Unit]:
        evaluations, self.caches = evaluation_units(self.plan, self.device)
        return training_units(self.plan) + evaluations

    def rows(self) -> list[dict[str, Any]]:
        return mark_served([row for cache in self.caches for row in read_results(cache)])

    def render(self, rows: list[dict[str, Any]], seconds: float) -> list[Path]:
        figures = draw_importance_figures(rows, self.out)
        figures += draw_examples(self.plan, rows, self.device)
        return [write_report(self.plan, rows, figures, self.device, seconds)]
