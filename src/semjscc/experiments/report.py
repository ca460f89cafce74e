"""Pieces every experiment's ``report.md`` shares: markdown tables, number cells, durations,
differences with their intervals and the closing "Time and device" section."""

from __future__ import annotations

import datetime
import platform
from typing import Any

import torch

from ..config import TrainConfig
from ..evaluation.bootstrap import Interval, compare
from ..version import __version__


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def training_options(train: TrainConfig) -> str:
    """The DJSCC training options a recipe needs named when they are set: ``, gradient
    norm clipped at 0.1, bf16 autocast`` (empty for neither)."""
    clip = "" if train.grad_clip is None else f", gradient norm clipped at {train.grad_clip:g}"
    return clip + ("" if train.precision == "fp32" else f", {train.precision} autocast")


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


def seeds_of(rows: list[dict[str, Any]]) -> int:
    """The most training seeds pooled into any row (1 when none was trained)."""
    return max((int(r.get("n_seeds") or 1) for r in rows), default=1)


def interval_note(rows: list[dict[str, Any]]) -> str:
    """How the report's intervals are made, for a table's caption."""
    seeds = seeds_of(rows)
    pooled = (f"pooled with the spread across {seeds} training seeds by a two-level bootstrap"
              if seeds > 1 else "one training seed: `sweep.seeds` adds the spread across "
              "seeds")
    return ("95 % intervals: paired bootstrap over the test images, which both settings see "
            f"with the same noise draws; {pooled}; *within noise* when the interval covers 0")


def diff_cell(interval: Interval | None, scale: float = 1.0, digits: int = 2) -> str:
    """A table cell ``+0.12 [+0.05, +0.20]``, with ``≈`` in front when within noise."""
    if interval is None:
        return "–"
    e, lo, hi = (scale * v for v in (interval.estimate, interval.low, interval.high))
    mark = "≈ " if interval.within_noise else ""
    return f"{mark}{e:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"


def tally(intervals: list[Interval | None], better: str = "higher",
          worse: str = "lower") -> str:
    """``higher in 5, lower in 2, within noise in 14 of 21 settings`` (settings with an
    interval only)."""
    known = [i for i in intervals if i is not None]
    up = sum(not i.within_noise and i.estimate > 0 for i in known)
    down = sum(not i.within_noise and i.estimate < 0 for i in known)
    return (f"{better} in {up}, {worse} in {down}, within noise in {len(known) - up - down} "
            f"of {len(known)} settings")


def versus_digital(setting: str, djscc: str, ours: dict[str, Any], chain: dict[str, Any],
                   metric: str, what: str) -> str:
    """One report sentence: the DeepJSCC row ``ours`` (named ``djscc``) against the digital
    row ``chain`` at ``setting`` on the proportion ``metric`` (e.g. a top-1 accuracy, ``what``
    names its judge), with the paired 95 % interval of the difference and "within noise"
    when it covers 0; plus the PSNR gap."""
    gap = compare(ours, chain, metric)
    verdict = ("no interval (no per-image scores)" if gap is None else
               gap.verdict("DeepJSCC ahead", "the digital chain ahead"))
    diff = (f"{100 * (ours[metric] - chain[metric]):+.1f} points" if gap is None
            else gap.text(100, unit=" points"))
    psnr = ("" if ours.get("psnr") is None or chain.get("psnr") is None
            else f"; PSNR {ours['psnr'] - chain['psnr']:+.1f} dB")
    mcs = chain["mcs"] if chain["mcs"] != "adaptive" else f"adaptive → {chain['mcs_index']}"
    return (f"* {setting}: `{djscc}` {100 * ours[metric]:.1f} % vs digital {chain['codec']} "
            f"(MCS {mcs}, {chain['n_lost']}/{chain['n_images']} lost) "
            f"{100 * chain[metric]:.1f} % {what}: {diff}, {verdict}{psnr}.")
