"""Unified semantic-loss model: quality M(R, γ) of every metric as one parametric family over
the realised compression ratio R and the SNR γ [dB], fitted to measured points, validated
by cross-validation, inverted (least SNR / least R for a target quality) and used for
max-min resource allocation over ground users.

The families U1–U4 are our own designs: "Toward a Unified Semantic Loss Model for Deep
JSCC-based Transmission of EO Imagery" does not publish its formula. Modules:

* :mod:`.families`: the formulas, bounds and start boxes;
* :mod:`.quality`: how M and M_clean are formed from metric columns;
* :mod:`.fit`: bounded multi-start least squares, MAPE/RMSE/R², leave-one-SNR-out and
  leave-one-R-out cross-validation (every fold a fresh fit by the full fit's recipe, with
  each point's held-out prediction), ranking by CV MAPE;
* :mod:`.margin`: the lead of the best family over the runner-up with a bootstrap interval;
* :mod:`.model`: :class:`SemanticLossModel` and its files. A model file is either a
  ``fit.json`` written by ``semjscc fit-semloss`` (``SemanticLossModel.load(path, group=...,
  metric=..., family=...)`` picks one entry, by default the chosen family of the first metric
  of the first group) or a single-model JSON written by ``SemanticLossModel.save``;
* :mod:`.allocate`: the max-min allocation over users.

This package uses numpy, scipy and yaml only (no torch).
"""

from .allocate import Allocation, AllocationProblem, User, allocate, equal_baseline
from .families import FAMILIES, NOTE
from .fit import (
    Assessment,
    FitError,
    FittedFamily,
    MetricFit,
    assess,
    check_points,
    fit_family,
    fit_metric,
    points_needed,
    scores,
)
from .margin import Margin, family_margin, held_out_errors
from .model import GroupFit, SemanticLossModel, fit_document, group_label
from .quality import Normalisation, normalise

__all__ = [
    "FAMILIES", "NOTE", "Allocation", "AllocationProblem", "Assessment", "FitError",
    "FittedFamily", "GroupFit", "Margin", "MetricFit", "Normalisation", "SemanticLossModel", "User",
    "allocate", "assess", "check_points", "equal_baseline", "family_margin", "fit_document",
    "fit_family", "fit_metric", "group_label", "held_out_errors", "normalise", "points_needed",
    "scores",
]
