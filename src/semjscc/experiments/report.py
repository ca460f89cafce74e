"""Shared plumbing of the multi-stage experiments (``reproduce`` presets): run states, cached
evaluation rows, durations and one-line YAML for ``--set`` overrides."""

from __future__ import annotations

import datetime
import platform
from pathlib import Path
from typing import Any

import torch
import yaml

from .. import __version__
from ..checkpoint import load_checkpoint


def method_slug(method: str) -> str:
    return method.replace("+", "_")


def flow_yaml(value: Any) -> str:
    """``value`` as one line of YAML, for ``--set key=<value>`` overrides."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False)
    return text.strip().removesuffix("...").strip()


STATES = {"done": "finished, skipped", "partial": "resuming", "new": "training"}


def run_state(run_dir: Path, epochs: int) -> str:
    """``done`` (all ``epochs``, or stopped early on purpose), ``partial`` (resumable) or
    ``new``."""
    last = run_dir / "last.pt"
    if not last.exists():
        return "new"
    state = load_checkpoint(last)
    return "done" if int(state["epoch"]) >= epochs or state.get("finished") else "partial"


def fmt_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


EVAL_STATES = (("done", "finished, skipped"), ("new", "evaluating"))


def fresh(cache: Path, sources: list[Path]) -> bool:
    """Whether ``cache`` exists and is newer than every file of ``sources``."""
    return cache.exists() and all(cache.stat().st_mtime >= p.stat().st_mtime for p in sources)


def time_and_device_lines(device: torch.device, seconds: float) -> list[str]:
    """The "Time and device" section closing an experiment's ``report.md``."""
    host = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else f"{platform.processor() or platform.machine()}, "
                 f"{torch.get_num_threads()} CPU threads")
    return ["## Time and device", "",
            (f"This invocation took {seconds / 60:.1f} min on {device} ({host}); semjscc "
             f"{__version__}, torch {torch.__version__}, "
             f"{datetime.datetime.now().isoformat(timespec='seconds')}. Parts finished by an "
             "earlier invocation were skipped and are not in this time."), ""]
