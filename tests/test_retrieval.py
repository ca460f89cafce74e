"""Hamming-ranking mAP@K against a brute-force reference and hand-worked values."""

from __future__ import annotations

import pytest
import torch

from semjscc.metrics.retrieval import (
    average_precision_per_query,
    hamming_distance,
    mean_average_precision,
    to_codes,
)


def _ap_of_ranking(relevant: list[bool]) -> float:
    """AP = (1/R) Σ_j j / i_j over relevant 1-based ranks i_1 < … < i_R; 0 when R = 0."""
    hit_ranks = [i + 1 for i, r in enumerate(relevant) if r]
    return sum((j + 1) / i for j, i in enumerate(hit_ranks)) / len(hit_ranks) if hit_ranks else 0.0


def _brute_force_aps(
    q_codes: torch.Tensor,
    db_codes: torch.Tensor,
    q_labels: torch.Tensor,
    db_labels: torch.Tensor,
    top_k: int | None,
) -> list[float]:
    qc, dc = q_codes.tolist(), db_codes.tolist()
    ql, dl = q_labels.tolist(), db_labels.tolist()
    aps = []
    for q, lq in zip(qc, ql):
        dist = [sum(a != b for a, b in zip(q, d)) for d in dc]
        order = sorted(range(len(dc)), key=lambda j: (dist[j], j))
        order = order if top_k is None else order[:top_k]
        aps.append(_ap_of_ranking([any(a > 0 and b > 0 for a, b in zip(lq, dl[j])) for j in order]))
    return aps


def _random_codes(n: int, bits: int, gen: torch.Generator) -> torch.Tensor:
    return to_codes(torch.randn(n, bits, generator=gen))


@pytest.fixture(scope="module")
def random_problem() -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    q_codes, db_codes = _random_codes(37, 64, gen), _random_codes(211, 64, gen)
    q_labels = (torch.rand(37, 6, generator=gen) < 0.25).int()
    db_labels = (torch.rand(211, 6, generator=gen) < 0.2).int()
    q_labels[:3] = 0  # queries without any relevant item
    q_labels[3, :] = 0
    q_labels[3, 5] = 1
    db_labels[:, 5] = 0  # class 5 never in the DB -> query 3 has R = 0 as well
    return q_codes, db_codes, q_labels, db_labels


def test_to_codes_maps_zero_to_plus_one() -> None:
    h = torch.tensor([[-0.3, 0.0, 0.7, -0.0]])
    assert to_codes(h).tolist() == [[-1.0, 1.0, 1.0, 1.0]]


def test_hamming_distance_matches_bit_count() -> None:
    gen = torch.Generator().manual_seed(1)
    q, db = _random_codes(5, 17, gen), _random_codes(9, 17, gen)
    d = hamming_distance(q, db)
    assert d.dtype == torch.int64 and d.shape == (5, 9)
    assert d.tolist() == [[int((a != b).sum()) for b in db] for a in q]


@pytest.mark.parametrize("top_k", [None, 1, 5, 50, 211, 500])
def test_matches_brute_force(random_problem: tuple[torch.Tensor, ...], top_k: int | None) -> None:
    expected = _brute_force_aps(*random_problem, top_k)
    aps = average_precision_per_query(*random_problem, top_k=top_k, chunk_size=8)
    assert aps.shape == (37,)
    assert aps[:4].tolist() == [0.0] * 4
    torch.testing.assert_close(aps, torch.tensor(expected, dtype=aps.dtype), rtol=0, atol=1e-12)
    mean = mean_average_precision(*random_problem, top_k=top_k)
    assert mean.dim() == 0
    assert mean.item() == pytest.approx(sum(expected) / len(expected), abs=1e-12)


def test_hand_worked_example() -> None:
    # 2 bits, classes (A, B, C). DB: d0=(-,-){A,B}, d1=(+,+){B}, d2=(+,-){A}, d3=(-,+){C}.
    # q0=(+,+){A}: dists (2,0,1,1) -> order d1,d2,d3,d0 (d2 before d3 by index); relevant d2,d0
    #   at ranks 2,4: AP = (1/2 + 2/4)/2 = 1/2.   Top-2 (d1,d2): AP = (1/2)/1 = 1/2.
    # q1=(-,+){B}: dists (1,1,2,0) -> order d3,d0,d1,d2; relevant d0,d1 at ranks 2,3:
    #   AP = (1/2 + 2/3)/2 = 7/12.                  Top-2 (d3,d0): AP = (1/2)/1 = 1/2.
    # q2=(+,-){C}: dists (1,1,0,2) -> order d2,d0,d1,d3; relevant d3 at rank 4: AP = 1/4.
    #   Top-2 (d2,d0): R = 0 -> AP = 0, still counted.
    # mAP = (1/2 + 7/12 + 1/4)/3 = 4/9;  mAP@2 = (1/2 + 1/2 + 0)/3 = 1/3.
    db_codes = torch.tensor([[-1, -1], [1, 1], [1, -1], [-1, 1]])
    db_labels = torch.tensor([[1, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]])
    q_codes = torch.tensor([[1, 1], [-1, 1], [1, -1]])
    q_labels = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    args = (q_codes, db_codes, q_labels, db_labels)
    aps = average_precision_per_query(*args)
    assert aps.tolist() == pytest.approx([1 / 2, 7 / 12, 1 / 4])
    assert mean_average_precision(*args).item() == pytest.approx(4 / 9)
    assert average_precision_per_query(*args, top_k=2).tolist() == pytest.approx([1 / 2, 1 / 2, 0])
    assert mean_average_precision(*args, top_k=2).item() == pytest.approx(1 / 3)


def test_ties_are_broken_by_database_index() -> None:
    gen = torch.Generator().manual_seed(2)
    db_labels = (torch.rand(40, 3, generator=gen) < 0.4).float()
    q_labels = torch.eye(3)
    codes = torch.ones(43, 8)
    aps = average_precision_per_query(codes[:3], codes[3:], q_labels, db_labels, top_k=25)
    expected = [_ap_of_ranking((db_labels[:25, c] > 0).tolist()) for c in range(3)]
    assert aps.tolist() == pytest.approx(expected, abs=1e-12)


def test_class_specific_codes_give_perfect_map() -> None:
    gen = torch.Generator().manual_seed(3)
    class_codes = to_codes(torch.randn(5, 32, generator=gen))
    db_cls = torch.arange(100) % 5
    q_cls = torch.randint(0, 5, (20,), generator=gen)
    eye = torch.eye(5)
    args = (class_codes[q_cls], class_codes[db_cls], eye[q_cls], eye[db_cls])
    assert mean_average_precision(*args).item() == pytest.approx(1.0)
    assert mean_average_precision(*args, top_k=10).item() == pytest.approx(1.0)


def test_chunk_size_invariance(random_problem: tuple[torch.Tensor, ...]) -> None:
    reference = average_precision_per_query(*random_problem, top_k=30, chunk_size=256)
    for chunk_size in (1, 5, 36, 37):
        aps = average_precision_per_query(*random_problem, top_k=30, chunk_size=chunk_size)
        assert torch.equal(aps, reference)


@pytest.mark.parametrize("top_k", [0, -3])
def test_non_positive_top_k_raises(random_problem: tuple[torch.Tensor, ...], top_k: int) -> None:
    with pytest.raises(ValueError, match="top_k"):
        mean_average_precision(*random_problem, top_k=top_k)


def test_continuous_hashes_are_rejected(random_problem: tuple[torch.Tensor, ...]) -> None:
    q_codes, db_codes, q_labels, db_labels = random_problem
    with pytest.raises(ValueError, match="±1"):
        mean_average_precision(q_codes * 0.5, db_codes, q_labels, db_labels)
    with pytest.raises(ValueError, match="bit widths"):
        hamming_distance(q_codes[:, :32], db_codes)
