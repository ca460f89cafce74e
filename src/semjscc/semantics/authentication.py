"""Semantic authentication with hashes over a noisy link.

The sender's N_H-bit code sign(h(S)) travels on a protected digital side channel; the
receiver accepts a reconstruction Ŝ when d_H(sign h(Ŝ), sign h(S)) <= t. Genuine pairs are
(S_i, Ŝ_i); impostor pairs are (S_j, Ŝ_i) for every j whose image shares no label with i.

FAR(t) = P(d_H <= t | impostor), FRR(t) = P(d_H > t | genuine).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from ..metrics.retrieval import hamming_distance, to_codes


class AuthenticationDistances(Metric):
    """Collects sent codes sign h(S), received codes sign h(Ŝ) and labels (DDP: gathered);
    ``compute()`` returns ``{"genuine": (N,), "impostor": (P,)}`` Hamming distances.

    ``update(preds, target, labels)``: hashes h(Ŝ), h(S) (B, N_H) and labels (B, C).
    """

    full_state_update = False
    sent: list[Tensor]
    received: list[Tensor]
    labels: list[Tensor]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        for name in ("sent", "received", "labels"):
            self.add_state(name, [], dist_reduce_fx="cat")

    def update(self, preds: Tensor, target: Tensor, labels: Tensor) -> None:
        self.sent.append(to_codes(target.float()))
        self.received.append(to_codes(preds.float()))
        self.labels.append(labels.float())

    def compute(self) -> dict[str, Tensor]:
        sent, received = dim_zero_cat(self.sent), dim_zero_cat(self.received)
        labels = dim_zero_cat(self.labels)
        disjoint = (labels @ labels.T) == 0  # received i vs sent j, no shared label
        return {"genuine": (sent != received).sum(1),
                "impostor": hamming_distance(received, sent)[disjoint]}


def far_frr(genuine: Tensor, impostor: Tensor, num_bits: int) -> list[dict[str, float]]:
    """One row per threshold t = 0..N_H with ``far`` and ``frr``."""
    thresholds = torch.arange(num_bits + 1)
    far = (impostor[None, :] <= thresholds[:, None]).float().mean(1) if len(impostor) else \
        torch.full((num_bits + 1,), float("nan"))
    frr = (genuine[None, :] > thresholds[:, None]).float().mean(1)
    return [{"threshold": int(t), "far": float(a), "frr": float(r)}
            for t, a, r in zip(thresholds, far, frr)]


def equal_error_rate(rows: list[dict[str, float]]) -> tuple[float, int]:
    """(EER, threshold): the threshold where max(FAR, FRR) is smallest."""
    best = min(rows, key=lambda r: (max(r["far"], r["frr"]), r["threshold"]))
    return max(best["far"], best["frr"]), int(best["threshold"])
