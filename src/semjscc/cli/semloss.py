"""``semjscc fit-semloss``: fit the unified semantic-loss model to a results CSV;
``semjscc allocate``: max-min resource allocation over users with a fitted model.

fit-semloss reads any tidy CSV with a ratio column (``realized_cr`` or ``cr``; numbers or
``a/b``), ``snr_db`` and the metric columns, and writes into ``--out``: fit.json (every
group × metric × family: formula, named parameters, normalisation, diagnostics, the chosen
family; a model file for ``SemanticLossModel.load`` and ``allocate --model``), fit.csv
(measured vs fitted quality M per point) and figures: quality vs SNR with the fitted curves
(curves_*.png), residuals (residuals_*.png), semantic-loss contours of the chosen family
(loss_*.png) and U3's MAPE vs number of terms (u3_terms*.png). The families U1–U4 are our
own designs.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.results import read_results
from ..errors import ConfigError
from ..files import write_text
from ..plots import filter_rows, save_figure
from ..plots.semloss import (
    curves_figure,
    loss_contour_figure,
    ratio_label,
    residuals_figure,
    terms_figure,
)
from ..semloss import (
    FAMILIES,
    NOTE,
    AllocationProblem,
    GroupFit,
    SemanticLossModel,
    allocate,
    check_points,
    equal_baseline,
    fit_document,
    fit_metric,
    group_label,
    normalise,
    points_needed,
)
from ..semloss.allocate import Allocation
from ..semloss.fit import MAX_TERMS
from ..semloss.quality import PSNR_REF_DB, Normalisation

log = logging.getLogger("semjscc")

CR_COLUMNS = ("realized_cr", "cr")
AUTO_GROUPS = ("channel", "equalization", "protocol")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit-semloss", help="fit the unified semantic-loss model to a results CSV",
        description="Fit quality M(R, SNR) of each metric with model families U1-U4 (our own "
        "designs; the paper's formula is unpublished), cross-validate, rank by CV MAPE and "
        "write fit.json, fit.csv and figures. M: accuracy/precision/recall/f1 as fractions "
        "(percent if > 1.5), ssim as is, 1 - lpips, psnr / PSNR_ref; L = 1 - M / M_clean.")
    p.add_argument("results", help="tidy CSV with realized_cr (or cr), snr_db, metric columns")
    p.add_argument("--metric", required=True,
                   help="metric column(s), comma-separated, e.g. accuracy,ssim,psnr")
    p.add_argument("--family", default="U1",
                   help=f"model families, comma-separated from {','.join(FAMILIES)} "
                   "(default U1)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                   help="keep only rows with COL=VALUE (repeatable)")
    p.add_argument("--group-by", default=None, metavar="COLS",
                   help="columns fitted separately, comma-separated, or 'none' (default: "
                   f"those of {', '.join(AUTO_GROUPS)} with more than one value)")
    p.add_argument("--psnr-ref", type=float, default=PSNR_REF_DB,
                   help="PSNR_ref [dB] of M = PSNR / PSNR_ref (default %(default)g)")
    p.add_argument("--m-clean", default=None, metavar="X|METRIC=X,...",
                   help="clean-image quality M_clean on the M scale (accuracy as a fraction, "
                   "PSNR as PSNR/PSNR_ref), one value or per metric; used where the CSV has "
                   "no <metric>_clean column (default 1)")
    p.add_argument("--m-min", default=None, metavar="X|METRIC=X,...",
                   help="hold U1's floor M_min fixed (e.g. accuracy=0.1 for 10 classes); "
                   "default: fitted")
    p.add_argument("--seed", type=int, default=0, help="seed of the multi-start fits")
    p.add_argument("--starts", type=int, default=20, help="multi-starts per fit")
    p.add_argument("--max-terms", type=int, default=MAX_TERMS,
                   help="largest number of terms N tried for U3 (default %(default)s)")
    p.set_defaults(func=run_fit)

    a = sub.add_parser(
        "allocate", help="max-min semantic resource allocation with a fitted model",
        description="Choose a ratio R and a power P per user to maximise the minimum weighted "
        "quality w*M(R, SNR) under total power and channel-use budgets; compare with equal "
        "power and equal R. users.yaml: total_power, noise_power, total_channel_uses, "
        "source_dim, ratios (numbers or 'a/b'), users: [{name, weight, gain | gain_db}].")
    a.add_argument("--model", required=True, help="fit.json of fit-semloss, or a model file")
    a.add_argument("--users", required=True, help="users.yaml")
    a.add_argument("--metric", default=None, help="metric in fit.json (default: its first)")
    a.add_argument("--family", default=None, help="family (default: the chosen one)")
    a.add_argument("--group", default=None, metavar="COL=VALUE,...",
                   help="group in fit.json (default: its first)")
    a.add_argument("--out", default=None, help="folder for allocation.json and allocation.csv")
    a.set_defaults(func=run_allocate)


def _names(text: str, what: str) -> list[str]:
    names = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not names:
        raise ConfigError(f"--{what} is empty; give a comma-separated list")
    return names


def _per_metric(text: str | None, metrics: list[str], option: str) -> dict[str, float]:
    """``X`` for every metric or ``METRIC=X,...``: metric -> value."""
    if text is None:
        return {}
    try:
        if "=" not in text:
            return dict.fromkeys(metrics, float(text))
        pairs = dict(kv.split("=", 1) for kv in text.split(","))
        out = {k.strip(): float(v) for k, v in pairs.items()}
    except ValueError:
        raise ConfigError(f"{option} takes a number or METRIC=NUMBER,...; got {text!r}") from None
    unknown = sorted(set(out) - set(metrics))
    if unknown:
        raise ConfigError(f"{option} names {', '.join(unknown)}, not among --metric "
                          f"{','.join(metrics)}")
    return out


def _lines(lines: list[int], limit: int = 8) -> str:
    return ", ".join(map(str, lines[:limit])) + (" ..." if len(lines) > limit else "")


def _number(cell: Any, fractions: bool) -> float | None:
    if isinstance(cell, int | float):
        return float(cell)
    try:
        return float(Fraction(cell.replace(" ", ""))) if fractions and cell else None
    except (ValueError, ZeroDivisionError):
        return None


def _numbers(pairs: list[tuple[int, dict[str, Any]]], column: str,
             fractions: bool = False) -> np.ndarray:
    """Column values as floats (``a/b`` strings too when ``fractions``); empty or text cells
    are errors naming the CSV lines."""
    values = [_number(r.get(column), fractions) for _, r in pairs]
    bad = [line for (line, _), v in zip(pairs, values) if v is None]
    if bad:
        raise ConfigError(f"column {column} has empty or non-numeric cells at CSV lines "
                          f"{_lines(bad)}; fill them in or remove those rows")
    return np.array(values, float)


def _group_columns(option: str | None, rows: list[dict[str, Any]],
                   columns: list[str]) -> list[str]:
    if option is None:
        return [c for c in AUTO_GROUPS if c in columns and len({str(r.get(c)) for r in rows}) > 1]
    if option.strip().lower() == "none":
        return []
    chosen = _names(option, "group-by")
    missing = [c for c in chosen if c not in columns]
    if missing:
        raise ConfigError(f"--group-by column {missing[0]!r} is not in the CSV; columns: "
                          f"{', '.join(columns)}")
    return chosen


def _stem(group: dict[str, Any]) -> str:
    """File-name part of a group: ``channel-awgn_protocol-df`` ("" for no grouping)."""
    return "_".join(re.sub(r"[^A-Za-z0-9.]+", "-", f"{k}-{v}") for k, v in group.items())


def _file(kind: str, group: dict[str, Any], metric: str = "") -> str:
    return "_".join(p for p in (kind, _stem(group), metric) if p) + ".png"


@dataclass(frozen=True)
class _Points:
    """The points of one group × metric, checked and normalised."""

    group: dict[str, Any]
    metric: str
    cr: np.ndarray
    snr: np.ndarray
    quality: np.ndarray
    norm: Normalisation


def _read(path: str) -> list[dict[str, Any]]:
    try:
        rows = read_results(path)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    if not rows:
        raise ConfigError(f"{path} has no data rows; give a CSV with a header and rows")
    return rows


@dataclass(frozen=True)
class _Setup:
    """The checked options of one fit-semloss run."""

    metrics: list[str]
    families: list[str]
    cr_col: str
    psnr_ref: float
    m_clean: dict[str, float]
    m_min: dict[str, float]


def _setup(args: argparse.Namespace, columns: list[str]) -> _Setup:
    metrics = _names(args.metric, "metric")
    families = _names(args.family, "family")
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ConfigError(f"unknown model family {unknown[0]!r}; choose from "
                          f"{', '.join(FAMILIES)}")
    cr_col = next((c for c in CR_COLUMNS if c in columns), " or ".join(CR_COLUMNS))
    missing = [c for c in [cr_col, "snr_db", *metrics] if c not in columns]
    if missing:
        raise ConfigError(f"column {missing[0]} is not in {args.results}; columns: "
                          f"{', '.join(columns)}")
    if args.starts < 1 or args.max_terms < 1 or args.seed < 0:
        raise ConfigError("--starts and --max-terms must be >= 1 and --seed >= 0; got "
                          f"{args.starts}, {args.max_terms}, {args.seed}")
    return _Setup(metrics, families, cr_col, args.psnr_ref,
                  _per_metric(args.m_clean, metrics, "--m-clean"),
                  _per_metric(args.m_min, metrics, "--m-min"))


def _where(args: argparse.Namespace, columns: list[str]) -> dict[str, str]:
    where = {}
    for w in args.where:
        col, sep, value = w.partition("=")
        if not sep or col not in columns:
            raise ConfigError(f"--where takes COL=VALUE with COL a column of {args.results}; "
                              f"got {w!r}; columns: {', '.join(columns)}")
        where[col] = value
    return where


def _metric_points(setup: _Setup, group: dict[str, Any], members: list[tuple[int, dict]],
                   metric: str) -> tuple[_Points, list[str]]:
    """The checked points of one metric in one group (``members``: CSV line, row) and notes;
    rows with an empty metric cell are dropped."""
    label = group_label(group)
    kept = [(line, r) for line, r in members if r.get(metric) is not None]
    dropped = [line for line, r in members if r.get(metric) is None]
    notes = [f"{metric}: dropped {len(dropped)} rows with an empty cell (CSV lines "
             f"{_lines(dropped)})"] if dropped else []
    cr, snr, values = check_points(_numbers(kept, setup.cr_col, fractions=True),
                                   _numbers(kept, "snr_db"),
                                   _numbers(kept, metric), [line for line, _ in kept],
                                   "CSV lines", (setup.cr_col, "snr_db", metric))
    clean = [r.get(f"{metric}_clean") for _, r in kept]
    quality, norm = normalise(metric, values, psnr_ref_db=setup.psnr_ref,
                              m_clean=setup.m_clean.get(metric),
                              clean_values=[c for c in clean if isinstance(c, int | float)])
    single = np.unique(np.round(cr, 9)).size == 1
    for f in setup.families:
        fixed = {"M_min": setup.m_min[metric]} if f == "U1" and metric in setup.m_min else None
        need = points_needed(f, 1, single, fixed)
        if values.size < need:
            raise ConfigError(f"{metric} ({label}): {f} needs at least {need} points (its free "
                              f"parameters{' with a single R' if single else ''}); got "
                              f"{values.size}")
    if single:
        notes.append(f"{metric}: a single R = {cr[0]:.6g}; fitted against SNR alone, "
                     "leave-one-R-out skipped")
    return _Points(group, metric, cr, snr, quality, norm), notes


def _prepare(args: argparse.Namespace) -> tuple[_Setup, list[_Points], dict[str, list[str]],
                                                 dict[str, Any]]:
    """Everything checked before anything is fitted or written: the setup, the points of
    every group × metric, the notes of each group (by label) and the options of fit.json."""
    rows = _read(args.results)
    columns = list(rows[0])
    line_of = {id(r): i + 2 for i, r in enumerate(rows)}
    where = _where(args, columns)
    rows = filter_rows(rows, where)
    if not rows:
        raise ConfigError(f"no rows of {args.results} match --where "
                          f"{' '.join(f'{k}={v}' for k, v in where.items())}")
    setup = _setup(args, columns)
    group_cols = _group_columns(args.group_by, rows, columns)
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
    for r in rows:
        groups.setdefault(tuple(str(r.get(c)) for c in group_cols), []).append((line_of[id(r)], r))
    points, notes = [], {}
    for members in groups.values():
        group = {c: members[0][1].get(c) for c in group_cols}
        notes[group_label(group)] = []
        for metric in setup.metrics:
            p, lines = _metric_points(setup, group, members, metric)
            points.append(p)
            notes[group_label(group)] += lines
    options = {"results": str(args.results), "where": where, "group_by": group_cols,
               "cr_column": setup.cr_col, "metrics": setup.metrics, "families": setup.families,
               "psnr_ref_db": setup.psnr_ref, "m_clean": setup.m_clean, "m_min": setup.m_min,
               "seed": args.seed, "starts": args.starts, "max_terms": args.max_terms,
               "scale": "fit.csv and the diagnostics use the normalised quality M"}
    return setup, points, notes, options


def _cell(x: Any, fmt: str = "{:.3f}") -> str:
    return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else fmt.format(x)


def _ranking_table(groups: list[GroupFit]) -> str:
    head = (f"{'metric':<14}{'family':<8}{'n':>5}{'MAPE %':>9}{'CV-SNR %':>10}{'CV-R %':>9}"
            f"{'CV %':>9}")
    out = []
    for g in groups:
        out += [f"{group_label(g.group)}:", head]
        for metric, (_, mf) in g.metrics.items():
            for f in mf.ranking:
                a = mf.assessments[f]
                cv = [a.cv[s].get("mape") for s in ("leave_one_snr_out", "leave_one_cr_out")]
                out.append(f"{metric:<14}{f + ('*' if f == mf.chosen else ''):<8}"
                           f"{a.fit.n_points:>5}{_cell(a.train['mape']):>9}{_cell(cv[0]):>10}"
                           f"{_cell(cv[1]):>9}{_cell(a.cv_mape):>9}")
    return "\n".join(out + ["* chosen: lowest combined CV MAPE. " + NOTE])


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def _write_fit(out: Path, points: list[_Points], groups: list[GroupFit],
               options: dict[str, Any]) -> list[Path]:
    """fit.json, fit.csv and the figures; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "fit.json", out / "fit.csv"]
    write_text(written[0], json.dumps(fit_document(groups, options), indent=1) + "\n")
    group_cols = options["group_by"]
    fitted = {(group_label(g.group), m): mf for g in groups for m, (_, mf) in g.metrics.items()}
    table = []
    for p in points:
        mf = fitted[(group_label(p.group), p.metric)]
        for f, a in mf.assessments.items():
            pred = a.fit.predict(p.cr, p.snr)
            table += [[*(p.group[c] for c in group_cols), p.metric, f, f"{r:.6g}", f"{s:.6g}",
                       f"{m:.6g}", f"{q:.6g}", f"{m - q:.6g}"]
                      for r, s, m, q in zip(p.cr, p.snr, p.quality, pred)]
    _write_csv(written[1], [*group_cols, "metric", "family", "cr", "snr_db", "measured",
                            "predicted", "residual"], table)
    terms: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for p in points:
        label = group_label(p.group)
        mf = fitted[(label, p.metric)]
        title = f"{p.metric} ({label}), {p.norm.rule}"
        model = SemanticLossModel(mf.assessments[mf.chosen].fit, p.metric, p.norm.m_clean,
                                  p.norm.to_dict(), p.group)
        written += [
            save_figure(curves_figure(p.cr, p.snr, p.quality, mf.assessments, p.metric,
                                      mf.chosen, title), out / _file("curves", p.group, p.metric)),
            save_figure(residuals_figure(p.cr, p.snr, p.quality, mf.assessments, p.metric, title),
                        out / _file("residuals", p.group, p.metric)),
            save_figure(loss_contour_figure(model, p.cr, p.snr,
                                            f"{mf.chosen} semantic loss of {title}"),
                        out / _file("loss", p.group, p.metric)),
        ]
        if "U3" in mf.assessments:
            terms.setdefault(label, {})[p.metric] = mf.assessments["U3"].terms_curve or []
    written += [save_figure(terms_figure(terms[group_label(g.group)],
                                         f"U3: MAPE vs number of terms ({group_label(g.group)})"),
                            out / _file("u3_terms", g.group))
                for g in groups if group_label(g.group) in terms]
    return written


def run_fit(args: argparse.Namespace) -> int:
    setup, points, notes, options = _prepare(args)
    started = time.perf_counter()
    groups: dict[str, GroupFit] = {}
    for p in points:
        label = group_label(p.group)
        fitted = fit_metric(p.cr, p.snr, p.quality, setup.families,
                            m_min=setup.m_min.get(p.metric), starts=args.starts,
                            seed=args.seed, max_terms=args.max_terms)
        groups.setdefault(label, GroupFit(p.group, {}, notes[label])).metrics[p.metric] = \
            (p.norm, fitted)
    elapsed = time.perf_counter() - started
    written = _write_fit(Path(args.out), points, list(groups.values()), options)
    for label, lines in notes.items():
        print("".join(f"note ({label}): {line}\n" for line in lines), end="")
    print("".join(f"note: {line}\n" for line in dict.fromkeys(
        line for p in points for line in p.norm.notes)), end="")
    print(_ranking_table(list(groups.values())))
    log.info("fitted %d group x metric sets in %.1f s; wrote %s and %d figures into %s",
             len(points), elapsed, ", ".join(w.name for w in written[:2]), len(written) - 2,
             args.out)
    return 0


def _allocation_table(model: SemanticLossModel, allocations: Sequence[Allocation]) -> str:
    head = (f"{'scheme':<9}{'user':<10}{'weight':>7}{'gain dB':>9}{'R':>7}{'uses':>7}"
            f"{'P':>11}{'SNR dB':>8}{'M':>8}{'w*M':>8}")
    out = [f"max-min allocation with {model.family} of {model.metric} "
           f"({group_label(model.group)}):", head]
    for a in allocations:
        out += [f"{a.scheme:<9}{u.name:<10}{u.weight:>7.3g}{u.gain_db:>9.2f}"
                f"{ratio_label(u.cr):>7}{u.channel_uses:>7}{u.power:>11.4g}{u.snr_db:>8.2f}"
                f"{u.quality:>8.4f}{u.weighted_quality:>8.4f}" for u in a.users]
    out += [f"min weighted quality: {a.scheme} {a.min_weighted:.4f} (power {a.total_power:.4g}, "
            f"channel uses {a.total_channel_uses})" for a in allocations]
    return "\n".join(out)


def run_allocate(args: argparse.Namespace) -> int:
    model = SemanticLossModel.load(args.model, group=args.group, metric=args.metric,
                                   family=args.family)
    problem = AllocationProblem.load(args.users)
    allocations = [allocate(model, problem), equal_baseline(model, problem)]
    print(_allocation_table(model, allocations))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        doc = {"note": NOTE, "model": model.to_dict(), "users": str(args.users),
               "problem": asdict(problem),
               "gain_over_equal": allocations[0].min_weighted - allocations[1].min_weighted,
               "allocations": [a.to_dict() for a in allocations]}
        write_text(out / "allocation.json", json.dumps(doc, indent=1) + "\n")
        fields = list(asdict(allocations[0].users[0]))
        _write_csv(out / "allocation.csv", ["scheme", *fields],
                   [[a.scheme, *asdict(u).values()] for a in allocations for u in a.users])
        log.info("wrote allocation.json and allocation.csv into %s", out)
    return 0
