"""Pieces every experiment's ``report.md`` shares: markdown tables, number cells, durations
and the closing "Time and device" section."""

from __future__ import annotations

import datetime
import platform
from typing import Any

import torch

from ..version import __version__


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def num(value: Any, digits: int = 3) -> str:
    """A number cell: ``value`` to ``digits`` decimals, ``–`` when missing."""
    return "–" if value is None else f"{value:.{digits}f}"


def fmt_duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.5 h`` or ``2.1 days``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


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
