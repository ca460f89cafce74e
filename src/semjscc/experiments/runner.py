"""One protocol for every experiment, one runner for all of them.

An :class:`Experiment` declares what is particular to a study: what it checks before any
work, its plan, its units of work (trainings, evaluations, each resumable), how its rows are
assembled and what it renders. :func:`run_experiment` does the rest, the same way for
every registered experiment::

    check  ->  plan  ->  OUT/.semjscc-run, OUT/reproduce.yaml  ->  units on the executor
           (local, Ray, --shard)
           ->  OUT/results.csv (the experiment's schema, 95 % intervals of its headline
               metrics; per-image scores in OUT/results.images.csv)
           ->  seeds pooled per setting  ->  figures and OUT/report.md

Nothing is written before the checks and the plan pass. Re-running finishes what is missing
and skips what is done; a sharded run stops after its units, and an un-sharded run assembles
the results.

Output folders are protected: :func:`reproduce` writes only into a folder that is new or
empty (it then leaves the marker file :data:`MARKER` there) or that holds one of its runs
(the marker, or a ``reproduce.yaml`` an older semjscc wrote): a re-run, with or without
``resume``, continues it. ``resume`` without such a run is an error. Any other non-empty
folder is refused unless ``force`` is given; files of the same names in it are then
overwritten.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import torch

from ..config import Config, ConfigError, config_differences, load_config, save_config, to_dict
from ..device import resolve_device
from ..evaluation.bootstrap import add_intervals, pool_seeds
from ..evaluation.results import read_results, write_results
from ..files import refuse_overwrite
from ..registry import EXPERIMENTS
from .executor import Executor, Unit, run_units
from .report import fmt_duration

log = logging.getLogger("semjscc.reproduce")

RECORD = "reproduce.yaml"  # the resolved config of a reproduction, in its output folder
MARKER = ".semjscc-run"  # left in every output folder reproduce created or continued


class Experiment(ABC):
    """A registered study (``EXPERIMENTS``, keyed by ``cfg.experiment``).

    Args:
        cfg: the resolved, validated config.
        out: the output folder.
        device: where its trainings and evaluations run.
    """

    columns: ClassVar[list[str]]  # the results.csv schema: these first, extras after, sorted
    headline: ClassVar[list[str]]  # metrics given 95 % intervals (``<m>_lo``, ``<m>_hi``)
    setting: ClassVar[list[str]]  # columns naming a setting (its seeds are pooled to render)

    def __init__(self, cfg: Config, out: Path, device: torch.device) -> None:
        self.cfg, self.out, self.device = cfg, out, device

    @abstractmethod
    def check(self) -> None:
        """Refuse early, in one line, what would fail later (nothing is written yet)."""

    def prepare(self) -> None:
        """Files written once the config is recorded (default: none)."""

    @abstractmethod
    def make_plan(self) -> None:
        """Build ``self.plan``: every training and evaluation with its derived config."""

    @abstractmethod
    def summary(self) -> str:
        """One line saying what the plan holds (logged when the run starts)."""

    @abstractmethod
    def units(self) -> list[Unit]:
        """Every unit of work, in dependency order."""

    @abstractmethod
    def rows(self) -> list[dict[str, Any]]:
        """The result rows, once every unit is done (from the units' caches)."""

    @abstractmethod
    def render(self, rows: list[dict[str, Any]], seconds: float) -> list[Path]:
        """Figures, analyses and ``report.md`` from the rows read back from results.csv,
        one per setting (its training seeds pooled, per-image scores (S, N), see
        :func:`~semjscc.evaluation.bootstrap.pool_seeds`); returns the files worth naming
        in the log."""


def run_experiment(cfg: Config, out: Path, device: torch.device,
                   executor: Executor | None = None, started: float | None = None) -> Path:
    """Run (or finish) ``cfg.experiment`` into ``out`` on ``executor`` (default: local)."""
    started = time.perf_counter() if started is None else started
    experiment: Experiment = EXPERIMENTS.get(cfg.experiment)(cfg, out, device)
    experiment.check()
    experiment.make_plan()
    out.mkdir(parents=True, exist_ok=True)
    if not (out / MARKER).is_file():
        (out / MARKER).write_text("semjscc reproduce writes here; running the same command "
                                  "again continues this run\n")
    save_config(cfg, out / RECORD)
    experiment.prepare()
    log.info("%s %s -> %s on %s: %s", cfg.experiment, cfg.name, out, device,
             experiment.summary())
    if run_units(experiment.units(), executor):
        return out
    results = write_results(add_intervals(experiment.rows(), experiment.headline),
                            out / "results.csv", experiment.columns)
    log.info("figures and report")
    written = experiment.render(pool_seeds(read_results(results), experiment.setting),
                                time.perf_counter() - started)
    log.info("done in %s: %s, %s", fmt_duration(time.perf_counter() - started), results,
             ", ".join(str(p) for p in written))
    return out


def check_out(out: Path, force: bool = False, resume: bool = False) -> None:
    """ConfigError (one line) unless ``reproduce`` may write into ``out`` (see the module
    docstring): a run of its own, a new or empty folder (not with ``resume``), or anything
    with ``force``."""
    if (out / MARKER).is_file() or (out / RECORD).is_file():
        return  # its own run (a record without the marker: written by an older semjscc)
    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if resume:
        raise ConfigError(f"--resume: {out} holds no run to resume (no {MARKER} or {RECORD}); "
                          "drop --resume to start one in a new or empty --out")
    if entries and not force:
        raise ConfigError(f"{out} is not empty and holds files reproduce did not write "
                          f"({', '.join(entries[:4])}{' ...' if len(entries) > 4 else ''}): "
                          "choose a new or empty --out, or pass --force to write into it "
                          "(files of the same names are overwritten)")


def reproduce(spec: str | Path, out: str | Path, overrides: list[str] | None = None,
              device: str | None = None, executor: Executor | None = None,
              force: bool = False, resume: bool = False) -> Path:
    """Run (or finish) the experiment of preset or config file ``spec`` into ``out``, with
    ``--set``-style ``overrides``; ``device`` overrides ``train.device``. A folder that
    reproduce may not write into (:func:`check_out`, with ``force`` and ``resume``), or that
    holds a reproduction with other settings (results would mix), is refused."""
    started = time.perf_counter()
    out = Path(out)
    cfg = load_config(spec, (overrides or []) + ([f"train.device={device}"] if device else []))
    EXPERIMENTS.get(cfg.experiment)  # an unknown experiment fails before anything else
    check_out(out, force, resume)
    if not (out / MARKER).is_file():  # a marked folder's record was written by reproduce
        refuse_overwrite([out / RECORD], [spec])
    recorded = out / RECORD
    if recorded.exists():
        previous = to_dict(load_config(recorded))
        diff = [k for k in config_differences(previous, to_dict(cfg)) if k != "train.device"]
        if diff:
            raise ConfigError(f"{out} holds a reproduction with other settings "
                              f"({', '.join(diff[:5])}); use a new --out (or the same "
                              "settings) so results are not mixed")
    return run_experiment(cfg, out, resolve_device(cfg.train.device), executor, started)
