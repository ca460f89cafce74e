"""Figures of the semantic-importance experiment (``experiment: importance``), drawn from its
results.csv rows: top-1 accuracy against the test SNR, one line per method (each test SNR
served by the model trained nearest to it, the ``served`` rows) and the separation baselines
dashed, one column of panels per compression ratio R and one row per classifier (the task
network T of the losses, the independent one); and the gain of every method over ``mse`` in
accuracy points, laid out the same way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ...plots.lines import LINESTYLES, MARKERS, plt, save_figure
from ...plots.semloss import ratio_label

CLASSIFIER_LABELS = {"task": "task network T (used in the losses)",
                     "indep": "independent classifier (never used in training)"}
BASELINE = "mse"
SEPARATION = "separation-"
BASELINES = (SEPARATION, "digital-")  # method prefixes of the non-DJSCC rows


def djscc_methods(rows: list[dict[str, Any]]) -> list[str]:
    """DJSCC method labels in order of first appearance."""
    return list(dict.fromkeys(r["method"] for r in rows if r.get("served") is not None))


def served_rows(rows: list[dict[str, Any]], method: str, ratio: float) -> list[dict[str, Any]]:
    """The rows of ``method`` at realised ratio ``ratio`` that draw its curve, by test SNR:
    served DJSCC rows, or a separation baseline's rows."""
    here = [r for r in rows if r["method"] == method and r["realized_cr"] == ratio]
    if not method.startswith(BASELINES):
        here = [r for r in here if r.get("served")]
    return sorted(here, key=lambda r: r["snr_db"])


def _grid(rows: list[dict[str, Any]]) -> tuple[Figure, Any, list[float]]:
    ratios = sorted({r["realized_cr"] for r in rows}, reverse=True)
    fig, axes = plt.subplots(len(CLASSIFIER_LABELS), len(ratios), squeeze=False,
                             layout="constrained", sharey="row",
                             figsize=(max(8.0, 4.4 * len(ratios)),
                                      3.4 * len(CLASSIFIER_LABELS) + 1.2))
    return fig, axes, ratios


def _style(methods: list[str], index: int) -> dict[str, Any]:
    colours = plt.get_cmap("tab10")
    return {"color": colours(index % 10), "marker": MARKERS[index % len(MARKERS)],
            "markersize": 4, "label": methods[index]}


def accuracy_figure(rows: list[dict[str, Any]]) -> Figure:
    """Accuracy against test SNR per method (see the module docstring), with each
    classifier's clean accuracy as a dotted line."""
    fig, axes, ratios = _grid(rows)
    methods = djscc_methods(rows)
    codecs = sorted({r["method"] for r in rows if r["method"].startswith(BASELINES)})
    for row, name in enumerate(CLASSIFIER_LABELS):
        column = f"accuracy_{name}"
        for col, ratio in enumerate(ratios):
            ax = axes[row, col]
            for i, method in enumerate(methods):
                _plot(ax, served_rows(rows, method, ratio), column, **_style(methods, i))
            for j, codec in enumerate(codecs):
                _plot(ax, served_rows(rows, codec, ratio), column,
                      linestyle=LINESTYLES[j % 3], linewidth=1.0,
                      color="0.35" if codec.startswith(SEPARATION) else "tab:brown",
                      label=codec)
            clean = [r[f"{column}_clean"] for r in rows if r.get(f"{column}_clean") is not None]
            if clean:
                ax.axhline(clean[0], color="0.6", linestyle=":", linewidth=1.0,
                           label="clean images")
            _decorate(ax, ratio, name, "top-1 accuracy")
    _legend(fig, axes)
    fig.suptitle("Task accuracy against test SNR\n(each SNR served by the model trained nearest "
                 "to it)", fontsize="medium")
    return fig


def _plot(ax: Axes, rows: list[dict[str, Any]], column: str,
          value: Callable[[dict[str, Any]], float] | None = None,
          keep: Callable[[dict[str, Any]], bool] = lambda r: True, **style: Any) -> None:
    """One line of ``value(row)`` (default: the ``column`` value) against the test SNR over
    the rows where ``column`` is filled and ``keep`` holds."""
    points = [(r["snr_db"], r[column] if value is None else value(r)) for r in rows
              if r.get(column) is not None and keep(r)]
    if points:
        ax.plot(*zip(*points), **style)


def _decorate(ax: Axes, ratio: float, classifier: str, ylabel: str) -> None:
    ax.set_title(f"R = {ratio_label(ratio)}: {CLASSIFIER_LABELS[classifier]}",
                 fontsize="small")
    ax.set_xlabel("test SNR [dB]")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)


def _legend(fig: Figure, axes: Any) -> None:
    """One legend below the panels, from the first panel's lines (none when it has none)."""
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if labels:
        fig.legend(handles, labels, loc="outside lower center", fontsize="x-small",
                   ncols=min(len(labels), 4))


def gain_figure(rows: list[dict[str, Any]]) -> Figure:
    """Accuracy of every DJSCC method minus ``mse``'s at the same R and test SNR, in
    points, per classifier."""
    fig, axes, ratios = _grid(rows)
    methods = djscc_methods(rows)
    for row, name in enumerate(CLASSIFIER_LABELS):
        column = f"accuracy_{name}"
        for col, ratio in enumerate(ratios):
            ax = axes[row, col]
            base = {r["snr_db"]: r[column] for r in served_rows(rows, BASELINE, ratio)
                    if r.get(column) is not None}
            for i, method in enumerate(methods):
                if method != BASELINE:
                    _plot(ax, served_rows(rows, method, ratio), column,
                          lambda r: 100 * (r[column] - base[r["snr_db"]]),
                          lambda r: r["snr_db"] in base, **_style(methods, i))
            ax.axhline(0.0, color="0.4", linewidth=0.8)
            _decorate(ax, ratio, name, "accuracy gain over mse [points]")
    _legend(fig, axes)
    fig.suptitle("Accuracy gain over DJSCC without semantics (mse)", fontsize="medium")
    return fig


def draw_importance_figures(rows: list[dict[str, Any]], out: str | Path) -> list[Path]:
    """Write ``accuracy_vs_snr.png`` and (with an ``mse`` method) ``gain_vs_snr.png`` into
    ``out``."""
    out = Path(out)
    written = [save_figure(accuracy_figure(rows), out / "accuracy_vs_snr.png")]
    if BASELINE in djscc_methods(rows):
        written.append(save_figure(gain_figure(rows), out / "gain_vs_snr.png"))
    return written
