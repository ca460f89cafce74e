"""Semantic alignment of hashes as torchmetrics ``Metric`` objects (DDP-aware).

Inputs are continuous hashes (B, K) in (−1, 1) of a frozen hasher (e.g. a DHD):
``preds`` = h(Ŝ) of the reconstructions, ``target`` = h(S) of the clean images. Codes are
sign(h) with 0 -> +1 (:func:`~semjscc.metrics.retrieval.to_codes`). Combine them with
``MetricCollection``: it passes each metric the keyword arguments its ``update`` takes.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from .per_image import PerImage
from .retrieval import mean_average_precision, to_codes


class HashBitAgreement(PerImage):
    """Share of equal code bits between sign h(Ŝ) and sign h(S) per image, in [0, 1]."""

    higher_is_better = True

    def score(self, preds: Tensor, target: Tensor) -> Tensor:
        return (to_codes(preds.float()) == to_codes(target.float())).float().mean(1)


class HashCosine(PerImage):
    """Cosine similarity cos(h(Ŝ), h(S)) of the continuous hashes per image, in [−1, 1]."""

    higher_is_better = True

    def score(self, preds: Tensor, target: Tensor) -> Tensor:
        return F.cosine_similarity(preds.float(), target.float(), dim=1)


class HammingMAP(Metric):
    """Hamming-ranking mAP@K of query codes against a fixed database
    (:func:`~semjscc.metrics.retrieval.mean_average_precision` conventions).

    Args:
        db_hashes: (D, K) hashes (or ±1 codes) of the retrieval database.
        db_labels: (D, C) multi-hot labels of the database.
        top_k: K of mAP@K; None ranks the whole database.
        query: ``"preds"`` ranks h(Ŝ) (reconstructions as queries), ``"target"`` ranks h(S)
            (the clean reference).

    ``update(preds, target, labels)``: labels (B, C) of the queries.
    """

    higher_is_better = True
    full_state_update = False
    codes: list[Tensor]
    labels: list[Tensor]

    def __init__(self, db_hashes: Tensor, db_labels: Tensor, top_k: int | None = None,
                 query: str = "preds", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if query not in ("preds", "target"):
            raise ValueError(f"query must be 'preds' or 'target', got {query!r}")
        self.query, self.top_k = query, top_k
        self.register_buffer("db_codes", to_codes(db_hashes.float()), persistent=False)
        self.register_buffer("db_labels", db_labels.float(), persistent=False)
        self.add_state("codes", [], dist_reduce_fx="cat")
        self.add_state("labels", [], dist_reduce_fx="cat")

    def update(self, preds: Tensor, target: Tensor, labels: Tensor) -> None:
        self.codes.append(to_codes((preds if self.query == "preds" else target).float()))
        self.labels.append(labels.float())

    def compute(self) -> Tensor:
        codes, labels = dim_zero_cat(self.codes), dim_zero_cat(self.labels)
        return mean_average_precision(codes, self.db_codes.to(codes.device), labels,
                                      self.db_labels.to(codes.device), top_k=self.top_k).float()
