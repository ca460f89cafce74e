"""Classification quality of a task classifier as torchmetrics ``Metric`` objects (DDP-aware).

Inputs: ``preds`` (B, C) class scores (logits), ``labels`` (B, C) 0/1 labels as the
datasets give them (one-hot for single-label tasks, multi-hot otherwise), ``target``
(B, C) the scores of the same classifier on the clean images (:class:`LabelAgreement`).
``MetricCollection`` passes each metric the keyword arguments its ``update`` takes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import (
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
    MultilabelConfusionMatrix,
)

from .per_image import PerImage


class _HitRate(PerImage):
    """Share of images with a hit; the hits (0/1) are kept per image."""

    higher_is_better = True


class TopLabelAccuracy(_HitRate):
    """Share of images whose top-scoring class is one of their labels: top-1 accuracy for
    one-hot labels; for multi-hot labels, the top class is one of the objects present."""

    def update(self, preds: Tensor, labels: Tensor) -> None:
        top = preds.argmax(1, keepdim=True)
        self._append(labels.gather(1, top).squeeze(1) > 0)


class LabelAgreement(_HitRate):
    """Share of images whose top-1 class under T(Ŝ) (``preds``) equals the top-1 class under
    T(S) (``target``), whatever the true label."""

    def update(self, preds: Tensor, target: Tensor) -> None:
        self._append(preds.argmax(1) == target.argmax(1))


class _OneHot:
    """Feeds a multiclass torchmetrics metric from one-hot labels (the class = argmax)."""

    def update(self, preds: Tensor, labels: Tensor) -> None:
        super().update(preds, labels.argmax(1))  # type: ignore[misc]


class WeightedPrecision(_OneHot, MulticlassPrecision):
    """Precision averaged over classes weighted by their support; one-hot labels."""


class WeightedRecall(_OneHot, MulticlassRecall):
    """Recall averaged over classes weighted by their support; one-hot labels."""


class WeightedF1(_OneHot, MulticlassF1Score):
    """F1 averaged over classes weighted by their support; one-hot labels."""


class LabelConfusionMatrix(_OneHot, MulticlassConfusionMatrix):
    """(C, C) counts, rows = true class, columns = predicted (top-1) class; one-hot labels."""


class MultiLabelConfusion(MultilabelConfusionMatrix):
    """(C, 2, 2) counts per class, [[TN, FP], [FN, TP]], a class predicted when its sigmoid
    is above 0.5; multi-hot labels."""

    def update(self, preds: Tensor, labels: Tensor) -> None:
        super().update(preds.sigmoid(), labels.long())


def classification_metrics(num_classes: int, multi_label: bool, prefix: str | None = None,
                           postfix: str | None = None) -> MetricCollection:
    """``accuracy`` (:class:`TopLabelAccuracy`) and, for single-label tasks, ``precision_w``,
    ``recall_w`` and ``f1_w`` (support-weighted averages); ``update(preds, labels)``."""
    metrics: dict[str, Metric] = {"accuracy": TopLabelAccuracy()}
    if not multi_label:
        metrics.update({"precision_w": WeightedPrecision(num_classes, average="weighted"),
                        "recall_w": WeightedRecall(num_classes, average="weighted"),
                        "f1_w": WeightedF1(num_classes, average="weighted")})
    return MetricCollection(metrics, prefix=prefix, postfix=postfix)


def confusion_matrix(num_classes: int, multi_label: bool) -> Metric:
    """The confusion counts (a tensor, not a scalar column): (C, C) for single-label tasks
    (:class:`LabelConfusionMatrix`), (C, 2, 2) for multi-label ones
    (:class:`MultiLabelConfusion`); ``update(preds, labels)``."""
    if multi_label:
        return MultiLabelConfusion(num_classes)
    return LabelConfusionMatrix(num_classes)


class ExpectedConfusion(Metric):
    """(C, C) expected counts, rows = true class, columns = predicted (top-1) class.

    ``update(preds, labels, failed)``: logits (B, C), one-hot labels (B, C), (B,) bool. A
    failed image (nothing decoded) adds 1/C to every column of its row, the expectation of a
    uniform guess; the others add 1 at (true, predicted)."""

    higher_is_better = None
    full_state_update = False
    counts: Tensor

    def __init__(self, num_classes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.add_state("counts", torch.zeros(num_classes, num_classes, dtype=torch.float64),
                       dist_reduce_fx="sum")

    def update(self, preds: Tensor, labels: Tensor, failed: Tensor) -> None:
        true = labels.argmax(1)
        ok = ~failed
        hits = torch.ones(int(ok.sum()), dtype=self.counts.dtype, device=self.counts.device)
        self.counts.index_put_((true[ok], preds[ok].argmax(1)), hits, accumulate=True)
        guess = torch.full((int(failed.sum()), self.num_classes), 1.0 / self.num_classes,
                           dtype=self.counts.dtype, device=self.counts.device)
        self.counts.index_add_(0, true[failed], guess)

    def compute(self) -> Tensor:
        return self.counts


class ExpectedAccuracy(_HitRate):
    """Expected top-1 correctness per image, the per-image twin of :class:`ExpectedConfusion`:
    1 or 0 for a decoded image, 1/C for a failed one (a uniform guess).

    ``update(preds, labels, failed)``: logits (B, C), one-hot labels (B, C), (B,) bool."""

    def update(self, preds: Tensor, labels: Tensor, failed: Tensor) -> None:
        hit = (preds.argmax(1) == labels.argmax(1)).float()
        self._append(torch.where(failed, 1.0 / labels.shape[1], hit))


def confusion_scores(counts: Tensor) -> dict[str, float]:
    """``accuracy``, ``precision_w``, ``recall_w``, ``f1_w`` of (C, C) counts (rows true,
    columns predicted): per-class scores averaged with weights = class support, as
    torchmetrics' ``average="weighted"`` (a class never predicted has precision 0)."""
    cm = counts.double()
    tp, support, predicted = cm.diag(), cm.sum(1), cm.sum(0)
    precision = (tp / predicted).nan_to_num(0.0)
    recall = (tp / support).nan_to_num(0.0)
    f1 = (2 * precision * recall / (precision + recall)).nan_to_num(0.0)
    weights = support / cm.sum()
    return {"accuracy": float(tp.sum() / cm.sum()),
            "precision_w": float((weights * precision).sum()),
            "recall_w": float((weights * recall).sum()), "f1_w": float((weights * f1).sum())}
