"""``semjscc plot``: draw metrics from a results CSV."""

from __future__ import annotations

import argparse
import logging

from ..errors import ConfigError
from ..evaluation.results import read_results
from ..files import refuse_overwrite
from ..plots import figure_of, filter_rows, save_figure
from .common import in_file, out_file

log = logging.getLogger("semjscc")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="plot a metric from a results CSV",
                       description="Plot metric(s) vs a setting from a results CSV, e.g. "
                       "--x relays --y psnr,lpips --hue snr_db --style method.")
    p.add_argument("results", type=in_file, help="results CSV written by eval/reproduce")
    p.add_argument("--x", required=True, help="column on the x axis (relays, snr_db, bpp)")
    p.add_argument("--y", required=True, help="metric column(s), comma-separated: one panel each")
    p.add_argument("--hue", default=None, help="column giving one colour per value")
    p.add_argument("--style", default=None, help="column giving one line style per value")
    p.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                   help="keep only rows with COL=VALUE (repeatable)")
    p.add_argument("--title", default=None)
    p.add_argument("--out", required=True, type=out_file(".png", ".pdf", ".svg"),
                   help="image file (.png, .pdf, .svg)")
    p.set_defaults(func=run)


def _where(items: list[str]) -> dict[str, str]:
    bad = [w for w in items if "=" not in w or not w.split("=", 1)[0]]
    if bad:
        raise ConfigError(f"--where {bad[0]!r}: write COL=VALUE, e.g. --where protocol=df")
    return dict(w.split("=", 1) for w in items)


def run(args: argparse.Namespace) -> int:
    refuse_overwrite([args.out], [args.results])
    all_rows = read_results(args.results)
    if not all_rows:
        raise ConfigError(f"{args.results} has a header but no rows; nothing to plot")
    columns = set(all_rows[0])
    ys = [y.strip() for y in args.y.split(",") if y.strip()]
    if not ys:
        raise ConfigError("--y names no column; give one or more, e.g. --y psnr,ms_ssim")
    for col in [args.x, *ys, args.hue, args.style]:
        if col and col not in columns:
            raise ConfigError(f"column {col!r} is not in {args.results}; columns: "
                              f"{', '.join(sorted(columns))}")
    rows = filter_rows(all_rows, _where(args.where))
    if not rows:
        raise ConfigError(f"no rows match --where {' '.join(args.where)} in {args.results}")
    for y in ys:
        text = [r[y] for r in rows if isinstance(r.get(y), str)]
        if text:
            raise ConfigError(f"column {y!r} of {args.results} holds values that are not numbers "
                              f"(e.g. {text[0]!r}); plot numeric columns")
    kinds = {isinstance(r.get(args.x), str) for r in rows if r.get(args.x) is not None}
    if len(kinds) > 1:
        raise ConfigError(f"column {args.x!r} mixes numbers and text; it cannot be an axis")
    empty = [y for y in ys if all(r.get(y) is None for r in rows)]
    if empty:
        log.warning("skipping %s: no value in %s (not computable in that run)",
                    ", ".join(empty), args.results)
        ys = [y for y in ys if y not in empty]
        if not ys:
            raise ConfigError(f"every requested column is empty in {args.results}; choose "
                              "another --y")
    save_figure(figure_of(rows, args.x, ys, args.hue, args.style, args.title), args.out)
    log.info("wrote %s", args.out)
    return 0
