"""Line plots over tidy result rows: metric vs a setting, one line per (hue, style) group."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from ..files import atomic_write  # noqa: E402


@dataclass(frozen=True)
class Quantity:
    label: str
    higher_is_better: bool | None = None


QUANTITIES = {
    "psnr": Quantity("PSNR [dB]", True),
    "ms_ssim": Quantity("MS-SSIM", True),
    "lpips": Quantity("LPIPS", False),
    "hash_cos": Quantity("hash cosine similarity", True),
    "hash_bit_agreement": Quantity("hash bit agreement", True),
    "map": Quantity("mAP, reconstructed queries", True),
    "map_clean": Quantity("mAP, clean queries", True),
    "relays": Quantity("number of relays r"),
    "snr_db": Quantity("SNR [dB]"),
    "bpp": Quantity("rate [bpp]"),
    "method": Quantity("method"),
}
LINESTYLES = ["--", ":", "-.", "-", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]


def axis_label(name: str) -> str:
    q = QUANTITIES.get(name)
    if q is None:
        return name
    if q.higher_is_better is None:
        return q.label
    return f"{q.label} ({'higher' if q.higher_is_better else 'lower'} is better)"


def _legend_value(name: str, value: Any) -> str:
    if name == "snr_db":
        return f"SNR {value:g} dB"
    if name == "relays":
        return f"r = {value}"
    return f"{value}"


def _order(values: set[Any]) -> list[Any]:
    return sorted(values, key=lambda v: (isinstance(v, str), v))


def filter_rows(rows: list[dict[str, Any]], where: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows whose columns equal every ``where`` value (compared as strings)."""
    return [r for r in rows if all(str(r.get(k)) == str(v) for k, v in where.items())]


def plot_lines(ax: Axes, rows: list[dict[str, Any]], x: str, y: str, hue: str | None = None,
               style: str | None = None) -> Axes:
    """Draw ``y`` against ``x``: colour per ``hue`` value, line style per ``style`` value, with
    one legend entry per hue value and one per style value."""
    rows = [r for r in rows if r.get(y) is not None and r.get(x) is not None]
    hues = _order({r.get(hue) for r in rows}) if hue else [None]
    styles = _order({r.get(style) for r in rows}) if style else [None]
    groups: dict[tuple[Any, Any], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r.get(hue) if hue else None, r.get(style) if style else None)].append(r)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colour = {h: colours[i % len(colours)] for i, h in enumerate(hues)}
    marker = {h: MARKERS[i % len(MARKERS)] for i, h in enumerate(hues)}
    dash = {s: LINESTYLES[i % len(LINESTYLES)] if style else "-" for i, s in enumerate(styles)}
    for (h, s), members in groups.items():
        members.sort(key=lambda r: r[x])
        ax.plot([r[x] for r in members], [r[y] for r in members], color=colour[h],
                linestyle=dash[s], marker=marker[h], markersize=4)
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel(axis_label(y))
    if x == "relays":
        ax.set_xticks(sorted({r[x] for r in rows}))
    ax.grid(True, alpha=0.3)
    handles = []
    if hue:
        handles += [Line2D([], [], color=colour[h], marker=marker[h], label=_legend_value(hue, h))
                    for h in hues]
    if style:
        handles += [Line2D([], [], color="0.2", linestyle=dash[s], label=_legend_value(style, s))
                    for s in styles]
    if handles:
        ax.legend(handles=handles, fontsize="x-small")
    return ax


def save_figure(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Write ``fig`` atomically (format from the suffix) and close it."""
    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return atomic_write(path, lambda fh: fh.write(buffer.getvalue()))


def figure_of(rows: list[dict[str, Any]], x: str, ys: list[str], hue: str | None = None,
              style: str | None = None, title: str | None = None) -> Figure:
    """One panel per metric in ``ys``, side by side."""
    fig, axes = plt.subplots(1, len(ys), figsize=(5.2 * len(ys), 4.2), squeeze=False,
                             layout="constrained")
    for ax, y in zip(axes[0], ys):
        plot_lines(ax, rows, x, y, hue, style)
    if title:
        fig.suptitle(title)
    return fig
