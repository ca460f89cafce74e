"""The analyses of the Earth-observation study after results.csv: the unified semantic-loss
fits of the DJSCC rows (OUT/fit/, by :func:`~semjscc.evaluation.semloss_fit.fit_semloss`,
the workflow of ``semjscc fit-semloss``); the allocation example is :mod:`.allocation`.

Fits: every metric of ``eo.fit_metrics`` with every family of ``eo.fit_families`` (U1–U4,
our designs), one group per channel setting. M_clean of ``<score>_<protocol>`` is the
``<score>_clean`` column (the classifier on clean test images); other metrics use the
fit-semloss defaults. A family with more free parameters than points is skipped with a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...channels import channel_param_columns
from ...config import Config
from ...device import usable_cpus
from ...evaluation.semloss_fit import FitOptions, FitResult, fit_semloss

FIT_STARTS = 20  # multi-starts per fit, as `semjscc fit-semloss`
SNR_OFFSET_DB = 3.01  # the EO authors' nominal SNR is this much below ours (per complex symbol)


def group_columns(rows: list[dict[str, Any]]) -> list[str]:
    """``channel`` plus the channel columns that vary (equalisation, K factor)."""
    return ["channel"] + [c for c in ("equalization", *channel_param_columns())
                          if len({str(r.get(c)) for r in rows}) > 1]


def clean_column(metric: str, protocols: list[str]) -> str | None:
    """``accuracy_matched`` -> ``accuracy_clean`` (its M_clean); None for other metrics."""
    score, _, protocol = metric.rpartition("_")
    return f"{score}_clean" if protocol in protocols else None


def fit_stage(cfg: Config, rows: list[dict[str, Any]], out: Path) -> FitResult:
    """Fit every metric × family per channel group of the DJSCC rows into ``out``, one
    process per usable CPU."""
    djscc = [r for r in rows if r["method"] == "djscc"]
    clean = {m: clean_column(m, cfg.eo.protocols) for m in cfg.eo.fit_metrics}
    options = FitOptions(
        metrics=list(cfg.eo.fit_metrics), families=list(cfg.eo.fit_families),
        group_by=group_columns(djscc), clean_columns={m: c for m, c in clean.items() if c},
        seed=cfg.seed, starts=FIT_STARTS, too_few="skip")
    return fit_semloss(rows, options, out, {"method": "djscc"}, workers=usable_cpus())
