"""The core paper's figures, regenerated from a results CSV.

Fig. 2 style: quality vs number of relays for DF (separation baselines as references);
Fig. 3 style: quality vs rate (bpp) for QF; and semantic alignment (hash bit agreement,
retrieval mAP) vs relays. Quality is LPIPS and PSNR as in the paper, or PSNR and MS-SSIM
when LPIPS is unavailable. Colour: method; line style: SNR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .lines import figure_of


def quality_metrics(rows: list[dict[str, Any]]) -> list[str]:
    return ["lpips", "psnr"] if any(r.get("lpips") is not None for r in rows) else ["psnr", "ms_ssim"]


def draw_figures(rows: list[dict[str, Any]], out: str | Path) -> list[Path]:
    """Write fig2_df.png, fig3_qf.png and semantic.png (those with data) into ``out``."""
    out = Path(out)
    quality = quality_metrics(rows)
    df = [r for r in rows if r.get("protocol") in ("df", "separation")]
    qf = [r for r in rows if r.get("protocol") == "qf"]
    semantic = [r for r in rows if r.get("protocol") == "df" and r.get("hash_bit_agreement") is not None]
    specs = [
        ("fig2_df.png", df, "relays", quality,
         "DF multi-hop relaying (separation: ideal capacity-achieving digital links)"),
        ("fig3_qf.png", qf, "bpp", quality, "QF relaying: K-means quantised channel outputs"),
        ("semantic.png", semantic, "relays", ["hash_bit_agreement", "map"],
         "Semantic alignment through the frozen DHD"),
    ]
    written = []
    for name, subset, x, ys, title in specs:
        if not subset:
            continue
        fig = figure_of(subset, x, ys, hue="method", style="snr_db", title=title)
        fig.savefig(out / name, dpi=150)
        written.append(out / name)
    return written
