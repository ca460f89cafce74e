"""Hashes as semantic judges: a frozen hasher scoring how well reconstructions keep the
hash (and hence the retrieval behaviour) of their source images."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection

from ..metrics import HammingMAP, HashBitAgreement, HashCosine
from ..progress import progress
from .memo import CleanMemo


@torch.no_grad()
def compute_hashes(hasher: nn.Module, loader: Iterable[dict[str, Any]], device: torch.device,
                   desc: str = "hashing") -> tuple[Tensor, Tensor]:
    """Continuous hashes (N, num_bits) and labels (N, C) of every image of ``loader``."""
    hashes, labels = [], []
    for batch in progress(loader, desc):
        hashes.append(hasher(batch["image"].to(device)).float().cpu())
        labels.append(batch["label"])
    return torch.cat(hashes), torch.cat(labels)


class HashJudge:
    """A frozen hasher h with the clean hashes of a retrieval database.

    Its metrics, named with ``suffix`` (e.g. ``_indep`` for a judge not used in training):
    ``hash_cos`` (mean cos(h(S), h(Ŝ))), ``hash_bit_agreement`` (mean share of equal sign
    bits), ``map`` (mAP@K of the reconstructions as queries against the clean database
    codes) and ``map_clean`` (the clean images as queries). Reconstructions are clamped to
    [0, 1] before hashing.
    """

    def __init__(self, hasher: nn.Module, db_hashes: Tensor, db_labels: Tensor,
                 top_k: int | None, suffix: str = "") -> None:
        self.hasher, self.suffix = hasher, suffix
        self.clean_hashes = CleanMemo(hasher)
        self.db_hashes, self.db_labels, self.top_k = db_hashes, db_labels, top_k

    def metrics(self) -> MetricCollection:
        db = (self.db_hashes, self.db_labels, self.top_k)
        return MetricCollection({
            "hash_cos": HashCosine(), "hash_bit_agreement": HashBitAgreement(),
            "map": HammingMAP(*db, query="preds"), "map_clean": HammingMAP(*db, query="target"),
        }, postfix=self.suffix or None)

    def inputs(self, x: Tensor, x_hat: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """The metrics' keyword inputs: ``preds`` h(Ŝ), ``target`` h(S), ``labels``."""
        return {"preds": self.hasher(x_hat.clamp(0.0, 1.0)), "target": self.clean_hashes(x),
                "labels": labels}
