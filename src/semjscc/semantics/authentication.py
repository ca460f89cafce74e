"""Semantic authentication with DHD hashes over a noisy link.

The sender's N_H-bit code sign(h(S)) travels on a protected digital side channel; the
receiver accepts a reconstruction Ŝ when d_H(sign h(Ŝ), sign h(S)) <= t. Genuine pairs are
(S_i, Ŝ_i); impostor pairs are (S_j, Ŝ_i) for every j whose image shares no label with i.

FAR(t) = P(d_H <= t | impostor), FRR(t) = P(d_H > t | genuine).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..metrics.retrieval import hamming_distance, to_codes


@dataclass
class AuthDistances:
    genuine: Tensor  # (N,) Hamming distances of genuine pairs
    impostor: Tensor  # (P,) Hamming distances of impostor pairs
    num_bits: int


def authentication_distances(h_source: Tensor, h_recon: Tensor, labels: Tensor) -> AuthDistances:
    """Genuine and impostor distances from continuous hashes (N, N_H) and labels (N, C)."""
    sent, received = to_codes(h_source), to_codes(h_recon)
    genuine = (sent != received).sum(1)
    disjoint = (labels.float() @ labels.float().T) == 0  # received i vs sent j, no shared label
    impostor = hamming_distance(received, sent)[disjoint]
    return AuthDistances(genuine, impostor, sent.shape[1])


def far_frr(d: AuthDistances) -> list[dict[str, float]]:
    """One row per threshold t = 0..N_H with ``far`` and ``frr``."""
    thresholds = torch.arange(d.num_bits + 1)
    far = (d.impostor[None, :] <= thresholds[:, None]).float().mean(1) if len(d.impostor) else \
        torch.full((d.num_bits + 1,), float("nan"))
    frr = (d.genuine[None, :] > thresholds[:, None]).float().mean(1)
    return [{"threshold": int(t), "far": float(a), "frr": float(r)}
            for t, a, r in zip(thresholds, far, frr)]


def equal_error_rate(rows: list[dict[str, float]]) -> tuple[float, int]:
    """(EER, threshold): the threshold where max(FAR, FRR) is smallest."""
    best = min(rows, key=lambda r: (max(r["far"], r["frr"]), r["threshold"]))
    return max(best["far"], best["frr"]), int(best["threshold"])
