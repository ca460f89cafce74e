"""The one workflow of the unified semantic-loss model, shared by ``semjscc fit-semloss`` and
the Earth-observation experiment: rows of a results table -> checked, normalised points per
group × metric -> every family fitted, cross-validated and ranked -> ``fit.json`` (a model
file for ``allocate``), ``fit.csv`` (measured vs fitted M per point and family, and the
held-out predictions of both CV schemes) and figures (curves, residuals, semantic-loss
contours of the chosen family, U3's MAPE vs terms); and the max-min allocation with a fitted
model -> ``allocation.json`` and ``allocation.csv``.

The CV scores of fit.json, its ranking and the margins of the best family over the runner-up
(per group × metric, and ``overall``: the mean over every group × metric) are computed from
the same held-out predictions that fill fit.csv's ``cv_snr_predicted`` and
``cv_cr_predicted`` columns.

The families U1–U4 are our own designs (the paper's formula is unpublished).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..data.fingerprint import KEY, shared_fingerprint
from ..errors import ConfigError
from ..files import path_segment, refuse_overwrite, write_text
from ..plots import filter_rows, save_figure
from ..plots.semloss import (
    curves_figure,
    loss_contour_figure,
    residuals_figure,
    terms_figure,
)
from ..semloss import (
    FAMILIES,
    NOTE,
    Allocation,
    AllocationProblem,
    GroupFit,
    MetricFit,
    SemanticLossModel,
    allocate,
    check_points,
    equal_baseline,
    family_margin,
    fit_document,
    fit_metric,
    group_label,
    held_out_errors,
    normalise,
    points_needed,
)
from ..semloss.checks import at_bounds, cr_grid, fall, snr_grid, too_few_distinct
from ..semloss.fit import MAX_TERMS, SCHEMES, FitError
from ..semloss.margin import RESAMPLES
from ..semloss.quality import PSNR_REF_DB, Normalisation, raw_range

log = logging.getLogger("semjscc.semloss")

TOO_FEW = ("error", "skip")
CV_COLUMNS = {"leave_one_snr_out": "cv_snr_predicted", "leave_one_cr_out": "cv_cr_predicted"}


@dataclass(frozen=True)
class FitOptions:
    """What to fit and how.

    ``group_by``: columns fitted separately; ``clean_columns``: per metric, the column whose
    values give M_clean (default ``<metric>_clean`` where the rows have it); ``m_clean``: per
    metric, M_clean on the M scale where there is no such column; ``m_min``: U1's floor held
    fixed; ``too_few``: what a family with more free parameters than points does, ``error``
    (stop) or ``skip`` (a note, the other families are fitted).
    """

    metrics: list[str]
    families: list[str]
    group_by: list[str] = field(default_factory=list)
    cr_column: str = "realized_cr"
    psnr_ref_db: float = PSNR_REF_DB
    clean_columns: dict[str, str] = field(default_factory=dict)
    m_clean: dict[str, float] = field(default_factory=dict)
    m_min: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    starts: int = 20
    max_terms: int = MAX_TERMS
    too_few: str = "error"

    def check(self, columns: list[str], source: str) -> None:
        """One-line ConfigError for unknown families, missing columns or bad numbers."""
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown:
            raise ConfigError(f"unknown model family {unknown[0]!r}; choose from "
                              f"{', '.join(FAMILIES)}")
        for what, needed in (("--group-by column {!r}", self.group_by),
                             ("column {}", [self.cr_column, "snr_db", *self.metrics])):
            missing = [c for c in needed if c not in columns]
            if missing:
                raise ConfigError(f"{what.format(missing[0])} is not in {source}; columns: "
                                  f"{', '.join(columns)}")
        if self.starts < 1 or self.max_terms < 1 or self.seed < 0:
            raise ConfigError("starts and max_terms must be >= 1 and the seed >= 0; got "
                              f"{self.starts}, {self.max_terms}, {self.seed}")
        if self.too_few not in TOO_FEW:
            raise ConfigError(f"too_few={self.too_few!r}: choose one of {', '.join(TOO_FEW)}")


@dataclass(frozen=True)
class Points:
    """The points of one group × metric, checked and normalised to the quality M."""

    group: dict[str, Any]
    metric: str
    cr: np.ndarray
    snr: np.ndarray
    quality: np.ndarray
    norm: Normalisation


@dataclass
class FitResult:
    """What :func:`fit_semloss` produced: the fit.json document, the fitted groups, the
    points and the files written."""

    document: dict[str, Any]
    groups: list[GroupFit]
    points: list[Points]
    written: list[Path]

    def model(self, **select: Any) -> SemanticLossModel:
        """One fitted model (see :meth:`SemanticLossModel.from_document`)."""
        return SemanticLossModel.from_document(self.document, "the fit", **select)


def _lines(lines: list[int], limit: int = 8) -> str:
    return ", ".join(map(str, lines[:limit])) + (" ..." if len(lines) > limit else "")


def _number(cell: Any, fractions: bool) -> float | None:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return float(cell)
    try:
        return float(Fraction(cell.replace(" ", ""))) if fractions and cell else None
    except (ValueError, ZeroDivisionError, AttributeError):
        return None


def _numbers(pairs: list[tuple[int, dict[str, Any]]], column: str, source: str,
             fractions: bool = False) -> np.ndarray:
    """Column values as floats (``a/b`` strings too when ``fractions``); empty or text cells
    are errors naming ``source`` and the CSV lines."""
    values = [_number(r.get(column), fractions) for _, r in pairs]
    bad = [line for (line, _), v in zip(pairs, values) if v is None]
    if bad:
        raise ConfigError(f"{source}: column {column} has empty or non-numeric cells at CSV "
                          f"lines {_lines(bad)}; fill them in or remove those rows")
    return np.array(values, float)


def _families(options: FitOptions, metric: str, label: str, n: int, single: bool,
              notes: list[str]) -> list[str]:
    """The families ``n`` points can identify; the others raise or are noted."""
    kept = []
    for f in options.families:
        fixed = {"M_min": options.m_min[metric]} if f == "U1" and metric in options.m_min \
            else None
        need = points_needed(f, 1, single, fixed)
        if n >= need:
            kept.append(f)
            continue
        problem = (f"{f} needs at least {need} points (its free parameters"
                   f"{' with a single R' if single else ''}); got {n}")
        if options.too_few == "error":
            raise ConfigError(f"{metric} ({label}): {problem}")
        notes.append(f"{metric}: {problem}; not fitted")
    return kept


def _in_range(values: np.ndarray, lines: list[int], norm: Normalisation, source: str) -> None:
    """ConfigError naming ``source``, the column, the first CSV line and its value when a raw
    value lies outside what the metric can take (:func:`raw_range`)."""
    span = raw_range(norm)
    if span is None:
        return
    bad = np.flatnonzero((values < span[0]) | (values > span[1]))
    if bad.size:
        what = {"fraction": "a fraction; a column with a value above 1.5 is read as percent",
                "percent": "read as percent since a value exceeds 1.5"}.get(
            norm.kind, "the metric's range")
        i = int(bad[0])
        raise ConfigError(f"{source}: column {norm.metric} = {values[i]:g} at CSV line "
                          f"{lines[i]} is outside {span[0]:g}..{span[1]:g} ({what}; "
                          f"{bad.size} such rows); fix the values or drop those rows")


def _metric_points(options: FitOptions, group: dict[str, Any],
                   members: list[tuple[int, dict[str, Any]]], metric: str,
                   notes: list[str], source: str) -> Points | None:
    """The checked points of one metric in one group (``members``: CSV line, row); rows with
    an empty metric cell are dropped with a note; None when none is left. Errors name
    ``source``."""
    kept = [(line, r) for line, r in members if r.get(metric) is not None]
    dropped = [line for line, r in members if r.get(metric) is None]
    if not kept:
        notes.append(f"{metric}: no values; not fitted")
        return None
    if dropped:
        notes.append(f"{metric}: dropped {len(dropped)} rows with an empty cell (CSV lines "
                     f"{_lines(dropped)})")
    lines = [line for line, _ in kept]
    try:
        cr, snr, values = check_points(_numbers(kept, options.cr_column, source, True),
                                       _numbers(kept, "snr_db", source),
                                       _numbers(kept, metric, source), lines, "CSV lines",
                                       (options.cr_column, "snr_db", metric))
    except FitError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    column = options.clean_columns.get(metric, f"{metric}_clean")
    clean = [r.get(column) for _, r in kept]
    quality, norm = normalise(metric, values, psnr_ref_db=options.psnr_ref_db,
                              m_clean=options.m_clean.get(metric),
                              clean_values=[c for c in clean if _number(c, False) is not None])
    _in_range(values, lines, norm, source)
    if np.unique(np.round(cr, 9)).size == 1:
        notes.append(f"{metric}: a single R = {cr[0]:.6g}; fitted against SNR alone, "
                     "leave-one-R-out skipped (cv_cr_predicted empty)")
    if np.unique(np.round(snr, 9)).size == 1:
        notes.append(f"{metric}: a single SNR = {snr[0]:.6g} dB; leave-one-SNR-out skipped "
                     "(cv_snr_predicted empty)")
    return Points(group, metric, cr, snr, quality, norm)


def fit_points(rows: list[dict[str, Any]], options: FitOptions, where: dict[str, Any],
               source: str) -> tuple[list[Points], dict[str, GroupFit]]:
    """The points of every group × metric of ``rows`` matching ``where``, and every group
    (by label) with its notes (its metrics still empty)."""
    if not rows:
        raise ConfigError(f"{source} has no data rows; give a table with a header and rows")
    options.check(list(rows[0]), source)
    line_of = {id(r): i + 2 for i, r in enumerate(rows)}
    rows = filter_rows(rows, where)
    if not rows:
        raise ConfigError(f"no rows of {source} match --where "
                          f"{' '.join(f'{k}={v}' for k, v in where.items())}; choose values "
                          "the table holds")
    members_of: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
    for r in rows:
        members_of.setdefault(tuple(str(r.get(c)) for c in options.group_by), []).append(
            (line_of[id(r)], r))
    points, groups = [], {}
    for members in members_of.values():
        group = GroupFit({c: members[0][1].get(c) for c in options.group_by}, {}, [])
        groups[group_label(group.group)] = group
        for metric in options.metrics:
            p = _metric_points(options, group.group, members, metric, group.notes, source)
            if p is not None:
                points.append(p)
    return points, groups


def _processes(workers: int) -> AbstractContextManager[Executor | None]:
    """A pool of ``workers`` spawned processes (the fits are pure Python and numpy, so
    threads would share one core), or no pool for fewer than two."""
    if workers < 2:
        return nullcontext(None)
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def fit_semloss(rows: list[dict[str, Any]], options: FitOptions, out: str | Path,
                where: dict[str, Any] | None = None, source: str = "results.csv",
                workers: int = 1) -> FitResult:
    """Fit every metric × family of ``options`` per group of the ``rows`` matching ``where``
    and write fit.json, fit.csv and the figures into ``out``; the families of each metric
    are fitted side by side in ``workers`` spawned processes (so a script calling this with
    ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard). Everything is
    checked before anything is fitted or written."""
    where = dict(where or {})
    points, groups = fit_points(rows, options, where, source)
    out = Path(out)
    refuse_overwrite([out / name for name in output_names(points, list(groups.values()),
                                                          options.families)], [source])
    fingerprint = shared_fingerprint(row.get("checkpoint") for row in rows)
    fitted = []
    for p in points:
        group = groups[group_label(p.group)]
        single = np.unique(np.round(p.cr, 9)).size == 1
        families = _families(options, p.metric, group_label(p.group), p.quality.size, single,
                             group.notes)
        fitted.append((p, group, families))
    with _processes(workers) as executor:
        for p, group, families in fitted:
            if families:
                mf = fit_metric(p.cr, p.snr, p.quality, families,
                                m_min=options.m_min.get(p.metric), starts=options.starts,
                                seed=options.seed, max_terms=options.max_terms,
                                executor=executor)
                group.metrics[p.metric] = (p.norm, mf)
                group.notes.extend(fold_notes(p.metric, mf))
                group.warnings.extend(fit_warnings(p, mf))
    for group in groups.values():
        for line in group.warnings:
            log.warning("%s: %s", source, line)
    document = fit_document(list(groups.values()), {
        "results": source, "where": where, **asdict(options),
        "scale": "fit.csv and the diagnostics use the normalised quality M",
        "cv": "each fold a fresh fit of the points it keeps, with the full fit's seed and "
              "starts; fit.csv's cv_snr_predicted and cv_cr_predicted hold each point's "
              "prediction by the fold that held it out"})
    document[KEY] = fingerprint  # of the checkpoints the rows name (None: unknown)
    document["overall"] = overall_ranking(
        [(p.quality, groups[group_label(p.group)].metrics[p.metric][1]) for p, _, f in fitted
         if f], options.seed)
    written = write_fit(out, document, points, list(groups.values()))
    return FitResult(document, list(groups.values()), points, written)


def fit_warnings(p: Points, mf: MetricFit) -> list[str]:
    """Warnings on the chosen family of one group × metric, each saying what it means for
    the result: too few distinct SNRs or Rs to identify it, parameters pinned at a bound
    of the family, and M falling as SNR or R rises over the fitted ranges."""
    fit = mf.assessments[mf.chosen].fit
    head = f"{p.metric} ({group_label(p.group)}): {fit.family}"
    n_snr, n_cr = (int(np.unique(np.round(x, 9)).size) for x in (p.snr, p.cr))
    out = [f"{head}: {w}" for w in too_few_distinct(fit.family, fit.n_terms, n_snr, n_cr)]
    pinned = at_bounds(fit)
    if pinned:
        out.append(f"{head}: {'; '.join(pinned)}: the data ask for values the family does "
                   "not allow, so the fitted curve is biased (check the normalisation, e.g. "
                   "--psnr-ref or --m-clean, or try another --family)")
    where = fall(fit.predict, cr_grid(*fit.cr_range), snr_grid(*fit.snr_range))
    if where:
        out.append(f"{head} {where}: quality should not drop as SNR or R rises, so its "
                   "predictions are not trustworthy there, and allocate refuses this fit")
    return out


def fold_notes(metric: str, mf: MetricFit) -> list[str]:
    """One note per family and scheme with folds that could not be fitted (their points'
    cells of fit.csv's CV column stay empty); a single R or SNR is noted with the points."""
    notes = []
    for family, a in mf.assessments.items():
        for scheme, what in SCHEMES.items():
            unfitted = a.cv.get(scheme, {}).get("unfitted") or []
            if not unfitted:
                continue
            held = ", ".join(f"{u['held_out']:.6g}" for u in unfitted)
            notes.append(f"{metric}: {family} leave-one-{what}-out: the fold(s) holding out "
                         f"{what} = {held} could not be fitted ({unfitted[0]['reason']}); "
                         f"{CV_COLUMNS[scheme]} is empty for their points")
    return notes


def overall_ranking(fits: list[tuple[np.ndarray, MetricFit]], seed: int) -> dict[str, Any]:
    """The families fitted with a CV MAPE in every group × metric of ``fits`` (measured M,
    its fits), ranked by their mean CV MAPE, and the best one's margin over the runner-up
    (a bootstrap that resamples each group × metric's points)."""
    families = [f for f in FAMILIES if fits and all(
        f in mf.assessments and np.isfinite(mf.assessments[f].cv_mape) for _, mf in fits)]
    mean = {f: float(np.mean([mf.assessments[f].cv_mape for _, mf in fits])) for f in families}
    ranking = sorted(families, key=lambda f: mean[f])
    sets = [{f: held_out_errors(y, mf.assessments[f].cv_predicted) for f in families}
            for y, mf in fits]
    margin = family_margin(sets, ranking, seed)
    return {"sets": len(fits), "ranking": [{"family": f, "mean_cv_mape": mean[f]}
                                           for f in ranking],
            "margin": margin and margin.to_dict()}


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    """A small CSV (header, then rows) written whole or not at all."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return write_text(path, buffer.getvalue())


def _file(kind: str, group: dict[str, Any], metric: str = "") -> str:
    """``curves_channel-awgn_psnr.png``: kind, group (``col-value``) and metric, each made a
    safe name (:func:`~semjscc.files.path_segment`)."""
    parts = [kind, *(path_segment(f"{k}-{v}") for k, v in group.items())]
    return "_".join(parts + ([path_segment(metric)] if metric else [])) + ".png"


def output_names(points: list[Points], groups: list[GroupFit], families: list[str]
                 ) -> list[str]:
    """Every file :func:`write_fit` may write, by name; ConfigError when two metrics or
    groups would share a file name once made safe."""
    names = ["fit.json", "fit.csv"]
    for p in points:
        names += [_file(kind, p.group, p.metric) for kind in ("curves", "residuals", "loss")]
    if "U3" in families:
        names += [_file("u3_terms", g.group) for g in groups]
    seen = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"two metrics or groups would both write {name} (names are made "
                              "file-safe: other characters become '-'); rename the columns")
        seen.add(name)
    return names


def write_fit(out: Path, document: dict[str, Any], points: list[Points],
              groups: list[GroupFit]) -> list[Path]:
    """fit.json, fit.csv (measured vs fitted M per point and family, and the point's
    held-out predictions: ``cv_snr_predicted`` by the leave-one-SNR-out fold, and
    ``cv_cr_predicted`` by the leave-one-R-out fold; empty where the fold was not fitted)
    and the figures; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [write_text(out / "fit.json", json.dumps(document, indent=1) + "\n")]
    fitted = {(group_label(g.group), m): mf for g in groups for m, (_, mf) in g.metrics.items()}
    columns = document["options"]["group_by"]
    table, terms = [], {}
    for p in points:
        label = group_label(p.group)
        mf = fitted.get((label, p.metric))
        if mf is None:
            continue
        for family, a in mf.assessments.items():
            held = [a.cv_predicted.get(s, np.full(p.quality.shape, np.nan)) for s in CV_COLUMNS]
            table += [[*(p.group[c] for c in columns), p.metric, family, f"{r:.6g}",
                       f"{s:.6g}", f"{m:.6g}", f"{q:.6g}", f"{m - q:.6g}",
                       *(f"{h:.6g}" if np.isfinite(h) else "" for h in cells)]
                      for r, s, m, q, *cells in zip(p.cr, p.snr, p.quality,
                                                    a.fit.predict(p.cr, p.snr), *held)]
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
                        out / _file("loss", p.group, p.metric))]
        if "U3" in mf.assessments:
            terms.setdefault(label, {})[p.metric] = mf.assessments["U3"].terms_curve or []
    written.insert(1, write_csv(out / "fit.csv", [*columns, "metric", "family", "cr", "snr_db",
                                                  "measured", "predicted", "residual",
                                                  *CV_COLUMNS.values()], table))
    written += [save_figure(terms_figure(terms[group_label(g.group)],
                                         f"U3: MAPE vs number of terms ({group_label(g.group)})"),
                            out / _file("u3_terms", g.group))
                for g in groups if group_label(g.group) in terms]
    return written


def _cell(x: Any, fmt: str = "{:.3f}") -> str:
    return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else fmt.format(x)


def ranking_table(groups: list[GroupFit]) -> str:
    """Plain-text ranking of every fitted family per group × metric (MAPE, CV MAPEs) and
    the chosen family's lead over the runner-up with its bootstrap interval."""
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
            if mf.margin is not None:
                out.append(f"{'':<14}{mf.margin.describe()}")
    return "\n".join(out + ["* chosen: lowest combined CV MAPE (each fold a fresh fit without "
                            f"its held-out points; interval: {RESAMPLES} bootstrap resamples "
                            "of the points). " + NOTE])


def run_allocation(model: SemanticLossModel, problem: AllocationProblem, users: str,
                   out: Path | None = None) -> tuple[list[Allocation], dict[str, Any]]:
    """The max-min allocation of ``problem`` with ``model`` and the equal-power, equal-R
    baseline, and their document (``users`` names where the users came from), also written
    to ``out``/allocation.json and allocation.csv when ``out`` is given."""
    allocations = [allocate(model, problem), equal_baseline(model, problem)]
    doc = {"note": NOTE, "model": model.to_dict(), "users": users, "problem": asdict(problem),
           "gain_over_equal": allocations[0].min_weighted - allocations[1].min_weighted,
           "allocations": [a.to_dict() for a in allocations]}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "allocation.json", json.dumps(doc, indent=1) + "\n")
        write_csv(out / "allocation.csv", ["scheme", *asdict(allocations[0].users[0])],
                  [[a.scheme, *asdict(u).values()] for a in allocations for u in a.users])
    return allocations, doc
