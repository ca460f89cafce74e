"""Figures of the Earth-observation sweep, drawn from results.csv rows (``experiment:
eo-semloss``): quality against the SNR (one line per compression ratio R) and against R (one
line per SNR), one row of panels per channel setting and one column per metric, DJSCC solid
with markers and the separation baselines and digital chains dashed or dotted in the same
colours; and heat maps of task
accuracy over (R, SNR), one per channel setting and protocol."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ...channels import channel_param_columns
from ...plots.lines import LINESTYLES, MARKERS, plt, save_figure
from ...plots.semloss import ratio_label
from .analysis import SNR_OFFSET_DB

LABELS = {"psnr": "PSNR [dB]", "ssim": "SSIM", "ssim_gray": "SSIM, grey", "ms_ssim": "MS-SSIM",
          "lpips": "LPIPS (lower is better)",
          "snr_db": f"SNR [dB], ours (authors': {SNR_OFFSET_DB} dB lower)",
          "realized_cr": "compression ratio R (realised)"}
DJSCC = "djscc"


def metric_label(metric: str) -> str:
    """``accuracy_matched`` -> ``accuracy, matched classifier``; known names from LABELS."""
    score, _, protocol = metric.rpartition("_")
    if metric in LABELS or not score:
        return LABELS.get(metric, metric)
    return f"{score.replace('_w', ' (weighted)')}, {protocol} classifier"


def channel_setting(row: dict[str, Any]) -> str:
    """``awgn``, ``rician, k = 100, zf``: the channel columns of a row as text (each
    parameter by its label prefix)."""
    parts = [str(row["channel"])]
    parts += [f"{prefix} = {row[column]:g}" if isinstance(row[column], (int, float))
              else f"{prefix} = {row[column]}"
              for column, prefix in channel_param_columns().items() if row.get(column) is not None]
    if row.get("equalization") is not None:
        parts.append(str(row["equalization"]))
    return ", ".join(parts)


def _ordered(rows: list[dict[str, Any]], key: str, reverse: bool = False) -> list[Any]:
    return sorted({r[key] for r in rows}, reverse=reverse)


def _line(ax: Axes, rows: list[dict[str, Any]], x: str, y: str, **style: Any) -> None:
    points = sorted((r[x], r[y]) for r in rows if r.get(y) is not None)
    if points:
        ax.plot(*zip(*points), **style)


def quality_figure(rows: list[dict[str, Any]], x: str, metrics: Sequence[str],
                   title: str) -> Figure:
    """``metrics`` (one column of panels each) against ``x`` (``snr_db`` or ``realized_cr``),
    one row per channel setting; one colour per value of the other axis (R or SNR)."""
    line_key = "realized_cr" if x == "snr_db" else "snr_db"
    settings = sorted({channel_setting(r) for r in rows})
    values = _ordered(rows, line_key, reverse=line_key == "realized_cr")
    colours = dict(zip(values, plt.get_cmap("viridis")(np.linspace(0.0, 0.9, len(values)))))
    codecs = sorted({r["method"] for r in rows} - {DJSCC})
    styles = [s for s in LINESTYLES if s != "-"]  # solid: DJSCC
    dashes = {m: styles[i % len(styles)] for i, m in enumerate(codecs)}
    fig, axes = plt.subplots(len(settings), len(metrics), squeeze=False, layout="constrained",
                             figsize=(4.2 * len(metrics), 3.4 * len(settings) + 0.8))
    for row, setting in enumerate(settings):
        here = [r for r in rows if channel_setting(r) == setting]
        for col, metric in enumerate(metrics):
            ax = axes[row, col]
            for i, value in enumerate(values):
                members = [r for r in here if r[line_key] == value]
                _line(ax, [r for r in members if r["method"] == DJSCC], x, metric,
                      color=colours[value], marker=MARKERS[i % len(MARKERS)], markersize=4)
                for codec in codecs:
                    _line(ax, [r for r in members if r["method"] == codec], x, metric,
                          color=colours[value], linestyle=dashes[codec], linewidth=1.0,
                          alpha=0.8)
            if x == "realized_cr":
                ax.set_xscale("log", base=2)
                ticks = _ordered(here, x)
                ax.set_xticks(ticks, [ratio_label(t) for t in ticks])
                ax.minorticks_off()
            else:  # the EO authors' nominal SNR of the same link on a second axis
                top = ax.secondary_xaxis("top", functions=(lambda s: s - SNR_OFFSET_DB,
                                                           lambda s: s + SNR_OFFSET_DB))
                top.set_xlabel("authors' SNR [dB]", fontsize="small")
            ax.set_xlabel(LABELS[x])
            ax.set_ylabel(metric_label(metric))
            ax.set_title(setting, fontsize="small")
            ax.grid(True, alpha=0.3)
    name = (lambda v: f"R = {ratio_label(v)}") if line_key == "realized_cr" \
        else (lambda v: f"SNR {v:g} dB")
    handles = [Line2D([], [], color=colours[v], marker=MARKERS[i % len(MARKERS)], label=name(v))
               for i, v in enumerate(values)]
    handles += [Line2D([], [], color="0.3", label="DJSCC")]
    handles += [Line2D([], [], color="0.3", linestyle=dashes[c], label=c) for c in codecs]
    fig.legend(handles=handles, loc="outside lower center", fontsize="x-small",
               ncols=min(len(handles), 8))
    fig.suptitle(title)
    return fig


def heatmap_figure(rows: list[dict[str, Any]], protocols: Sequence[str]) -> Figure:
    """DJSCC accuracy over R (rows, largest first) × SNR (columns), one panel per protocol
    (rows of panels) and channel setting (columns), values written in the cells."""
    rows = [r for r in rows if r["method"] == DJSCC]
    settings = sorted({channel_setting(r) for r in rows})
    width = max(3.8, 1.5 + 0.7 * len(_ordered(rows, "snr_db")))
    height = max(2.4, 1.4 + 0.45 * len(_ordered(rows, "realized_cr")))
    fig, axes = plt.subplots(len(protocols), len(settings), squeeze=False, layout="constrained",
                             figsize=(width * len(settings) + 1.2, height * len(protocols)))
    for col, setting in enumerate(settings):
        here = [r for r in rows if channel_setting(r) == setting]
        ratios, snrs = _ordered(here, "realized_cr", reverse=True), _ordered(here, "snr_db")
        for row, protocol in enumerate(protocols):
            ax = axes[row, col]
            grid = np.full((len(ratios), len(snrs)), np.nan)
            for r in here:
                grid[ratios.index(r["realized_cr"]), snrs.index(r["snr_db"])] = \
                    np.nan if r.get(f"accuracy_{protocol}") is None else r[f"accuracy_{protocol}"]
            image = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
            for (i, j), value in np.ndenumerate(grid):
                if np.isfinite(value):
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize="x-small",
                            color="white" if value < 0.6 else "black")
            ax.set_xticks(range(len(snrs)), [f"{s:g}" for s in snrs])
            ax.set_yticks(range(len(ratios)), [ratio_label(r) for r in ratios])
            ax.set_xlabel(LABELS["snr_db"])
            ax.set_ylabel("R (realised)")
            ax.set_title(f"{setting}: {protocol}", fontsize="small")
    fig.colorbar(image, ax=axes, label="top-1 accuracy")
    fig.suptitle("DJSCC task accuracy over (R, SNR)")
    return fig


def draw_eo_figures(rows: list[dict[str, Any]], out: str | Path,
                    protocols: Sequence[str]) -> list[Path]:
    """Write ``quality_vs_snr.png``, ``quality_vs_ratio.png`` and (with a protocol)
    ``accuracy_heatmap.png`` into ``out``; metrics without any value (e.g. LPIPS without the
    AlexNet file) are left out."""
    out = Path(out)
    wanted = ["psnr", "ssim", "lpips", *[f"accuracy_{p}" for p in protocols]]
    metrics = [m for m in wanted if any(r.get(m) is not None for r in rows)]
    written = [
        save_figure(quality_figure(rows, "snr_db", metrics, "Quality against SNR"),
                    out / "quality_vs_snr.png"),
        save_figure(quality_figure(rows, "realized_cr", metrics,
                                   "Quality against compression ratio"),
                    out / "quality_vs_ratio.png"),
    ]
    if protocols:
        written.append(save_figure(heatmap_figure(rows, protocols), out / "accuracy_heatmap.png"))
    return written
