"""ROC curves of hash-based authentication: genuine acceptance vs false acceptance."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .lines import LINESTYLES


def roc_figure(rows: list[dict[str, Any]]) -> Figure:
    """One panel per SNR; colour per method, line style per number of relays."""
    snrs = sorted({r["snr_db"] for r in rows})
    methods = sorted({r["method"] for r in rows})
    relays = sorted({r["relays"] for r in rows})
    curves: dict[tuple[Any, Any, Any], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        curves[(r["snr_db"], r["method"], r["relays"])].append(r)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(snrs), figsize=(5 * len(snrs), 4.2), squeeze=False,
                             layout="constrained")
    for ax, snr in zip(axes[0], snrs):
        for (s, method, r), points in sorted(curves.items()):
            if s != snr:
                continue
            points.sort(key=lambda p: p["threshold"])
            ax.plot([p["far"] for p in points], [1 - p["frr"] for p in points],
                    color=colours[methods.index(method) % len(colours)],
                    linestyle=LINESTYLES[relays.index(r) % len(LINESTYLES)],
                    label=f"{method}, r = {r} (EER {points[0]['eer']:.3f})")
        chance = np.concatenate([[0.0], np.logspace(-4, 0, 200)])
        ax.plot(chance, chance, color="0.7", linewidth=0.8, label="chance")
        ax.set_xscale("symlog", linthresh=1e-3)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("false-accept rate (impostor pairs)")
        ax.set_ylabel("genuine-accept rate (1 − false-reject rate)")
        ax.set_title(f"SNR {snr:g} dB")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="x-small", loc="lower right")
    return fig
