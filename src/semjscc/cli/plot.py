"""``semjscc plot``: draw metrics from a results CSV."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..engine.results import read_results
from ..errors import ConfigError
from ..plots import figure_of, filter_rows

log = logging.getLogger("semjscc")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="plot a metric from a results CSV",
                       description="Plot metric(s) vs a setting from a results CSV, e.g. "
                       "--x relays --y psnr,lpips --hue snr_db --style method.")
    p.add_argument("results", help="results CSV written by eval/reproduce")
    p.add_argument("--x", required=True, help="column on the x axis (relays, snr_db, bpp)")
    p.add_argument("--y", required=True, help="metric column(s), comma-separated: one panel each")
    p.add_argument("--hue", default=None, help="column giving one colour per value")
    p.add_argument("--style", default=None, help="column giving one line style per value")
    p.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                   help="keep only rows with COL=VALUE (repeatable)")
    p.add_argument("--title", default=None)
    p.add_argument("--out", required=True, help="image file (.png, .pdf, .svg)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = read_results(args.results)
    where = dict(w.split("=", 1) for w in args.where if "=" in w)
    rows = filter_rows(rows, where)
    ys = [y for y in args.y.split(",") if y]
    columns = set().union(*(r.keys() for r in rows)) if rows else set()
    for col in [args.x, *ys, args.hue, args.style]:
        if col and col not in columns:
            raise ConfigError(f"column {col!r} is not in {args.results} (or no rows match "
                              f"--where); columns: {', '.join(sorted(columns))}")
    empty = [y for y in ys if all(r.get(y) is None for r in rows)]
    if empty:
        log.warning("skipping %s: no value in %s (not computable in that run)",
                    ", ".join(empty), args.results)
        ys = [y for y in ys if y not in empty]
        if not ys:
            raise ConfigError(f"every requested column is empty in {args.results}; choose "
                              "another --y")
    fig = figure_of(rows, args.x, ys, args.hue, args.style, args.title)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=150)
    log.info("wrote %s", args.out)
    return 0
