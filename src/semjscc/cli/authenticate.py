"""``semjscc authenticate``: hash-based acceptance of reconstructions (FAR/FRR, ROC)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..evaluation.authenticate import authenticate
from ..evaluation.results import write_results
from ..plots import save_figure
from ..plots.roc import roc_figure
from .common import device_spec, in_file, out_dir, relay_list, snr_list

log = logging.getLogger("semjscc")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "authenticate", help="FAR/FRR of accepting reconstructions by their DHD hash",
        description="The sender's hash travels on a protected side channel; the receiver "
        "accepts a reconstruction when the Hamming distance of its hash is <= a threshold. "
        "Writes DIR/authentication.csv (FAR, FRR per threshold) and DIR/roc.png.")
    p.add_argument("--dhd", required=True, type=in_file, help="DHD checkpoint (best.pt of train-dhd)")
    p.add_argument("--checkpoint", action="append", required=True, type=in_file,
                   help="DeepJSCC checkpoint; repeat to compare methods")
    p.add_argument("--snr-db", type=snr_list, default=None, help="e.g. -10,0,10")
    p.add_argument("--relays", type=relay_list, default=None, help="e.g. 0,1,2")
    p.add_argument("--out", required=True, type=out_dir, help="output directory")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default="auto", type=device_spec)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = authenticate(args.dhd, args.checkpoint, args.snr_db, args.relays, args.device,
                        args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_results(rows, out / "authentication.csv")
    save_figure(roc_figure(rows), out / "roc.png")
    print(f"{'method':>10} {'relays':>6} {'snr_db':>7} {'EER':>7} {'at t':>5} {'genuine':>8} {'impostor':>9}")
    for row in rows:
        if row["threshold"] == 0:
            print(f"{row['method']:>10} {row['relays']:>6} {row['snr_db']:>7g} {row['eer']:>7.4f} "
                  f"{row['eer_threshold']:>5} {row['n_genuine']:>8} {row['n_impostor']:>9}")
    log.info("wrote %s and %s", out / "authentication.csv", out / "roc.png")
    return 0
