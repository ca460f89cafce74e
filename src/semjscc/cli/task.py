"""``semjscc train-task`` / ``semjscc eval-task``: task classifiers (semantic judges)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..evaluation.task import evaluate_task, per_class_rows
from ..files import write_text
from ..training.task import train_task
from .common import (
    add_config_args,
    config_from_args,
    device_spec,
    in_file,
    out_dir,
    out_file,
)

log = logging.getLogger("semjscc")
OUT_SUFFIXES = (".json", ".csv")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-task", help="train a task classifier (a semantic judge)",
                       description="Train the classifier of the task section on the train "
                       "split (cross-entropy or BCE, horizontal flips); best.pt = best "
                       "validation accuracy.")
    add_config_args(p)
    p.add_argument("--out", required=True, type=out_dir, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.set_defaults(func=run_train)

    p = sub.add_parser("eval-task", help="accuracy and confusion matrix of a task classifier",
                       description="Accuracy (and weighted precision/recall/F1 for one-hot "
                       "labels), a per-class table and the confusion matrix on a split.")
    p.add_argument("--checkpoint", required=True, type=in_file, help="best.pt of a train-task run")
    p.add_argument("--split", default="test", help="split to evaluate (default: test)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override the checkpoint's config, e.g. data.root=/data/eurosat")
    p.add_argument("--device", default="auto", type=device_spec)
    p.add_argument("--out", default=None, type=out_file(".json", ".csv"),
                   help="write the metrics and confusion matrix: .json (everything) or .csv "
                   "(one row per class plus an 'all' row)")
    p.set_defaults(func=run_eval)


def run_train(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    log.info("training task classifier %s (%s, %s weights) on %s data, %d epochs -> %s",
             cfg.name, cfg.task.model, cfg.task.pretrained, cfg.data.kind, cfg.task.epochs,
             args.out)
    run_dir = train_task(cfg, args.out, resume=args.resume)
    log.info("done: %s (best.pt, last.pt, log.csv)", run_dir)
    return 0


def _write(result: dict[str, Any], rows: list[dict[str, Any]], path: Path) -> None:
    if path.suffix == ".json":
        write_text(path, json.dumps({**result, "per_class": rows}, indent=2) + "\n")
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(dict.fromkeys(k for r in rows for k in r)),
                            restval="")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:.3f}"


def run_eval(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix not in OUT_SUFFIXES:
        raise ConfigError(f"--out {out}: write a .json or .csv file")
    result = evaluate_task(args.checkpoint, args.split, args.overrides, args.device)
    rows = per_class_rows(result)
    extra = "" if result["multi_label"] else (
        f"  (weighted precision {result['precision_w']:.4f}, recall {result['recall_w']:.4f}, "
        f"F1 {result['f1_w']:.4f})")
    labels = "multi-hot" if result["multi_label"] else "one-hot"
    print(f"accuracy: {result['accuracy']:.4f}{extra}  on {result['n_images']} "
          f"{args.split} images, {len(result['class_names'])} classes ({labels} labels)")
    width = max(len(str(row["class"])) for row in rows)
    print(f"{'class':<{width}}  {'support':>7}  {'accuracy':>8}  {'precision':>9}  "
          f"{'recall':>6}  {'f1':>5}")
    for row in rows:
        print(f"{row['class']:<{width}}  {row['support']:>7}  {_cell(row['accuracy']):>8}  "
              f"{_cell(row.get('precision')):>9}  {_cell(row.get('recall')):>6}  "
              f"{_cell(row.get('f1')):>5}")
    if out is not None:
        _write(result, rows, out)
        log.info("wrote %s", out)
    return 0
