"""The core paper's figures, regenerated from a results CSV.

Fig. 2 style: quality vs number of relays for DF (separation baselines as references);
Fig. 3 style: quality vs rate (bpp) for QF; and semantic alignment (hash bit agreement,
retrieval mAP) vs relays. Quality is LPIPS and PSNR as in the paper, or PSNR and MS-SSIM
when LPIPS is unavailable. Colour: method; line style: SNR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...plots import figure_of, save_figure


def quality_metrics(rows: list[dict[str, Any]]) -> list[str]:
    lpips = any(r.get("lpips") is not None for r in rows)
    return ["lpips", "psnr"] if lpips else ["psnr", "ms_ssim"]


def filled(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    """The columns of ``columns`` that hold at least one value in ``rows``."""
    return [c for c in columns if any(r.get(c) is not None for r in rows)]


def draw_figures(rows: list[dict[str, Any]], out: str | Path,
                 snr_db: list[float] | None = None) -> list[Path]:
    """Write fig2_df.png, fig3_qf.png, snr.png, semantic.png and digital.png (those with
    data) into ``out``; ``snr_db`` limits the SNRs drawn as line styles in the relay
    figures. Columns without any value (e.g. LPIPS without its weights) are left out."""
    out = Path(out)
    quality = quality_metrics(rows)
    shown = [r for r in rows if snr_db is None or r.get("snr_db") in snr_db]
    shared = [r for r in rows if r.get("protocol") == "df" and r.get("shared_codec") is not False]
    df = [r for r in shown if r.get("protocol") == "separation"
          or (r.get("protocol") == "df" and r.get("shared_codec") is not False)]
    qf = [r for r in rows if r.get("protocol") == "qf"]
    ends = {min(r["relays"] for r in shared), max(r["relays"] for r in shared)} if shared else set()
    digital = [r for r in shared + [r for r in rows if r.get("protocol") in ("digital",
                                                                         "separation")]
               if r.get("relays") in ends]
    if not any(r.get("protocol") == "digital" for r in digital):
        digital = []
    semantic = [r for r in df if r.get("protocol") == "df"]
    judged = filled(semantic, ["hash_bit_agreement", "map", "hash_bit_agreement_indep",
                               "hash_bit_agreement_xarch", "label_agreement"])
    specs = [
        ("fig2_df.png", df, "relays", quality, "snr_db",
         "DF multi-hop relaying (separation: ideal capacity-achieving digital links)"),
        ("fig3_qf.png", qf, "bpp", quality, "snr_db",
         "QF relaying: K-means quantised channel outputs"),
        ("snr.png", shared, "snr_db", quality, "relays",
         "Graceful degradation: quality against the SNR of every hop"),
        ("semantic.png", semantic, "relays", judged, "snr_db",
         "Semantic alignment: the training DHD and the independent judges"),
        ("digital.png", digital, "snr_db", [*quality, "accuracy"], "relays",
         "DeepJSCC against the practical digital chain (codec + 5G LDPC + QAM) and the "
         "ideal bound"),
    ]
    written = []
    for name, subset, x, ys, style, title in specs:
        ys = filled(subset, ys)
        if not subset or not ys:
            continue
        written.append(save_figure(figure_of(subset, x, ys, hue="method", style=style,
                                             title=title), out / name))
    return written
