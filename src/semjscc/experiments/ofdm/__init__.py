"""``experiment: ofdm``: DeepJSCC and the practical digital chain over OFDM on a 3GPP TDL or
CDL channel (the ``ofdm`` channel: Sionna's resource grid, LS or perfect CSI, LMMSE), end
to end, resumable.

Units (each skipped when finished, resumed when interrupted):

1. the task classifier on clean images                   -> OUT/task/ (the accuracy judge)
2. one Bourtsoulatze DJSCC per ``ofdm.train_channels``     -> OUT/djscc/<name>/
3. every DJSCC over ``ofdm.channel`` at every speed × CSI × test SNR, and the digital chain
   at every speed × ``ofdm.digital_csi`` × MCS × test SNR -> OUT/eval/...

then OUT/results.csv (:data:`~.plan.OFDM_COLUMNS`), ``snr_v<speed>.png``, ``examples.png``
and OUT/report.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...evaluation.results import read_results
from ...registry import EXPERIMENTS
from ..executor import Unit
from ..runner import Experiment
from .evaluate import evaluation_units, training_units
from .examples import draw_examples
from .plan import OFDM_COLUMNS, OFDM_HEADLINE, OFDM_SETTING, OFDMPlan, build_plan
from .plan import check_prerequisites as check_ofdm
from .report import draw_figures, write_report


@EXPERIMENTS.register("ofdm")
class OFDMExperiment(Experiment):
    """The OFDM study (see the module docstring)."""

    columns = OFDM_COLUMNS
    headline = OFDM_HEADLINE
    setting = OFDM_SETTING

    def check(self) -> None:
        check_ofdm(self.cfg)

    def make_plan(self) -> None:
        self.plan: OFDMPlan = build_plan(self.cfg, self.out)

    def summary(self) -> str:
        study = self.cfg.ofdm
        return (f"{len(self.plan.runs)} DJSCC models (trained over "
                f"{', '.join(study.train_channels)}), test over {study.channel.get('model')} at "
                f"{', '.join(f'{s:g}' for s in study.speeds)} m/s × CSI {', '.join(study.csi)} × "
                f"SNR {', '.join(f'{s:g}' for s in study.test_snr_db)} dB, digital "
                f"{', '.join(self.cfg.digital.codecs) or 'none'}")

    def units(self) -> list[Unit]:
        evaluations, self.caches = evaluation_units(self.plan, self.device)
        return training_units(self.plan) + evaluations

    def rows(self) -> list[dict[str, Any]]:
        return [row for cache in self.caches for row in read_results(cache)]

    def render(self, rows: list[dict[str, Any]], seconds: float) -> list[Path]:
        figures = draw_figures(rows, self.out)
        examples = draw_examples(self.plan, self.device)
        figures += [examples] if examples else []
        return [*figures, write_report(self.plan, rows, figures, self.device, seconds)]
