"""``semjscc fit-semloss``: fit the unified semantic-loss model to a results CSV;
``semjscc allocate``: max-min resource allocation over users with a fitted model, predicted,
and with ``--run`` (an EO reproduction folder) measured by transmission through its trained
DJSCC models (:mod:`semjscc.experiments.eo.allocation`).

fit-semloss reads any tidy CSV with a ratio column (``realized_cr`` or ``cr``; numbers or
``a/b``), ``snr_db`` and the metric columns, and writes into ``--out``: fit.json (every
group × metric × family: formula, named parameters, normalisation, diagnostics, the chosen
family and its lead over the runner-up with a bootstrap interval; a model file for
``SemanticLossModel.load`` and ``allocate --model``), fit.csv (measured vs fitted quality M
per point, and each point's leave-one-SNR-out and leave-one-R-out prediction by a fold fitted
without it: ``cv_snr_predicted``, ``cv_cr_predicted``) and figures: quality vs SNR with the
fitted curves (curves_*.png), residuals (residuals_*.png), semantic-loss contours of the
chosen family (loss_*.png) and U3's MAPE vs number of terms (u3_terms*.png). The families
U1–U4 are our own designs.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..device import resolve_device
from ..errors import ConfigError
from ..evaluation.results import read_results
from ..evaluation.semloss_fit import FitOptions, fit_semloss, ranking_table, run_allocation
from ..experiments.eo.allocation import gain_verdict, measured_allocation, open_run
from ..experiments.runner import RECORD
from ..files import refuse_overwrite
from ..plots import filter_rows
from ..plots.semloss import ratio_label
from ..semloss import FAMILIES, Allocation, AllocationProblem, SemanticLossModel, group_label
from ..semloss.allocate import check_allocatable
from ..semloss.fit import MAX_TERMS
from ..semloss.quality import PSNR_REF_DB
from .common import device_spec, out_dir

log = logging.getLogger("semjscc")

CR_COLUMNS = ("realized_cr", "cr")
AUTO_GROUPS = ("channel", "equalization", "protocol")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit-semloss", help="fit the unified semantic-loss model to a results CSV",
        description="Fit quality M(R, SNR) of each metric with model families U1-U4 (our own "
        "designs; the paper's formula is unpublished), cross-validate (each fold refitted "
        "from the same starts), rank by CV MAPE with a bootstrap interval of the lead and "
        "write fit.json, fit.csv and figures. M: accuracy/precision/recall/f1 as fractions "
        "(percent if > 1.5), ssim as is, 1 - lpips, psnr / PSNR_ref; L = 1 - M / M_clean.")
    p.add_argument("results", help="tidy CSV with realized_cr (or cr), snr_db, metric columns")
    p.add_argument("--metric", required=True,
                   help="metric column(s), comma-separated, e.g. accuracy,ssim,psnr")
    p.add_argument("--family", default="U1",
                   help=f"model families, comma-separated from {','.join(FAMILIES)} "
                   "(default U1)")
    p.add_argument("--out", required=True, type=out_dir,
                   help="output folder (never the input's: fit.csv or fit.json there would "
                   "overwrite it)")
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
    p.add_argument("--workers", type=int, default=1,
                   help="processes fitting the group x metric pairs side by side (the result "
                   "is the same for any number; default %(default)s)")
    p.set_defaults(func=run_fit)

    a = sub.add_parser(
        "allocate", help="max-min semantic resource allocation with a fitted model",
        description="Choose a ratio R and a power P per user to maximise the minimum weighted "
        "quality w*M(R, SNR) under total power and channel-use budgets; compare with equal "
        "power and equal R. users.yaml: total_power, noise_power, total_channel_uses, "
        "source_dim, ratios (numbers or 'a/b'), users: [{name, weight, gain | gain_db}]. "
        "Without --run the qualities are the fitted model's predictions; with --run (an EO "
        "reproduction folder) every user's test images are also sent through the trained "
        "DJSCC at its operating point and the accuracy measured, with 95 % bootstrap "
        "intervals over images.")
    a.add_argument("--model", default=None,
                   help="fit.json of fit-semloss, or a model file (default with --run: "
                   "RUN/fit/fit.json)")
    a.add_argument("--users", default=None,
                   help="users.yaml (default with --run: the run's eo.users)")
    a.add_argument("--metric", default=None, help="metric in fit.json (default: its first)")
    a.add_argument("--family", default=None, help="family (default: the chosen one)")
    a.add_argument("--group", default=None, metavar="COL=VALUE,...",
                   help="group in fit.json (default: its first)")
    a.add_argument("--run", default=None, metavar="DIR",
                   help="EO reproduction folder (`semjscc reproduce --preset eo-tiny --out "
                   "DIR`): measure the allocation by transmission through its trained models")
    a.add_argument("--device", default="auto", type=device_spec,
                   help="where --run transmits (default auto)")
    a.add_argument("--out", default=None, type=out_dir,
                   help="folder for allocation.json and allocation.csv")
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


def _group_columns(option: str | None, rows: list[dict[str, Any]]) -> list[str]:
    """``--group-by``: the named columns, none, or by default those of AUTO_GROUPS with more
    than one value."""
    if option is None:
        return [c for c in AUTO_GROUPS if c in rows[0] and len({str(r.get(c)) for r in rows}) > 1]
    if option.strip().lower() == "none":
        return []
    return _names(option, "group-by")


def _where(args: argparse.Namespace, columns: list[str]) -> dict[str, str]:
    where = {}
    for w in args.where:
        col, sep, value = w.partition("=")
        if not sep or col not in columns:
            raise ConfigError(f"--where takes COL=VALUE with COL a column of {args.results}; "
                              f"got {w!r}; columns: {', '.join(columns)}")
        where[col] = value
    return where


def run_fit(args: argparse.Namespace) -> int:
    rows = read_results(args.results)
    if not rows:
        raise ConfigError(f"{args.results} has no data rows; give a CSV with a header and rows")
    columns = list(rows[0])
    where = _where(args, columns)
    metrics = _names(args.metric, "metric")
    options = FitOptions(
        metrics=metrics, families=_names(args.family, "family"),
        group_by=_group_columns(args.group_by, filter_rows(rows, where) or rows),
        cr_column=next((c for c in CR_COLUMNS if c in columns), " or ".join(CR_COLUMNS)),
        psnr_ref_db=args.psnr_ref, m_clean=_per_metric(args.m_clean, metrics, "--m-clean"),
        m_min=_per_metric(args.m_min, metrics, "--m-min"), seed=args.seed, starts=args.starts,
        max_terms=args.max_terms)
    started = time.perf_counter()
    if args.workers < 1:
        raise ConfigError(f"--workers {args.workers}: give 1 or more processes")
    fit = fit_semloss(rows, options, args.out, where, str(args.results), workers=args.workers)
    for g in fit.groups:
        print("".join(f"note ({group_label(g.group)}): {line}\n" for line in g.notes), end="")
    print("".join(f"note: {line}\n" for line in dict.fromkeys(
        line for p in fit.points for line in p.norm.notes)), end="")
    print(ranking_table(fit.groups))
    log.info("fitted %d group x metric sets in %.1f s; wrote %s and %d figures into %s",
             len(fit.points), time.perf_counter() - started,
             ", ".join(w.name for w in fit.written[:2]), len(fit.written) - 2, args.out)
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


def _measured_table(allocations: Sequence[Allocation], measured: dict[str, Any]) -> str:
    """Per user predicted vs measured accuracy, then the worst user and the gain (measured,
    with the prediction next to it)."""
    pct = round(100 * measured["level"])

    def ci(m: dict[str, Any]) -> str:
        return f"{m['lo']:.4f}..{m['hi']:.4f}"

    def served(m: dict[str, Any]) -> str:
        return f"{m['served_by']} ({m['train_snr_db']})"

    out = [f"measured: {measured['metric']} of {measured['n_images']} test images sent over "
           f"{measured['channel']} (user i: noise seed {measured['seeds'][0]} + i, the same "
           f"in every scheme); {pct} % bootstrap "
           f"intervals over images; {measured['mapping']}",
           f"{'scheme':<9}{'user':<10}{'served by (trained SNR dB)':<36}{'SNR dB':>8}"
           f"{'predicted':>11}{'measured':>10}  {pct} % interval"]
    for a in allocations:
        got = measured["schemes"][a.scheme]
        out += [f"{a.scheme:<9}{u.name:<10}{served(m):<36}{u.snr_db:>8.2f}"
                f"{u.quality:>11.4f}{m['accuracy']:>10.4f}  {ci(m)}"
                for u, m in zip(a.users, got["users"])]
    for a in allocations:
        w = measured["schemes"][a.scheme]["worst"]
        out.append(f"worst user (min w*accuracy): {a.scheme} measured {w['value']:.4f} "
                   f"[{ci(w)}], predicted {w['predicted']:.4f}")
    g = measured["gain"]
    out.append(f"gain of {allocations[0].scheme} over {allocations[1].scheme} (worst user): "
               f"measured {g['value']:+.4f} [{g['lo']:+.4f}..{g['hi']:+.4f}, paired] ("
               f"{gain_verdict(g, allocations[0].scheme, allocations[1].scheme)}), "
               f"predicted {g['predicted']:+.4f}")
    return "\n".join(out)


def run_allocate(args: argparse.Namespace) -> int:
    plan = open_run(args.run) if args.run else None
    if plan is None and (args.model is None or args.users is None):
        raise ConfigError("allocate needs --model and --users, or --run DIR (an EO "
                          "reproduction folder) that provides both")
    model_path = args.model or plan.out / "fit" / "fit.json"
    model = SemanticLossModel.load(model_path, group=args.group, metric=args.metric,
                                   family=args.family)
    if args.users is not None:
        problem, source = AllocationProblem.load(args.users), str(args.users)
    elif plan.cfg.eo.users:
        problem = AllocationProblem.from_dict(plan.cfg.eo.users, "eo.users")
        source = f"eo.users of {plan.out / RECORD}"
    else:
        raise ConfigError(f"{plan.out / RECORD} has no eo.users; pass --users users.yaml")
    out = Path(args.out) if args.out else None
    check_allocatable(model, problem, str(model_path))
    if out is not None:
        refuse_overwrite([out / "allocation.json", out / "allocation.csv"],
                         [model_path, *([args.users] if args.users else [])])
    if plan is None:
        allocations, doc = run_allocation(model, problem, source, out)
    else:
        allocations, doc = measured_allocation(plan, model, problem, source, out,
                                               resolve_device(args.device))
    print(_allocation_table(model, allocations))
    if plan is None:
        print(f"gain over equal: {doc['gain_over_equal']:+.4f}, predicted by the fitted model "
              "(nothing transmitted; --run DIR measures it)")
    else:
        print(_measured_table(allocations, doc["measured"]))
    if out is not None:
        log.info("wrote allocation.json and allocation.csv into %s", out)
    return 0
