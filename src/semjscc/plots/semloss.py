"""Figures of semantic-loss fits: curves against the points, loss contours, U3's MAPE vs
number of terms, residuals. Arrays are 1-D of equal length (R, SNR in dB, quality M)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..semloss import Assessment, SemanticLossModel
from .lines import MARKERS


def ratio_label(cr: float) -> str:
    """``1/12`` when R is (close to) a unit fraction, else ``0.0833``."""
    f = Fraction(cr).limit_denominator(1000)
    return f"{f.numerator}/{f.denominator}" if abs(float(f) - cr) < 1e-4 * cr else f"{cr:.3g}"


def _ratios(cr: np.ndarray) -> list[float]:
    return sorted({round(float(r), 9) for r in cr}, reverse=True)


def _panels(n: int, title: str) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 3.9), squeeze=False, sharey=True,
                             layout="constrained")
    fig.suptitle(title)
    return fig, axes[0]


def _colours(n: int) -> list[Any]:
    return list(plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(n, 1))))


def _mape_text(a: Assessment) -> str:
    cv = f"{a.cv_mape:.2f} %" if np.isfinite(a.cv_mape) else "n/a"
    return f"MAPE {a.train['mape']:.2f} %, CV {cv}"


def curves_figure(cr: np.ndarray, snr_db: np.ndarray, values: np.ndarray,
                  fits: Mapping[str, Assessment], metric: str, chosen: str,
                  title: str = "") -> Figure:
    """One panel per family: quality vs SNR, one colour per R, measured points and the
    fitted curve of each R."""
    ratios = _ratios(cr)
    colours = _colours(len(ratios))
    fig, axes = _panels(len(fits), title)
    grid = np.linspace(snr_db.min(), snr_db.max(), 200)
    for ax, (name, a) in zip(axes, fits.items()):
        for i, r in enumerate(ratios):
            on = np.isclose(cr, r, rtol=1e-6)
            ax.plot(snr_db[on], values[on], MARKERS[i % len(MARKERS)], color=colours[i],
                    markersize=4, linestyle="none", label=f"R = {ratio_label(r)}")
            ax.plot(grid, a.fit.predict(r, grid), color=colours[i], linewidth=1.2)
        mark = " (chosen)" if name == chosen else ""
        ax.set_title(f"{name}{mark}: {_mape_text(a)}", fontsize="small")
        ax.set_xlabel("SNR [dB]")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(f"quality M of {metric}")
    axes[0].legend(fontsize="x-small")
    return fig


def residuals_figure(cr: np.ndarray, snr_db: np.ndarray, values: np.ndarray,
                     fits: Mapping[str, Assessment], metric: str, title: str = "") -> Figure:
    """One panel per family: residual (measured − predicted M) vs SNR, one colour per R."""
    ratios = _ratios(cr)
    colours = _colours(len(ratios))
    fig, axes = _panels(len(fits), title)
    for ax, (name, a) in zip(axes, fits.items()):
        residual = values - a.fit.predict(cr, snr_db)
        for i, r in enumerate(ratios):
            on = np.isclose(cr, r, rtol=1e-6)
            ax.plot(snr_db[on], residual[on], MARKERS[i % len(MARKERS)], color=colours[i],
                    markersize=4, linestyle="none", label=f"R = {ratio_label(r)}")
        ax.axhline(0.0, color="0.4", linewidth=0.8)
        ax.set_title(f"{name}: RMSE {a.train['rmse']:.3g}", fontsize="small")
        ax.set_xlabel("SNR [dB]")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(f"residual of {metric} (measured − fitted M)")
    axes[0].legend(fontsize="x-small")
    return fig


def loss_contour_figure(model: SemanticLossModel, cr: np.ndarray, snr_db: np.ndarray,
                        title: str = "") -> Figure:
    """Semantic loss L = 1 − M/M_clean of ``model`` over (SNR, R) with the measured settings
    as dots; a single R gives L vs SNR instead."""
    fig, ax = plt.subplots(figsize=(5.6, 4.2), layout="constrained")
    snr = np.linspace(snr_db.min(), snr_db.max(), 160)
    ratios = _ratios(cr)
    if len(ratios) == 1:
        ax.plot(snr, model.semantic_loss(ratios[0], snr), color="C0")
        ax.set_ylabel(f"semantic loss L at R = {ratio_label(ratios[0])}")
    else:
        r = np.geomspace(min(ratios) / 1.15, max(ratios) * 1.15, 120)
        loss = model.semantic_loss(r[:, None], snr[None, :])
        filled = ax.contourf(snr, r, loss, levels=14, cmap="magma_r")
        lines = ax.contour(snr, r, loss, levels=filled.levels[::2], colors="white",
                           linewidths=0.6)
        ax.clabel(lines, fontsize="x-small", fmt="%.2f")
        fig.colorbar(filled, ax=ax, label="semantic loss L = 1 − M / M_clean")
        ax.scatter(snr_db, cr, s=10, color="k", edgecolors="white", linewidths=0.5,
                   label="measured settings")
        ax.set_yscale("log")
        ax.set_yticks(ratios, [ratio_label(v) for v in ratios])
        ax.minorticks_off()
        ax.set_ylabel("compression ratio R")
        ax.legend(fontsize="x-small", loc="lower right")
    ax.set_xlabel("SNR [dB]")
    ax.set_title(title or f"{model.family} semantic loss of {model.metric}", fontsize="small")
    return fig


def terms_figure(curves: Mapping[str, list[dict[str, Any]]], title: str = "") -> Figure:
    """U3's MAPE vs number of terms, one colour per metric: CV (solid) and training (dashed)
    MAPE, the chosen N ringed."""
    fig, ax = plt.subplots(figsize=(5.2, 4.0), layout="constrained")
    for i, (metric, curve) in enumerate(curves.items()):
        done = [c for c in curve if "skipped" not in c]
        n = [c["n_terms"] for c in done]
        cv = [np.nan if c["cv_mape"] is None else c["cv_mape"] for c in done]
        ax.plot(n, cv, "-o", color=f"C{i}", markersize=4, label=f"{metric}: CV MAPE")
        ax.plot(n, [c["train_mape"] for c in done], "--", color=f"C{i}", linewidth=1,
                label=f"{metric}: training MAPE")
        for c, value in zip(done, cv):
            if c["chosen"]:
                ax.plot(c["n_terms"], value, "o", markersize=11, markerfacecolor="none",
                        color=f"C{i}")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel("number of terms N of U3")
    ax.set_ylabel("MAPE [%]")
    ax.set_xticks(range(1, 1 + max((len(c) for c in curves.values()), default=1)))
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize="x-small")
    ax.set_title(title or "U3: MAPE vs number of terms", fontsize="small")
    return fig
