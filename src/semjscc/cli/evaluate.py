"""``semjscc eval``: metrics of a trained checkpoint over relays × SNR into a results CSV."""

from __future__ import annotations

import argparse
import logging

from ..engine.evaluate import evaluate_df_checkpoint
from ..engine.results import write_results
from .common import float_list, int_list

log = logging.getLogger("semjscc")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint over relays x SNR",
                       description="Evaluate a DeepJSCC checkpoint on its test split. Defaults: "
                       "the trained relays and SNR.")
    p.add_argument("--checkpoint", required=True, help="best.pt / last.pt of a training run")
    p.add_argument("--snr-db", type=float_list, default=None, help="e.g. -15,-10,-5")
    p.add_argument("--relays", type=int_list, default=None, help="e.g. 0,1,2,3")
    p.add_argument("--out", required=True, help="results CSV to write")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--seed", type=int, default=None, help="noise seed (default: eval.seed)")
    p.add_argument("--device", default="auto")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override the checkpoint's config, e.g. data.root=/data/nuswide")
    p.set_defaults(func=run)


def print_rows(rows: list[dict], columns: list[str]) -> None:
    header = "  ".join(f"{c:>10}" for c in columns)
    print(header)
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c)
            cells.append(f"{v:>10.4g}" if isinstance(v, float) else f"{'' if v is None else v:>10}")
        print("  ".join(cells))


def run(args: argparse.Namespace) -> int:
    rows = evaluate_df_checkpoint(args.checkpoint, args.snr_db, args.relays, args.overrides,
                                  args.batch_size, args.device, args.seed)
    write_results(rows, args.out)
    print_rows(rows, ["method", "protocol", "relays", "snr_db", "psnr", "ms_ssim", "n_images"])
    log.info("wrote %d rows to %s", len(rows), args.out)
    return 0
