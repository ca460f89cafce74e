"""``semjscc train``: train one DeepJSCC model through its DF chain."""

from __future__ import annotations

import argparse
import logging

from ..channels import build_channel
from ..config import list_presets
from ..losses import method_label
from ..training.jscc import train_jscc
from .common import add_config_args, config_from_args, out_dir

log = logging.getLogger("semjscc")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a DeepJSCC model over r DF relays",
                       description="Train a DeepJSCC model end to end through relays+1 hops. "
                       f"Presets: {', '.join(list_presets())}.")
    add_config_args(p)
    p.add_argument("--out", required=True, type=out_dir,
                   help="run directory (config.yaml, log.csv, best.pt, last.pt)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    log.info("training %s: %s, relays=%d over %s, SNR %s dB, loss %s, %d epochs -> %s",
             cfg.name, cfg.model.name, cfg.link.relays, build_channel(cfg.link.channel).label,
             cfg.link.snr_db, method_label(cfg.train.loss),
             cfg.train.epochs, args.out)
    run_dir = train_jscc(cfg, args.out, resume=args.resume)
    log.info("done: %s (best.pt, last.pt, log.csv)", run_dir)
    return 0
