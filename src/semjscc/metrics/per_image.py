"""Metrics that keep one score per image, so that reports can bootstrap over test images.

A :class:`PerImage` metric holds its scores in a ``cat`` state, in update order (gathered
across processes like any torchmetrics state): ``compute()`` gives their mean over the
images that have a score (NaN: not scored) and :meth:`PerImage.scores` the (N,) values.
Subclasses define ``score(preds, target) -> (B,)``. The state is named after the class, so
a ``MetricCollection`` never merges two different scores into one compute group when their
first values happen to agree.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


class PerImage(Metric):
    """Base of per-image metrics: ``update(preds, target)`` appends ``score(preds, target)``."""

    full_state_update = False

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._state = f"{type(self).__name__}_scores"
        self.add_state(self._state, [], dist_reduce_fx="cat")

    def score(self, preds: Tensor, target: Tensor) -> Tensor:
        """(B,) scores of a batch."""
        raise NotImplementedError

    def update(self, preds: Tensor, target: Tensor) -> None:
        self._append(self.score(preds, target))

    def _append(self, scores: Tensor) -> None:
        getattr(self, self._state).append(scores.detach().float().flatten())

    def _values(self) -> Tensor:
        values = getattr(self, self._state)
        return dim_zero_cat(values) if len(values) else torch.zeros(0, device=self.device)

    def scores(self) -> Tensor:
        """(N,) the score of every image seen, in update order (all processes gathered)."""
        with self.sync_context():
            return self._values().clone()

    def compute(self) -> Tensor:
        return self._values().nanmean()
