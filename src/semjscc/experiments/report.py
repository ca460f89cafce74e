"""Pieces every experiment's ``report.md`` shares: markdown tables, number cells, durations
and the closing "Time and device" section."""

from __future__ import annotations

import datetime
import math
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


def binomial_half_width(p: float, n: int) -> float:
    """Half-width of the normal-approximation 95 % interval of a proportion ``p`` over ``n``."""
    return 1.96 * math.sqrt(max(p * (1 - p), 0.0) / max(n, 1))


def versus_digital(setting: str, djscc: str, ours: dict[str, Any], chain: dict[str, Any],
                   metric: str, what: str) -> str:
    """One report sentence: the DeepJSCC row ``ours`` (named ``djscc``) against the digital
    row ``chain`` at ``setting`` on the proportion ``metric`` (e.g. a top-1 accuracy, ``what``
    names its judge), with the 95 % interval of the difference (binomial over the test images
    of each, not paired) and "within noise" when it covers 0; plus the PSNR gap."""
    p, q = ours[metric], chain[metric]
    h = math.hypot(binomial_half_width(p, ours["n_images"]),
                   binomial_half_width(q, chain["n_images"]))
    gap = p - q
    verdict = ("within noise" if abs(gap) <= h else
               "DeepJSCC ahead" if gap > 0 else "the digital chain ahead")
    psnr = ("" if ours.get("psnr") is None or chain.get("psnr") is None
            else f"; PSNR {ours['psnr'] - chain['psnr']:+.1f} dB")
    mcs = chain["mcs"] if chain["mcs"] != "adaptive" else f"adaptive → {chain['mcs_index']}"
    return (f"* {setting}: `{djscc}` {100 * p:.1f} % vs digital {chain['codec']} (MCS {mcs}, "
            f"{chain['n_lost']}/{chain['n_images']} lost) {100 * q:.1f} % {what}: "
            f"{100 * gap:+.1f} points ± {100 * h:.1f}, {verdict}{psnr}.")
