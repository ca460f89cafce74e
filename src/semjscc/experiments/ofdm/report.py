"""OUT/report.md and the figures of ``experiment: ofdm``: one SNR figure per UE speed, the
AWGN- against the OFDM-trained DeepJSCC over the test channel at the lowest and highest SNR,
what perfect CSI adds, and where the adaptive digital chain overtakes DeepJSCC."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ...evaluation.bootstrap import compare
from ...files import write_text
from ...plots.lines import figure_of, filter_rows, save_figure
from ..report import diff_cell, interval_note, markdown_table, num, time_and_device_lines
from .plan import METHOD_PREFIX

if TYPE_CHECKING:
    from .plan import OFDMPlan


def draw_figures(rows: list[dict[str, Any]], out: Path) -> list[Path]:
    """``snr_v<speed>.png``: PSNR and accuracy against the SNR at each UE speed, a colour per
    method (DeepJSCC per training channel, digital per MCS), a line style per receiver CSI."""
    paths = []
    for speed in sorted({r["speed_mps"] for r in rows}):
        fig = figure_of(filter_rows(rows, {"speed_mps": speed}), "snr_db", ["psnr", "accuracy"],
                        hue="method", style="csi", title=f"OFDM, UE speed {speed:g} m/s")
        paths.append(save_figure(fig, out / f"snr_v{speed:g}.png"))
    return paths


def _row(rows: list[dict[str, Any]], **where: Any) -> dict[str, Any] | None:
    found = filter_rows(rows, where)
    return found[0] if found else None


def _cell(row: dict[str, Any] | None, metric: str, scale: float, digits: int) -> str:
    if row is None or row.get(metric) is None:
        return "–"
    text = f"{scale * row[metric]:.{digits}f}"
    if row.get(f"{metric}_lo") is not None:
        low, high = (scale * row[f"{metric}_{end}"] for end in ("lo", "hi"))
        text += f" [{low:.{digits}f}, {high:.{digits}f}]"
    return text


def _gap(a: dict[str, Any] | None, b: dict[str, Any] | None, metric: str, scale: float) -> str:
    return "–" if a is None or b is None else diff_cell(compare(a, b, metric), scale)


def _training_table(rows: list[dict[str, Any]], methods: list[str]) -> list[str]:
    """Each DeepJSCC at the lowest and highest test SNR per speed × CSI, and the paired gap
    of the last method (the OFDM-trained one) over the first (the AWGN-trained one)."""
    snrs = sorted({r["snr_db"] for r in rows})
    header = ["speed", "CSI", "SNR"] + [f"{m} {what}" for m in methods
                                        for what in ("PSNR", "acc. %")]
    header += [f"{methods[-1]} − {methods[0]} PSNR", "acc. points"]
    table = []
    for speed in sorted({r["speed_mps"] for r in rows}):
        for csi in sorted({r["csi"] for r in rows if r["method"].startswith(METHOD_PREFIX)}):
            for snr in (snrs[0], snrs[-1]):
                at = [_row(rows, method=m, speed_mps=speed, csi=csi, snr_db=snr)
                      for m in methods]
                table.append([f"{speed:g} m/s", csi, f"{snr:g} dB",
                              *[c for r in at for c in (_cell(r, "psnr", 1, 2),
                                                        _cell(r, "accuracy", 100, 1))],
                              _gap(at[-1], at[0], "psnr", 1), _gap(at[-1], at[0], "accuracy", 100)])
    return [markdown_table(header, table)]


def _csi_lines(rows: list[dict[str, Any]], method: str) -> list[str]:
    """What perfect CSI adds to ``method`` over LS, per speed, at every SNR."""
    lines = []
    for speed in sorted({r["speed_mps"] for r in rows}):
        cells = []
        for snr in sorted({r["snr_db"] for r in rows}):
            ls, perfect = (_row(rows, method=method, speed_mps=speed, csi=c, snr_db=snr)
                           for c in ("ls", "perfect"))
            cells.append(f"{snr:g} dB: PSNR {_gap(perfect, ls, 'psnr', 1)}, accuracy "
                         f"{_gap(perfect, ls, 'accuracy', 100)} points")
        lines.append(f"* {speed:g} m/s: " + "; ".join(cells) + ".")
    return lines


def _digital_lines(rows: list[dict[str, Any]], methods: list[str]) -> list[str]:
    """Per digital setting (MCS) and speed (LS CSI): the chain against the DeepJSCC most
    accurate there at every SNR (accuracy and PSNR, paired), and the lowest SNR from which
    the chain is ahead beyond noise in accuracy."""
    lines = []
    chains = list(dict.fromkeys(r["method"] for r in rows if r.get("mcs") is not None))
    for chain in chains:
        for speed in sorted({r["speed_mps"] for r in rows}):
            overtakes, cells = None, []
            for snr in sorted({r["snr_db"] for r in rows}):
                digital = _row(rows, method=chain, speed_mps=speed, csi="ls", snr_db=snr)
                ours = [r for m in methods
                        if (r := _row(rows, method=m, speed_mps=speed, csi="ls", snr_db=snr))]
                if digital is None or not ours:
                    continue
                best = max(ours, key=lambda r: r["accuracy"])
                gap = compare(digital, best, "accuracy")
                if overtakes is None and gap is not None and gap.low > 0:
                    overtakes = snr
                cells.append(f"{snr:g} dB (MCS {digital['mcs_index']}, {digital['n_lost']}/"
                             f"{digital['n_images']} lost) vs `{best['method']}`: accuracy "
                             f"{diff_cell(gap, 100, 1)} points, PSNR "
                             f"{_gap(digital, best, 'psnr', 1)} dB")
            where = ("never ahead beyond noise in accuracy" if overtakes is None
                     else f"ahead beyond noise in accuracy from {overtakes:g} dB")
            lines.append(f"* {speed:g} m/s, `{chain}`: {where}; " + "; ".join(cells) + ".")
    return lines


def write_report(plan: OFDMPlan, rows: list[dict[str, Any]], figures: list[Path],
                 device: torch.device, seconds: float) -> Path:
    cfg, study = plan.cfg, plan.cfg.ofdm
    channel = plan.test_channels()[0]
    methods = list(dict.fromkeys(run.method for run in plan.runs))
    first = rows[0] if rows else {}
    lines = [
        f"# {cfg.name}: DeepJSCC and the digital chain over OFDM ({channel.model.upper()})", "",
        "## Setup", "",
        f"* Data: {cfg.data.kind} at {cfg.data.image_size}×{cfg.data.image_size}; "
        f"Bourtsoulatze DJSCC at R = {study.ratio}: k = {first.get('k')} data symbols per image.",
        f"* OFDM (Sionna): {channel.fft_size} subcarriers at {channel.subcarrier_spacing_khz:g} "
        f"kHz, {channel.num_ofdm_symbols} OFDM symbols, cyclic prefix {channel.cyclic_prefix}, "
        f"Kronecker pilots on OFDM symbols {channel.pilot_symbols}: pilot overhead "
        f"{channel.pilot_overhead:.4f} (pilot REs per data RE); an image takes "
        f"{first.get('channel_uses')} REs (its slots' data, pilots and padding). DeepJSCC and "
        "the digital chain send the same k data symbols per image, the pilots on top.",
        f"* Channel: {channel.model.upper()}, delay spread {channel.delay_spread_ns:g} ns, "
        f"{channel.carrier_frequency_ghz:g} GHz, UE speeds "
        f"{', '.join(f'{s:g}' for s in study.speeds)} m/s; a bank of {channel.bank_size} slot "
        "responses; receiver: LS on the pilots with "
        f"`{channel.interpolation}` interpolation (or perfect CSI), then LMMSE. SNR per data "
        "symbol at the receiver input, E|h|² = 1.",
        "* DeepJSCC models (one per training channel, loss "
        f"`{cfg.train.loss}`, SNR uniform in {study.train_snr_db} dB): "
        + ", ".join(f"`{run.method}` over `{run.cfg.link.channel}`" for run in plan.runs) + ".",
        f"* Accuracy: the task classifier ({cfg.task.model}) on the outputs; on clean images "
        f"{num(first.get('accuracy_clean'), 3)}. {interval_note(rows)}.", "",
        "## AWGN-trained against OFDM-trained DeepJSCC", "",
        *_training_table(rows, methods), "",
        "PSNR in dB and accuracy in %, each with its 95 % image-bootstrap interval; the gaps "
        "are paired differences with their intervals (≈: within noise).", "",
        f"## What perfect CSI adds (`{methods[-1]}`, perfect − LS)", "",
        *_csi_lines(rows, methods[-1]), "",
        "## The digital chain on the same channel (LS CSI)", "",
        "Adaptive MCS: the highest index whose AWGN-table BLER at the average SNR less "
        "1 dB is at most 10 % (the transmitter knows the average SNR only; no fading "
        "margin). Differences: digital − DeepJSCC.", "",
        *_digital_lines(rows, methods), "",
        "## Figures", "",
        *[f"![{p.stem}]({p.name})" for p in figures], "",
        *time_and_device_lines(device, seconds),
    ]
    path = plan.out / "report.md"
    write_text(path, "\n".join(lines))
    return path
