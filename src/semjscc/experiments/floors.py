"""Floors before verdicts: the minimum quality a study's models must reach for its comparison
to mean something, measured on the evaluation rows at run time.

A :class:`Floor` holds when its measured value is at least its threshold (a value missing
from the rows misses it). A report renders :func:`floors_section` and passes its verdict
through :func:`gated`: when any floor is missed the verdict is replaced by "not meaningful
(floor ... missed: measured vs required)" and :func:`warn_missed` logs one ``warning:``
line per missed floor. The thresholds are config fields (``importance.floor_*``,
``eo.floor_*``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..plots.semloss import ratio_label
from .report import markdown_table

log = logging.getLogger("semjscc.floors")

TOLERANCE = 1e-9  # a measured value this close below its threshold still holds (float noise)


@dataclass(frozen=True)
class Floor:
    """One floor: ``name``, what it ``measures``, the ``measured`` value (None: not in the
    rows) and the ``threshold`` it must reach (measured >= threshold)."""

    name: str
    measures: str
    measured: float | None
    threshold: float

    @property
    def holds(self) -> bool:
        return self.measured is not None and self.measured >= self.threshold - TOLERANCE

    def missed_text(self) -> str:
        """``floor NAME missed: measured M vs required >= T``."""
        got = "not measured" if self.measured is None else f"measured {self.measured:.3f}"
        return f"floor {self.name} missed: {got} vs required >= {self.threshold:.3f}"


def missed(floors: list[Floor]) -> list[Floor]:
    return [f for f in floors if not f.holds]


def floors_section(floors: list[Floor]) -> list[str]:
    """The report's "Floors" section: each floor, measured vs threshold, PASS or MISSED."""
    if not floors:
        return []
    table = [[f.name, f.measures, "–" if f.measured is None else f"{f.measured:.3f}",
              f"≥ {f.threshold:.3f}", "PASS" if f.holds else "MISSED"] for f in floors]
    lost = missed(floors)
    status = ("Every floor holds: the verdicts below compare trained models." if not lost else
              f"{len(lost)} of {len(floors)} floors missed: the verdicts below are not "
              "meaningful (the models are not trained well enough to compare).")
    return ["## Floors", "",
            ("The minimum quality the models must reach for the comparison to mean something "
             "(thresholds: config fields, measured on the evaluation split)."), "",
            markdown_table(["floor", "measures", "measured", "required", "status"], table), "",
            status, ""]


def gated(verdict: str, floors: list[Floor]) -> str:
    """``verdict`` when every floor holds, else "Not meaningful (floor ... missed: ...)"."""
    lost = missed(floors)
    if not lost:
        return verdict
    return "Not meaningful (" + "; ".join(f.missed_text() for f in lost) + "): no verdict drawn."


def warn_missed(floors: list[Floor], study: str) -> None:
    """One ``warning:`` log line per missed floor of ``study``."""
    for f in missed(floors):
        log.warning("%s: %s; its verdicts are marked not meaningful", study,
                    f.missed_text())


def _first(rows: list[dict[str, Any]], column: str) -> float | None:
    return next((r[column] for r in rows if r.get(column) is not None), None)


def importance_floors(rows: list[dict[str, Any]], clean_accuracy: float,
                      kept: float, baseline: str = "mse") -> list[Floor]:
    """The importance study's floors: T's and the independent classifier's clean accuracy
    >= ``clean_accuracy``; per R, the ``baseline`` DJSCC's best accuracy under T over its
    rows (every test SNR) >= ``kept`` × T's clean accuracy (measured: that share)."""
    floors = [Floor(f"{label} clean", f"clean test accuracy of {what}", _first(rows, column),
                    clean_accuracy)
              for label, what, column in (
                  ("T", "the task network T", "accuracy_task_clean"),
                  ("independent", "the independent classifier", "accuracy_indep_clean"))]
    clean = _first(rows, "accuracy_task_clean")
    for cr in sorted({r["realized_cr"] for r in rows if r["method"] == baseline}, reverse=True):
        best = max((r["accuracy_task"] for r in rows if r["method"] == baseline
                    and r["realized_cr"] == cr and r.get("accuracy_task") is not None),
                   default=None)
        share = None if best is None or not clean else best / clean
        floors.append(Floor(f"`{baseline}` kept at R = {ratio_label(cr)}",
                            f"best accuracy under T of the `{baseline}` DJSCC over the test "
                            "SNRs, as a share of T's clean accuracy", share, kept))
    return floors


def eo_floors(rows: list[dict[str, Any]], clean_accuracy: float, kept: float,
              setting: Callable[[dict[str, Any]], str]) -> list[Floor]:
    """The EO study's floor, per channel setting (``setting(row)`` names it): the matched
    classifier's DJSCC accuracy at the largest R and the largest SNR >= ``kept`` × the clean
    accuracy (measured: that share). None when the matched protocol was not run."""
    djscc = [r for r in rows if r["method"] == "djscc"]
    if not any(r.get("accuracy_matched") is not None for r in djscc):
        return []
    floors = []
    for name in sorted({setting(r) for r in djscc}):
        here = [r for r in djscc if setting(r) == name]
        top = max((r["realized_cr"], r["snr_db"]) for r in here)
        value = next((r.get("accuracy_matched") for r in here
                      if (r["realized_cr"], r["snr_db"]) == top), None)
        floors.append(Floor(f"matched kept, {name}",
                            f"matched accuracy at R = {ratio_label(top[0])}, {top[1]:g} dB "
                            "as a share of the clean accuracy",
                            None if value is None or not clean_accuracy
                            else value / clean_accuracy, kept))
    return floors
