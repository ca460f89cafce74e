"""Allocation measured by transmission: the max-min allocation of a fitted model and the
equal baseline, each user's test images sent through the trained DJSCC at its allocated
operating point and judged as the study's rows are (OUT/allocation.json, .csv).

Operating point of user u: SNR_u = 10·log10(P_u·g_u/N0) over the channel of the fitted
model's group, ratio R_u among the problem's (realised) ratios. Mapping: R_u is served by the
trained DJSCC of that channel whose realised ratio (c = ⌊48·R⌋ latent channels, so the
requested 1/20 realises 1/24) equals R_u, and among several (one per training SNR) by the one
whose training SNR or SNR range is nearest SNR_u. Refused in one line: a metric other than
``accuracy_mismatched`` (the matched classifiers exist only at the evaluated SNRs), no trained
model at R_u, SNR_u outside every trained SNR (range), a source_dim whose channel uses differ
from the trained model's; warned: SNR_u outside the fitted SNR range.

Measured: each user's accuracy from the expected confusion of the clean (mismatched)
classifier, as in results.csv (:func:`~semjscc.evaluation.evaluate.evaluate_system`, the test
split in its fixed order; user i, counted from 0 in the users' order, draws its noise from
seed ``eval.seed + i``, so users are independent and each user sees the same noise in both
schemes), and the worst user's weighted accuracy min_u w_u·acc_u, the objective the allocation
maximises. Intervals: 95 % percentile bootstrap over test images (resampled image indices,
each user's accuracy and the min over users per resample), for these noise draws; the gain
max-min − equal is paired (the same resampled images and noise seeds in both schemes).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...channels import build_channel
from ...config import ConfigError, load_config
from ...data import num_classes_of
from ...evaluation.evaluate import df_system, evaluate_system
from ...evaluation.results import IMAGES
from ...evaluation.semloss_fit import FitResult, run_allocation, write_csv
from ...evaluation.suites import task_suite
from ...files import write_text
from ...models import load
from ...semloss import (
    Allocation,
    AllocationProblem,
    SemanticLossModel,
    group_label,
)
from ...semloss.margin import LEVEL, RESAMPLES
from ..djscc import djscc_for, test_loader
from ..runner import RECORD
from .plan import DJSCCRun, EOPlan, build_plan

log = logging.getLogger("semjscc.eo")

MEASURED_METRIC = "accuracy_mismatched"
RATIO_RTOL = 1e-6
MEASURED_COLUMNS = ["measured_accuracy", "measured_lo", "measured_hi", "measured_weighted",
                    "served_by"]
MAPPING = ("each user's R is served by the trained DJSCC of the fitted channel with that "
           "realised ratio, at the user's SNR (SNR-adaptive models: inside their training "
           "range; one model per SNR: the nearest training SNR)")


def open_run(run_dir: str | Path) -> EOPlan:
    """The plan of the EO reproduction in ``run_dir`` (from its recorded config)."""
    run_dir = Path(run_dir)
    if not (run_dir / RECORD).is_file():
        raise ConfigError(f"--run {run_dir} holds no {RECORD}; give the --out folder of "
                          "`semjscc reproduce --preset eo-tiny` (or another eo-semloss run)")
    cfg = load_config(run_dir / RECORD)
    if cfg.experiment != "eo-semloss":
        raise ConfigError(f"--run {run_dir} is a {cfg.experiment} run; give an eo-semloss "
                          "reproduction folder")
    return build_plan(cfg, run_dir)


def _cell(value: Any) -> str:
    """A group or channel column value compared as text: empty, a number, or a word."""
    if value in (None, ""):
        return ""
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return str(value)


def _channel_label(plan: EOPlan, group: dict[str, Any]) -> str:
    """The label of the run's channel that the fitted model's ``group`` describes (a group
    without channel columns fits a run of one channel)."""
    channels = [build_channel(s) for s in plan.cfg.eo.channels]
    found = [c.label for c in channels
             if all(_cell(c.describe().get(k)) == _cell(v) for k, v in group.items()
                    if k in c.describe())]
    if len(found) != 1:
        raise ConfigError(f"the fitted model's group ({group_label(group)}) matches "
                          f"{len(found)} of the run's channels "
                          f"({', '.join(c.label for c in channels)}); pick one channel's "
                          "group with --group channel=NAME")
    return found[0]


def serve(plan: EOPlan, channel: str, cr: float, snr_db: float, user: str) -> DJSCCRun:
    """The trained DJSCC of ``plan`` serving ratio ``cr`` at ``snr_db`` over ``channel``
    (see the module docstring); one-line errors when none does."""
    mine = [r for r in plan.runs if r.channel == channel]
    runs = [r for r in mine if abs(float(djscc_for(r.ratio).bandwidth_ratio()) - cr)
            <= RATIO_RTOL * cr]
    if not runs:
        have = sorted({f"{float(djscc_for(r.ratio).bandwidth_ratio()):.6g}" for r in mine})
        raise ConfigError(f"no trained DJSCC over {channel} realises R = {cr:.6g} of user "
                          f"{user}; trained realised ratios: {', '.join(have)}; list only those "
                          "in the users' ratios")

    def span(r: DJSCCRun) -> tuple[float, float]:
        return tuple(r.cfg.train.snr_db_range) if r.snr_db is None else (r.snr_db, r.snr_db)

    lo, hi = min(span(r)[0] for r in runs), max(span(r)[1] for r in runs)
    if not lo <= snr_db <= hi:
        raise ConfigError(f"user {user} operates at {snr_db:.2f} dB, outside the trained SNRs "
                          f"{lo:g}..{hi:g} dB of R = {cr:.6g} over {channel}; change its gain or "
                          "the power budget, or train over a wider range")
    run = min(runs, key=lambda r: max(span(r)[0] - snr_db, 0.0, snr_db - span(r)[1]))
    if not run.checkpoint.is_file():
        raise ConfigError(f"{run.checkpoint} does not exist (the DJSCC serving user {user} is "
                          f"not trained yet); finish the run with `semjscc reproduce ... --out "
                          f"{plan.out}`")
    return run


def measure_point(plan: EOPlan, run: DJSCCRun, snr_db: float, classifier: torch.nn.Module,
                  loader: Any, device: torch.device, seed: int) -> np.ndarray:
    """Each test image's expected correctness (N,) through ``run``'s DJSCC at ``snr_db`` over
    its channel with noise ``seed``, judged by ``classifier``: the mean is the accuracy of a
    results.csv row at that seed."""
    model, run_cfg = load(run.checkpoint, device=device, kind="deepjscc")
    metrics = evaluate_system(
        df_system(model, build_channel(run_cfg.link.channel), [snr_db]), loader,
        [task_suite(classifier, num_classes_of(plan.cfg.data), "mismatched", device)], device,
        seed, desc=f"allocation {run.channel} R={run.ratio} {snr_db:.2f} dB")
    return metrics[IMAGES]["accuracy_mismatched"].double().numpy()


def gain_verdict(gain: dict[str, Any], first: str, second: str) -> str:
    """``within noise`` when the measured gain's interval covers 0, else which scheme is
    ahead (``first`` when the gain is positive)."""
    if gain["lo"] <= 0 <= gain["hi"]:
        return "within noise"
    return f"{first if gain['value'] > 0 else second} ahead"


def bootstrap(hits: dict[str, np.ndarray], weights: np.ndarray, resamples: int = RESAMPLES,
              seed: int = 0, level: float = LEVEL) -> dict[str, Any]:
    """Per scheme (``hits[scheme]``: (U, N) per-image correctness of U users on the same N
    images) the users' accuracies and the worst weighted accuracy min_u w_u·acc_u, each
    ``{value, lo, hi}``; and the paired gain of the first scheme over the second."""
    n = next(iter(hits.values())).shape[1]
    idx = np.random.default_rng(seed).integers(0, n, (resamples, n))
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]

    def interval(value: float, draws: np.ndarray) -> dict[str, float]:
        lo, hi = np.percentile(draws, q)
        return {"value": float(value), "lo": float(lo), "hi": float(hi)}

    out: dict[str, Any] = {}
    worst_draws = {}
    for scheme, h in hits.items():
        acc, draws = h.mean(1), h[:, idx].mean(2)  # (U,), (U, resamples)
        worst_draws[scheme] = (weights[:, None] * draws).min(0)
        out[scheme] = {"users": [interval(a, d) for a, d in zip(acc, draws)],
                       "worst": interval((weights * acc).min(), worst_draws[scheme])}
    first, second = list(hits)
    out["gain"] = interval(out[first]["worst"]["value"] - out[second]["worst"]["value"],
                           worst_draws[first] - worst_draws[second])
    return out


def _served(plan: EOPlan, run: DJSCCRun) -> dict[str, str]:
    """How a user's operating point maps to a trained model: its folder, requested ratio
    and training SNR (a range for an SNR-adaptive model)."""
    return {"served_by": str(run.dir.relative_to(plan.out)), "requested_ratio": run.ratio,
            "train_snr_db": run.train_snr}


def measure(plan: EOPlan, model: SemanticLossModel, allocations: list[Allocation],
            device: torch.device) -> dict[str, Any]:
    """Transmit the test split at every user's operating point of ``allocations`` (max-min,
    then equal) and measure what the allocation optimised (see the module docstring)."""
    if model.metric != MEASURED_METRIC:
        raise ConfigError(f"measuring an allocation needs a fit of {MEASURED_METRIC} (matched "
                          f"classifiers exist only at the evaluated SNRs); got {model.metric}; "
                          f"pass --metric {MEASURED_METRIC} (in a reproduction: list it first "
                          "in eo.fit_metrics)")
    channel = _channel_label(plan, model.group)
    size = plan.cfg.data.image_size
    lo, hi = model.snr_domain
    cache: dict[tuple[str, float, int], np.ndarray] = {}
    classifier = load(plan.task_checkpoint, device=device, kind="classifier")[0]
    loader = test_loader(plan.cfg)
    hits, served = {}, {}
    for a in allocations:
        per_user = []
        for i, u in enumerate(a.users):
            run = serve(plan, channel, u.cr, u.snr_db, u.name)
            k = djscc_for(run.ratio).num_symbols(size, size)
            if k != u.channel_uses:
                raise ConfigError(f"user {u.name} at R = {u.cr:.6g} gets {u.channel_uses} "
                                  f"channel uses, but the trained model sends {k} for "
                                  f"3x{size}x{size} images; set source_dim: {3 * size * size}")
            if not lo <= u.snr_db <= hi:
                log.warning("user %s (%s) operates at %.2f dB, outside the fitted SNR range "
                            "%g..%g dB: its prediction is an extrapolation", u.name, a.scheme,
                            u.snr_db, lo, hi)
            key = (str(run.dir), round(u.snr_db, 9), plan.cfg.eval.seed + i)
            if key not in cache:
                cache[key] = measure_point(plan, run, u.snr_db, classifier, loader, device,
                                           key[2])
            per_user.append(cache[key])
            served[a.scheme, u.name] = run
        hits[a.scheme] = np.stack(per_user)
    stats = bootstrap(hits, np.array([u.weight for u in allocations[0].users]),
                      seed=plan.cfg.seed)
    schemes = {a.scheme: {
        "users": [{"name": u.name, "accuracy": s["value"], "lo": s["lo"], "hi": s["hi"],
                   "weighted": u.weight * s["value"], **_served(plan, served[a.scheme, u.name])}
                  for u, s in zip(a.users, stats[a.scheme]["users"])],
        "worst": {**stats[a.scheme]["worst"], "predicted": a.min_weighted}}
        for a in allocations}
    return {"metric": MEASURED_METRIC, "classifier": str(plan.task_checkpoint),
            "channel": channel, "n_images": int(hits[allocations[0].scheme].shape[1]),
            "seeds": [plan.cfg.eval.seed + i for i in range(len(allocations[0].users))],
            "resamples": RESAMPLES, "level": LEVEL,
            "mapping": MAPPING, "schemes": schemes,
            "gain": {**stats["gain"],
                     "predicted": allocations[0].min_weighted - allocations[1].min_weighted}}


def _csv_rows(allocations: list[Allocation], doc: dict[str, Any]) -> list[list[Any]]:
    """allocation.csv's rows: one per scheme × user, then per scheme the worst user (the
    weighted columns hold min w·M predicted and min w·acc measured), then the gain."""
    measured = doc["measured"]
    rows = []
    for a in allocations:
        got = measured["schemes"][a.scheme]
        rows += [[a.scheme, *asdict(u).values(), m["accuracy"], m["lo"], m["hi"], m["weighted"],
                  m["served_by"]] for u, m in zip(a.users, got["users"])]
        worst = got["worst"]
        rows.append([a.scheme, "worst", *[""] * 7, worst["predicted"], "", worst["lo"],
                     worst["hi"], worst["value"], ""])
    gain = measured["gain"]
    names = " - ".join(a.scheme for a in allocations)
    return rows + [["gain", names, *[""] * 7, gain["predicted"], "", gain["lo"], gain["hi"],
                    gain["value"], ""]]


def _write(out: Path, allocations: list[Allocation], doc: dict[str, Any]) -> None:
    """allocation.json, and with a measurement allocation.csv (the prediction's columns,
    then :data:`MEASURED_COLUMNS`)."""
    write_text(out / "allocation.json", json.dumps(doc, indent=1) + "\n")
    if "measured" in doc:
        write_csv(out / "allocation.csv",
                  ["scheme", *asdict(allocations[0].users[0]), *MEASURED_COLUMNS],
                  _csv_rows(allocations, doc))


def measured_allocation(plan: EOPlan, model: SemanticLossModel, problem: AllocationProblem,
                        users: str, out: Path | None, device: torch.device,
                        ) -> tuple[list[Allocation], dict[str, Any]]:
    """:func:`~semjscc.evaluation.semloss_fit.run_allocation` plus its measurement
    (``doc["measured"]``, see :func:`measure`), written to ``out``/allocation.json and
    allocation.csv when given."""
    allocations, doc = run_allocation(model, problem, users)
    doc["measured"] = measure(plan, model, allocations, device)
    if out is not None:
        _write(out, allocations, doc)
    return allocations, doc


def allocation_stage(plan: EOPlan, fit: FitResult, device: torch.device) -> dict[str, Any] | None:
    """The EO study's allocation example: ``eo.users`` allocated with the chosen family of the
    first fitted metric of the first group and measured by transmission, written to
    OUT/allocation.json and .csv. None without users; ``{"skipped": reason}`` when it cannot
    run; predicted only, with ``not_measured`` saying why, when it cannot be measured."""
    if not plan.cfg.eo.users:
        return None
    try:
        problem = AllocationProblem.from_dict(plan.cfg.eo.users, "eo.users")
        model = fit.model()
        allocations, doc = run_allocation(model, problem, "eo.users of reproduce.yaml",
                                          plan.out)
    except ConfigError as exc:
        log.warning("allocation example skipped: %s", exc)
        return {"skipped": str(exc)}
    try:
        doc["measured"] = measure(plan, model, allocations, device)
    except ConfigError as exc:
        log.warning("allocation example predicted only, not measured: %s", exc)
        doc["not_measured"] = str(exc)
    _write(plan.out, allocations, doc)
    return doc
