"""``semjscc eval``: metrics of a trained checkpoint over relays × SNR into a results CSV."""

from __future__ import annotations

import argparse
import logging

from ..errors import ConfigError
from ..evaluation.bootstrap import add_intervals
from ..evaluation.digital import evaluate_digital_checkpoint
from ..evaluation.evaluate import evaluate_df_checkpoint
from ..evaluation.qf import evaluate_qf_checkpoint
from ..evaluation.results import HEADLINE, write_results
from .common import (
    add_baseline_args,
    check_baseline_args,
    device_spec,
    in_file,
    out_file,
    positive_int,
    relay_list,
    snr_list,
)

log = logging.getLogger("semjscc")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint over relays x SNR",
                       description="Evaluate a DeepJSCC checkpoint on its test split. Defaults: "
                       "the trained relays and SNR. With --baseline digital --codec C --mcs "
                       "M1,M2,..., evaluate instead the digital chain (codec file in a 5G NR "
                       "transport block, LDPC, QAM; relays decode and forward the TB) over the "
                       "checkpoint's channel, test split and k complex symbols per image "
                       "(bit-true; --set digital.link=abstraction draws each TB's loss from "
                       "Sionna's BLER tables instead, for large grids).")
    p.add_argument("--checkpoint", required=True, type=in_file,
                   help="best.pt / last.pt of a training run")
    p.add_argument("--snr-db", type=snr_list, default=None, help="e.g. -15,-10,-5")
    p.add_argument("--relays", type=relay_list, default=None, help="e.g. 0,1,2,3")
    p.add_argument("--protocol", choices=("df", "qf"), default="df",
                   help="df: decode-and-forward; qf: quantize-and-forward with --codebooks")
    p.add_argument("--codebooks", default=None, help="directory written by fit-codebook (qf)")
    p.add_argument("--qf-every-relay", action="store_true",
                   help="extension: quantise at every relay of a --relays chain (qf)")
    p.add_argument("--out", required=True, type=out_file(".csv"), help="results CSV to write")
    p.add_argument("--batch-size", type=positive_int, default=None)
    p.add_argument("--seed", type=int, default=None, help="noise seed (default: eval.seed)")
    p.add_argument("--dhd", default=None, type=in_file,
                   help="DHD checkpoint for hash/mAP columns (default: dhd.checkpoint or the "
                   "DHD an mse+dhd model was trained with)")
    p.add_argument("--device", default="auto", type=device_spec)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override the checkpoint's config, e.g. data.root=/data/nuswide")
    add_baseline_args(p, several_mcs=True)
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
    check_baseline_args(args)
    if args.baseline == "digital":
        qf = [o for o, on in (("--protocol qf", args.protocol == "qf"),
                              ("--codebooks", args.codebooks),
                              ("--qf-every-relay", args.qf_every_relay)) if on]
        if qf:
            raise ConfigError(f"{qf[0]} is a DeepJSCC relay protocol; the digital baseline "
                              "decodes and forwards its TB: drop " + " and ".join(qf))
        rows = evaluate_digital_checkpoint(args.checkpoint, args.codec, args.mcs, args.snr_db,
                                           args.relays, args.overrides, args.batch_size,
                                           args.device, args.seed, dhd=args.dhd)
    elif args.protocol == "qf":
        if not args.codebooks:
            raise ConfigError("--protocol qf needs --codebooks DIR (from `semjscc fit-codebook`)")
        rows = evaluate_qf_checkpoint(args.checkpoint, args.codebooks, args.relays,
                                      args.qf_every_relay, args.overrides, args.device,
                                      args.seed, dhd=args.dhd, snr_db=args.snr_db,
                                      batch_size=args.batch_size)
    else:
        rows = evaluate_df_checkpoint(args.checkpoint, args.snr_db, args.relays, args.overrides,
                                      args.batch_size, args.device, args.seed, dhd=args.dhd)
    write_results(add_intervals(rows, HEADLINE), args.out)
    columns = ["method", "protocol", "relays", "snr_db", "n_q", "bits", "bpp", "mcs_index",
               "tb_bits", "bler", "psnr", "ms_ssim", "hash_cos", "hash_bit_agreement", "map",
               "map_clean", "n_lost", "n_images"]
    print_rows(rows, [c for c in columns if c in rows[0]])
    log.info("wrote %d rows to %s", len(rows), args.out)
    return 0
