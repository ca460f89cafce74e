"""``semjscc`` command line: one console script, one module per subcommand.

Each subcommand module exposes ``add_parser(subparsers)`` (which sets ``func``); tools are
plain functions of ``argv`` so tests call :func:`main` directly.
"""

from __future__ import annotations

import argparse
import errno
import logging
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..errors import SemjsccError, describe, first_line
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
# OS errors a user fixes (disk full, read-only, permissions, wrong kind of path).
USER_OS_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT,
                  errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOENT, errno.ENAMETOOLONG}
NUMBER = r"(\d*\.?\d+(e[-+]?\d+)?|inf|nan)"
log = logging.getLogger("semjscc")


class ArgumentParser(argparse.ArgumentParser):
    """Reads comma lists of negative numbers (``--snr-db -15,-10,-5``, ``--snr-db -inf``) as
    values, and reports a bad argument in one line (exit 2)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(
            rf"^-{NUMBER}([,:]-?{NUMBER})*$", re.IGNORECASE)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="semjscc",
        description="Semantic DeepJSCC over noisy, fading, multi-hop links: train, evaluate, "
        "plot, fit.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, and tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; user errors are one line on stderr with exit code 2, an interrupt
    exits 130, anything unexpected is one line (exit 1) unless ``--verbose`` shows it."""
    setup_logging()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad argument (2, already reported)
        return int(exc.code or 0)
    setup_logging(args.verbose)
    name = f"semjscc {args.command}"
    try:
        return int(args.func(args) or 0)
    except SemjsccError as exc:
        print(f"{name}: error: {first_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted; finished work is kept on disk", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno not in USER_OS_ERRORS or args.verbose:
            raise
        where = f" {exc.filename}" if exc.filename else ""
        print(f"{name}: error: cannot access{where}: {exc.strerror or first_line(exc)}; free "
              "disk space, fix the permissions or choose another path (finished work is kept)",
              file=sys.stderr)
        return 2
    except Exception as exc:  # the net under every specific check: never a bare traceback
        if args.verbose:
            raise
        print(f"{name}: unexpected error ({describe(exc)}); rerun "
              "with --verbose for the traceback", file=sys.stderr)
        return 1
