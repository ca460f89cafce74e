"""Shared CLI plumbing: config options, list parsing, logging."""

from __future__ import annotations

import argparse
import logging
import os

from ..config import Config, load_config


def add_config_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--config", "-c", required=required,
                        help="YAML file or preset name (e.g. tiny/df, paper/df)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config key, e.g. train.epochs=3")


def config_from_args(args: argparse.Namespace) -> Config:
    return load_config(args.config, args.overrides)


def float_list(text: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def int_list(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def setup_logging(verbose: bool = False) -> None:
    """Console logging; under torchrun only rank 0 speaks (others log warnings only)."""
    level = logging.DEBUG if verbose else logging.INFO
    if int(os.environ.get("RANK", "0")) != 0:
        level = logging.WARNING
    logging.basicConfig(level=level, format="%(message)s", force=True)

