"""``semjscc fit-codebook``: K-means codebooks for quantize-and-forward relaying."""

from __future__ import annotations

import argparse

from ..config import PAPER_QF_SETTINGS
from ..evaluation.qf import fit_codebooks, parse_settings
from .common import device_spec, in_file, out_dir, positive_int, qf_settings, snr_value

PAPER_NQ_B = ",".join(PAPER_QF_SETTINGS)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit-codebook", help="fit QF codebooks on a trained r=0 model's channel outputs",
        description="Collect the channel outputs y of the validation split at the model's SNR, "
        "split them into blocks of N_Q consecutive reals and fit 2^(N_Q*b) K-means centres "
        "(k-means++, seeded) per setting. Saves DIR/qf_nq<N_Q>_b<b>.safetensors.")
    p.add_argument("--checkpoint", required=True, type=in_file,
                   help="trained r = 0 DeepJSCC checkpoint")
    p.add_argument("--nq-b", default=PAPER_NQ_B, type=qf_settings,
                   help=f"N_Q:b settings (default: the paper's {PAPER_NQ_B})")
    p.add_argument("--out", required=True, type=out_dir, help="directory for the codebooks")
    p.add_argument("--snr-db", type=snr_value, default=None, help="default: the model's SNR")
    p.add_argument("--max-blocks", type=positive_int, default=1_000_000,
                   help="fit on a seeded subsample of at most this many blocks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", type=device_spec)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    paths = fit_codebooks(args.checkpoint, parse_settings(args.nq_b), args.out, args.snr_db,
                          args.max_blocks, args.seed, args.device)
    print(f"wrote {len(paths)} codebooks to {args.out}")
    return 0
