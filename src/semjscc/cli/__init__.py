"""``semjscc`` command line: one console script, one module per subcommand.

Each subcommand module exposes ``add_parser(subparsers)`` (which sets ``func``); tools are
plain functions of ``argv`` so tests call :func:`main` directly.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from ..errors import SemjsccError
from . import (
    authenticate,
    bench,
    dhd,
    evaluate,
    info,
    plot,
    qf,
    reproduce,
    semloss,
    task,
    train,
    transmit,
)
from .common import setup_logging

SUBCOMMANDS = [reproduce, info, train, evaluate, transmit, plot, dhd, task, authenticate, qf,
               semloss, bench]


class ArgumentParser(argparse.ArgumentParser):
    """Reads comma lists of negative numbers (``--snr-db -15,-10,-5``) as values."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-\d*\.?\d+([,:]-?\d*\.?\d+)*$")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="semjscc",
        description="Semantic DeepJSCC over noisy multi-hop links: train, evaluate, plot.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except SemjsccError as exc:
        print(f"semjscc {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"semjscc {args.command}: interrupted; finished work is kept on disk",
              file=sys.stderr)
        return 130
