"""Task classifiers as semantic judges: does the reconstruction keep the class of its source
image?"""

from __future__ import annotations

from torch import Tensor, nn
from torchmetrics import MetricCollection

from ..metrics import LabelAgreement, classification_metrics
from .memo import CleanMemo


class ClassifierJudge:
    """A frozen classifier T scoring reconstructions Ŝ against their sources S.

    Its metrics, named with ``suffix`` (e.g. ``_indep`` for a judge not used in training):
    ``accuracy`` of T(Ŝ) against the true labels (top-1; for multi-hot labels the top class is
    one of them), ``label_agreement`` (share of images whose top-1 class under T(Ŝ) equals
    that under T(S)) and, for single-label tasks, the support-weighted ``precision_w``,
    ``recall_w`` and ``f1_w`` of T(Ŝ). Reconstructions are clamped to [0, 1] first.
    """

    def __init__(self, classifier: nn.Module, multi_label: bool, num_classes: int,
                 suffix: str = "") -> None:
        self.classifier, self.multi_label = classifier, multi_label
        self.num_classes, self.suffix = num_classes, suffix
        self.clean_logits = CleanMemo(classifier)

    def metrics(self) -> MetricCollection:
        metrics = classification_metrics(self.num_classes, self.multi_label,
                                         postfix=self.suffix or None)
        metrics.add_metrics({"label_agreement": LabelAgreement()})
        return metrics

    def inputs(self, x: Tensor, x_hat: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """The metrics' keyword inputs: ``preds`` T(Ŝ), ``target`` T(S) (logits (B, C)) and
        ``labels`` (B, C)."""
        return {"preds": self.classifier(x_hat.clamp(0.0, 1.0)), "target": self.clean_logits(x),
                "labels": labels}
