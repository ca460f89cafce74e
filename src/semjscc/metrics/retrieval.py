"""Hamming-ranking retrieval mAP@K for ±1 hash codes (DHD protocol, dhd.md §1.5).

Conventions:
    * codes are ±1 (``to_codes`` of the continuous hash, exact 0 -> +1);
    * the database is ranked by ascending Hamming distance, ties broken by ascending database
      index (deterministic, unlike the reference code's unstable ``argsort``);
    * a database item is relevant to a query iff they share at least one label;
    * AP@K = (1/R) Σ_{j=1..R} j / i_j over the R relevant items in the top K at 1-based ranks
      i_1 < … < i_R; a query with R = 0 has AP 0 and still counts in the mean.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "average_precision_per_query",
    "hamming_distance",
    "mean_average_precision",
    "to_codes",
]


def to_codes(h: Tensor) -> Tensor:
    """Binarise continuous hashes (..., K) to float ±1 codes: ``where(h >= 0, 1, -1)``."""
    return torch.where(h >= 0, 1.0, -1.0)


def _check_codes(query_codes: Tensor, db_codes: Tensor) -> None:
    for name, codes in (("query_codes", query_codes), ("db_codes", db_codes)):
        if codes.dim() != 2 or codes.shape[0] == 0:
            raise ValueError(f"{name} must be a non-empty (N, n_bits) tensor, got {codes.shape}")
        if not bool((codes.abs() == 1).all()):
            raise ValueError(f"{name} must contain only ±1 (use to_codes on continuous hashes)")
    if query_codes.shape[1] != db_codes.shape[1]:
        raise ValueError(f"bit widths differ: {query_codes.shape[1]} vs {db_codes.shape[1]}")


def _hamming(query_codes: Tensor, db_codes: Tensor, dtype: torch.dtype) -> Tensor:
    """(Q, D) Hamming distances of float ±1 codes, d = (n_bits − q·b) / 2, cast to ``dtype``."""
    half_bits = query_codes.new_tensor(query_codes.shape[1] / 2)
    return torch.addmm(half_bits, query_codes, db_codes.T, alpha=-0.5).to(dtype)


def hamming_distance(query_codes: Tensor, db_codes: Tensor) -> Tensor:
    """Number of differing bits between ±1 codes (Q, K) and (D, K), as an int64 (Q, D) tensor."""
    _check_codes(query_codes, db_codes)
    return _hamming(query_codes.float(), db_codes.float(), torch.int64)


def average_precision_per_query(
    query_codes: Tensor,
    db_codes: Tensor,
    query_labels: Tensor,
    db_labels: Tensor,
    top_k: int | None = None,
    chunk_size: int = 256,
) -> Tensor:
    """AP@K of every query, a float64 (Q,) tensor on the device of ``query_codes``.

    Args:
        query_codes: (Q, n_bits) ±1 codes.
        db_codes: (D, n_bits) ±1 codes, same device.
        query_labels: (Q, C) multi-hot (or one-hot) labels, any numeric/bool dtype.
        db_labels: (D, C) multi-hot labels.
        top_k: K, the ranking depth; None (or K > D) keeps the whole database.
        chunk_size: queries ranked at once; peak memory is O(chunk_size · D).
    """
    if top_k is not None and top_k <= 0:
        raise ValueError(f"top_k must be positive or None, got {top_k}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    _check_codes(query_codes, db_codes)
    num_db = db_codes.shape[0]
    if query_labels.shape[0] != query_codes.shape[0] or db_labels.shape[0] != num_db:
        raise ValueError("labels must have one row per code")
    if query_labels.shape[1] != db_labels.shape[1]:
        raise ValueError(f"label widths differ: {query_labels.shape[1]} vs {db_labels.shape[1]}")

    k = num_db if top_k is None else min(top_k, num_db)
    n_bits = db_codes.shape[1]
    # Ranking key = distance · D + index: unique, so a top-k on it is exactly the
    # (distance, index)-lexicographic order. int32 suffices while the largest key fits.
    key_dtype = torch.int32 if (n_bits + 1) * num_db <= 2**31 else torch.int64
    device = query_codes.device
    db = db_codes.float()
    db_lab = db_labels.float().T
    index = torch.arange(num_db, device=device, dtype=key_dtype)
    ranks = torch.arange(1, k + 1, device=device, dtype=torch.float64)

    aps = []
    chunks = zip(query_codes.float().split(chunk_size), query_labels.float().split(chunk_size))
    for q, q_lab in chunks:
        key = _hamming(q, db, key_dtype).mul_(num_db).add_(index)
        top = key.topk(k, dim=1, largest=False, sorted=True).indices  # (q, k)
        del key
        relevant = (q_lab @ db_lab > 0).gather(1, top).double()  # (q, k)
        precision_at_hit = relevant.cumsum(1).div_(ranks).mul_(relevant)
        aps.append(precision_at_hit.sum(1) / relevant.sum(1).clamp_min(1))
    return torch.cat(aps)


def mean_average_precision(
    query_codes: Tensor,
    db_codes: Tensor,
    query_labels: Tensor,
    db_labels: Tensor,
    top_k: int | None = None,
    chunk_size: int = 256,
) -> Tensor:
    """mAP@K: mean of AP@K over all Q queries (float64 scalar); see average_precision_per_query."""
    return average_precision_per_query(
        query_codes, db_codes, query_labels, db_labels, top_k=top_k, chunk_size=chunk_size
    ).mean()
