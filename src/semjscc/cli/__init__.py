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
KEPT = "finished work is kept"
# The fix for an OS error about the file it names.
OS_FIXES = {
    errno.ENOSPC: f"free disk space and rerun ({KEPT})",
    errno.EDQUOT: f"free space or raise the quota and rerun ({KEPT})",
    errno.EROFS: "choose a writable path",
    errno.EACCES: "fix the permissions or choose another path",
    errno.EPERM: "fix the permissions or choose another path",
    errno.EISDIR: "it is a directory: give a file",
    errno.ENOTDIR: "part of the path is a file, not a directory: fix the path",
    errno.ENOENT: "check the path",
    errno.EEXIST: "remove it or choose another path",
    errno.ENAMETOOLONG: "choose a shorter path",
    errno.ENXIO: "it is a FIFO or device: give a regular file",
    errno.ESPIPE: "it is a FIFO or device: give a regular file",
    errno.EIO: f"check the disk and rerun ({KEPT})",
    errno.EMFILE: "raise the limit (ulimit -n) or lower data.num_workers",
}
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
    except (OSError, UnicodeError, RecursionError, OverflowError, MemoryError) as exc:
        if args.verbose:
            raise
        print(f"{name}: error: {explain(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # the net under every specific check: never a bare traceback
        if args.verbose:
            raise
        print(f"{name}: unexpected error ({describe(exc)}); rerun "
              "with --verbose for the traceback", file=sys.stderr)
        return 1


def explain(exc: BaseException) -> str:
    """One line for an OS, encoding, recursion, overflow or memory error that reached the
    command line: the file it names (if any), what happened and the fix."""
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        fix = OS_FIXES.get(exc.errno or 0, f"fix the path or the device and rerun ({KEPT})")
        verb = "write" if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS) else "access"
        return f"cannot {verb}{where}: {exc.strerror or first_line(exc)}; {fix}"
    if isinstance(exc, UnicodeError):
        return (f"a text input is not UTF-8 ({first_line(exc)}); re-save it as UTF-8 "
                "(inputs are read as UTF-8)")
    if isinstance(exc, RecursionError):
        return "an input is nested too deeply to read; simplify it"
    if isinstance(exc, OverflowError):
        return f"a value is too large ({first_line(exc)}); give a smaller value"
    return (f"out of memory ({first_line(exc)}); lower the batch size, image size or number "
            "of images")
