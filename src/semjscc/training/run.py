"""A run directory: resolved config, per-epoch log, best/last checkpoints, resume.

Layout::

    RUN_DIR/config.yaml   resolved configuration of the run
    RUN_DIR/log.csv       one row per finished epoch
    RUN_DIR/last.pt       state after the latest finished epoch (resume point)
    RUN_DIR/best.pt       weights of the epoch with the best validation metric

Checkpoints record the fingerprint of the data they were trained on
(:mod:`semjscc.data.fingerprint`); a run that starts from or trains with other checkpoints
compares theirs first (:func:`checked_fingerprint`).

Nothing already done is lost: a run directory that holds a run is never overwritten
without ``--resume``, and resuming with a changed configuration is refused.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..checkpoint import load_checkpoint, save_checkpoint
from ..config import Config, ConfigError, config_differences, save_config, to_dict
from ..data.fingerprint import KEY, check_same_data, checkpoint_fingerprint, data_fingerprint
from ..files import write_text
from .seed import collect_rng_states, restore_rng_states

# Keys that may change between a run and its resumption.
RESUMABLE_KEYS = {"train.epochs", "train.device", "data.num_workers", "dhd.epochs", "task.epochs",
                  "task.finetune_epochs", "train.grad_checkpoint", "train.fused_adam"}


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside DDP/compile wrappers (so state_dict keys never carry ``module.``
    or ``_orig_mod.``)."""
    inner = getattr(model, "_orig_mod", model)
    return getattr(inner, "module", inner)


def checked_fingerprint(cfg: Config, sources: Sequence[tuple[str, str | Path, str]]
                        ) -> dict[str, Any]:
    """The fingerprint of ``cfg.data``, compared with that of each (label, checkpoint path,
    kind) of ``sources`` (the checkpoints the run starts from or trains with): another
    dataset is refused, other files of the same one warned about."""
    fingerprint = data_fingerprint(cfg.data)
    for label, path, kind in sources:
        check_same_data((label, checkpoint_fingerprint(path, kind)), ("this run", fingerprint))
    return fingerprint


class Run:
    """Book-keeping of one training run; only the main process writes files. Its
    checkpoints record ``fingerprint`` (of the training data, see
    :func:`checked_fingerprint`) when given."""

    def __init__(self, out_dir: str | Path, cfg: Any, kind: str, resume: bool = False,
                 is_main: bool = True, fingerprint: dict[str, Any] | None = None) -> None:
        self.dir = Path(out_dir)
        self.cfg = cfg
        self.kind = kind
        self.fingerprint = fingerprint
        self.is_main = is_main
        self.start_epoch = 0
        self.finished = False  # stopped early (e.g. learning rate below its floor)
        self.best = math.nan
        self.last_path = self.dir / "last.pt"
        self.best_path = self.dir / "best.pt"
        self.log_path = self.dir / "log.csv"
        self._resume_state: dict[str, Any] | None = None
        if self.last_path.exists() and not resume:
            raise ConfigError(
                f"{self.dir} already holds a run (last.pt); pass --resume to continue it, "
                "or choose another --out"
            )
        if resume:
            if not self.last_path.exists():
                raise ConfigError(f"nothing to resume in {self.dir} (no last.pt); drop --resume")
            state = load_checkpoint(self.last_path, kind=kind)
            diff = [k for k in config_differences(state["config"], to_dict(cfg))
                    if k not in RESUMABLE_KEYS]
            if diff:
                raise ConfigError(
                    f"--resume with a changed configuration ({', '.join(diff[:5])}); "
                    f"resume with the run's own config ({self.dir / 'config.yaml'}) or use a new --out"
                )
            self._resume_state = state
            self.start_epoch = int(state["epoch"])
            self.finished = bool(state.get("finished", False))
            self.best = float(state["best_metric"])
        if is_main:
            self.dir.mkdir(parents=True, exist_ok=True)
            save_config(cfg, self.dir / "config.yaml")
            self._trim_log()

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                scheduler: Any | None = None) -> None:
        """Load model/optimiser/scheduler/RNG state when resuming (no-op otherwise)."""
        if self._resume_state is None:
            return
        state = self._resume_state
        unwrap(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        restore_rng_states(state["rng"])
        self._resume_state = None

    def _trim_log(self) -> None:
        """Keep only log rows of epochs the resume point has finished."""
        if not self.log_path.exists():
            return
        with self.log_path.open() as fh:
            rows = [r for r in csv.DictReader(fh) if int(r["epoch"]) <= self.start_epoch]
        if rows:
            self._write_log(rows)
        else:
            self.log_path.unlink()

    def _write_log(self, rows: list[dict[str, Any]]) -> None:
        """Rewrite log.csv atomically: it never claims an epoch it does not hold whole."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        write_text(self.log_path, buffer.getvalue())

    def end_epoch(self, epoch: int, row: dict[str, Any], metric: float, model: nn.Module,
                  optimizer: torch.optim.Optimizer, scheduler: Any | None,
                  higher_is_better: bool, finished: bool = False) -> bool:
        """Log ``row``, write last.pt, and best.pt when ``metric`` improved; ``finished``
        marks a run that stops before ``epochs`` (it then counts as done). Returns
        improved."""
        improved = math.isnan(self.best) or (metric > self.best if higher_is_better
                                             else metric < self.best)
        if improved:
            self.best = metric
        if not self.is_main:
            return improved
        row = {"epoch": epoch, **row}
        rows: list[dict[str, Any]] = []
        if self.log_path.exists():
            with self.log_path.open() as fh:
                rows = list(csv.DictReader(fh))
        self._write_log(rows + [row])
        base = {"kind": self.kind, "config": to_dict(self.cfg), "epoch": epoch,
                "best_metric": self.best, "metrics": row, "finished": finished,
                **({KEY: self.fingerprint} if self.fingerprint else {})}
        weights = unwrap(model).state_dict()
        if improved:
            save_checkpoint({**base, "model": weights}, self.best_path)
        save_checkpoint({**base, "model": weights, "optimizer": optimizer.state_dict(),
                         "scheduler": scheduler.state_dict() if scheduler is not None else None,
                         "rng": collect_rng_states()}, self.last_path)
        return improved
