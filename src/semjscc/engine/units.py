"""Executor units shared by the experiments: a classifier trained on clean images and the
DJSCC trainings of a sweep, each resumable from its run directory."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from ..config import Config
from .executor import Unit
from .pipeline import run_state
from .train_jscc import train_jscc
from .train_task import train_task


class TrainingRun(ABC):
    """Base of the experiments' training records (dataclasses giving ``cfg``, the run's
    resolved config, and ``dir``, its run directory): the checkpoint it leaves and its log
    label."""

    cfg: Config
    dir: Path

    @property
    def checkpoint(self) -> Path:
        """The run's best checkpoint, ``dir/best.pt``."""
        return self.dir / "best.pt"

    @property
    @abstractmethod
    def label(self) -> str:
        """What the logs call the run, e.g. ``mse, r = 1, 5 dB``."""


def classifier_unit(key: str, label: str, cfg: Config, run_dir: Path) -> Unit:
    """``train-task`` of ``cfg`` into ``run_dir`` as the unit ``key``."""
    return Unit(key, label, lambda state: train_task(cfg, run_dir, resume=state == "partial"),
                lambda: run_state(run_dir, cfg.task.epochs))


def djscc_units(runs: Sequence[TrainingRun], root: Path, stage: str,
                needs: tuple[str, ...] = ()) -> list[Unit]:
    """One unit per run (key ``djscc/<its directory under root>``, label ``<stage> DJSCC i/n
    (<run label>)``), each needing the units ``needs``."""
    return [Unit(f"djscc/{run.dir.relative_to(root)}",
                 f"{stage} DJSCC {i}/{len(runs)} ({run.label})",
                 lambda state, run=run: train_jscc(run.cfg, run.dir, resume=state == "partial"),
                 lambda run=run: run_state(run.dir, run.cfg.train.epochs), needs=needs)
            for i, run in enumerate(runs, start=1)]
