"""``semjscc train-dhd`` / ``semjscc eval-dhd``: the Deep Hash Distillation module."""

from __future__ import annotations

import argparse
import logging

from ..evaluation.dhd import evaluate_dhd
from ..training.dhd import train_dhd
from .common import (
    add_config_args,
    config_from_args,
    device_spec,
    in_file,
    out_dir,
    positive_int,
)

log = logging.getLogger("semjscc")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-dhd", help="train a Deep Hash Distillation module",
                       description="Train DHD (teacher/student augmentations, hash-proxy, "
                       "self-distillation and quantisation losses); best.pt = best val mAP.")
    add_config_args(p)
    p.add_argument("--out", required=True, type=out_dir, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.set_defaults(func=run_train)

    p = sub.add_parser("eval-dhd", help="retrieval mAP@K of a trained DHD",
                       description="mAP@K of the test split (queries) against the db split.")
    p.add_argument("--checkpoint", required=True, type=in_file, help="best.pt of a train-dhd run")
    p.add_argument("--top-k", type=positive_int, default=None, help="K of mAP@K (default: dhd.top_k)")
    p.add_argument("--device", default="auto", type=device_spec)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override the checkpoint's config, e.g. data.root=/data/nuswide")
    p.set_defaults(func=run_eval)


def run_train(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    log.info("training DHD %s (%s, %d bits, %s weights), %d epochs -> %s", cfg.name,
             cfg.dhd.backbone, cfg.dhd.num_bits, cfg.dhd.pretrained, cfg.dhd.epochs, args.out)
    run_dir = train_dhd(cfg, args.out, resume=args.resume)
    log.info("done: %s (best.pt, last.pt, log.csv)", run_dir)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    r = evaluate_dhd(args.checkpoint, args.overrides, args.top_k, args.device)
    k = "all" if r["top_k"] is None else r["top_k"]
    print(f"mAP@{k}: {r['map']:.4f}  ({r['n_queries']} test queries vs {r['n_database']} "
          f"database images, {r['num_bits']} bits)")
    print(f"random {r['num_bits']}-bit codes, same labels: mAP@{k} {r['random_map']:.4f}")
    return 0
