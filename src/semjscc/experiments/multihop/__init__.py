"""``experiment: multihop-dhd``: the core paper (Bergström, Gündüz, Günlü) end to end.

Units (each skipped when finished, resumed when interrupted):

1. the DHD and the independent judges                  -> OUT/dhd/, OUT/judges/
2. the DF models of every method × relays (× SNR)        -> OUT/df/<method>/r<r>[_snr<s>]/
3. QF codebooks of each method's r = 0 model(s)         -> OUT/qf/<method>/snr<s>/
4. evaluation of each DF model, QF codebook set, the separation baselines and the
   digital chain (one unit per codec × MCS)              -> OUT/eval/*.csv
then OUT/results.csv (:data:`~semjscc.evaluation.results.RESULT_COLUMNS`), the paper's
figures, example reconstructions (OUT/examples.png) and OUT/report.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...evaluation.dhd import evaluate_dhd
from ...evaluation.qf import parse_settings
from ...evaluation.results import HEADLINE, RESULT_COLUMNS, read_results
from ...registry import EXPERIMENTS
from ..executor import Unit
from ..report import fmt_duration
from ..runner import Experiment, log
from .examples import draw_examples
from .figures import draw_figures
from .plan import SETTING, Plan, build_plan, check_prerequisites, estimate_seconds
from .report import write_report
from .units import evaluation_units, sweep_units


@EXPERIMENTS.register("multihop-dhd")
class MultihopExperiment(Experiment):
    """The core paper: DHD, judges, DF models, QF codebooks, evaluation, figures, report."""

    columns = RESULT_COLUMNS
    headline = HEADLINE
    setting = SETTING

    def check(self) -> None:
        # LPIPS is required for real data (the paper's headline metric), optional for the
        # synthetic presets
        self.lpips_usable = check_prerequisites(self.cfg, self.cfg.data.kind != "synthetic")

    def make_plan(self) -> None:
        self.plan: Plan = build_plan(self.cfg, self.out, self.lpips_usable)
        for dropped in self.plan.dropped:
            log.warning("leaving out %s", dropped)
        self.estimate = estimate_seconds(self.plan, self.device)

    def summary(self) -> str:
        cfg, runs = self.cfg, self.plan.df_runs
        log.info("estimated training time on this machine: %s (DHD %s, DF %s) plus judges and "
                 "evaluation", fmt_duration(self.estimate["total"]),
                 fmt_duration(self.estimate["dhd"]), fmt_duration(self.estimate["df"]))
        return (f"DHD, {len(self.plan.judges)} judges, {len(runs)} DF models "
                f"({', '.join(sorted({r.method for r in runs}))}), QF "
                f"{','.join(cfg.sweep.qf) or 'none'}, separation "
                f"{','.join(cfg.sweep.separation) or 'none'}")

    def units(self) -> list[Unit]:
        settings = parse_settings(",".join(self.cfg.sweep.qf))
        units, qf_dirs = sweep_units(self.plan, settings)
        evaluations, self.caches = evaluation_units(self.plan, qf_dirs if settings else [],
                                                    self.device)
        return units + evaluations

    def rows(self) -> list[dict[str, Any]]:
        return [row for cache in self.caches for row in read_results(cache)]

    def render(self, rows: list[dict[str, Any]], seconds: float) -> list[Path]:
        dhd_result = evaluate_dhd(self.plan.dhd_checkpoint, device=str(self.device))
        figures = draw_figures(rows, self.out, self.cfg.sweep.figure_snr_db or None)
        examples = draw_examples(self.plan, self.device, self.cfg.sweep.figure_snr_db or None)
        figures += [examples] if examples else []
        report = write_report(self.plan, rows, figures, dhd_result, self.out, seconds,
                              self.estimate)
        return [*figures, report]
