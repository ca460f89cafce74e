"""Hash alignment and retrieval metrics as torchmetrics objects: hand-computed values,
accumulation over batches, and keyword routing inside a MetricCollection."""

from __future__ import annotations

import pytest
import torch
from torchmetrics import MetricCollection

from semjscc.metrics import HammingMAP, HashBitAgreement, HashCosine, mean_average_precision
from semjscc.semantics import HashJudge


def test_bit_agreement_and_cosine_by_hand() -> None:
    target = torch.tensor([[0.9, -0.2, 0.3, -0.8], [0.1, 0.1, -0.1, -0.1]])
    preds = torch.tensor([[0.5, 0.4, 0.2, -0.1], [-0.3, 0.2, -0.5, 0.0]])
    agree = HashBitAgreement()
    agree.update(preds[:1], target[:1])
    agree.update(preds[1:], target[1:])
    # image 0: bits (+,-,+,-) vs (+,+,+,-): 3/4; image 1: (+,+,-,-) vs (-,+,-,+) (0 -> +): 2/4
    assert agree.compute().item() == pytest.approx((0.75 + 0.5) / 2)
    cos = HashCosine()
    cos.update(preds, target)
    expected = torch.nn.functional.cosine_similarity(preds, target).mean()
    assert cos.compute().item() == pytest.approx(expected.item(), abs=1e-6)
    assert HashBitAgreement.higher_is_better and HashCosine.higher_is_better


def test_hamming_map_equals_the_functional_over_batches() -> None:
    g = torch.Generator().manual_seed(0)
    db, db_labels = torch.randn(40, 16, generator=g), (torch.rand(40, 5, generator=g) > 0.6)
    queries, labels = torch.randn(12, 16, generator=g), (torch.rand(12, 5, generator=g) > 0.6)
    clean = torch.randn(12, 16, generator=g)
    metric = HammingMAP(db, db_labels, top_k=10)
    for i in range(0, 12, 5):
        metric.update(queries[i:i + 5], clean[i:i + 5], labels[i:i + 5])
    expected = mean_average_precision(torch.where(queries >= 0, 1.0, -1.0),
                                      torch.where(db >= 0, 1.0, -1.0), labels.float(),
                                      db_labels.float(), top_k=10)
    assert metric.compute().item() == pytest.approx(expected.item(), abs=1e-6)
    clean_metric = HammingMAP(db, db_labels, top_k=10, query="target")
    clean_metric.update(queries, clean, labels)
    assert clean_metric.compute().item() != pytest.approx(metric.compute().item())


def test_judge_collection_routes_keywords_and_names_columns() -> None:
    hasher = torch.nn.Linear(3 * 4 * 4, 8)
    judge = HashJudge(lambda x: torch.tanh(hasher(x.flatten(1))), torch.randn(10, 8),
                      torch.eye(5)[torch.arange(10) % 5], top_k=None, suffix="_indep")
    metrics: MetricCollection = judge.metrics()
    x = torch.rand(6, 3, 4, 4)
    with torch.no_grad():
        metrics.update(**judge.inputs(x, x, torch.eye(5)[torch.arange(6) % 5]))
        out = {k: float(v) for k, v in metrics.compute().items()}
    assert set(out) == {"hash_cos_indep", "hash_bit_agreement_indep", "map_indep",
                        "map_clean_indep"}
    assert out["hash_bit_agreement_indep"] == 1.0 and out["hash_cos_indep"] == pytest.approx(1.0)
    assert out["map_indep"] == pytest.approx(out["map_clean_indep"])  # identical queries


def test_collection_never_merges_different_scores() -> None:
    """Equal first-batch values must not put agreement and cosine in one compute group."""
    collection = MetricCollection({"agree": HashBitAgreement(), "cos": HashCosine()})
    h = torch.tensor([[0.5, -0.5], [0.2, 0.9]])
    collection.update(preds=h, target=h)  # both exactly 1 on this batch
    collection.update(preds=torch.tensor([[0.5, 0.5]]), target=torch.tensor([[0.5, -0.5]]))
    out = collection.compute()
    assert out["agree"].item() == pytest.approx((1 + 1 + 0.5) / 3)
    assert out["cos"].item() == pytest.approx((1 + 1 + 0) / 3, abs=1e-6)


def test_gray_ssim_is_ssim_of_the_bt601_luma() -> None:
    from torchmetrics.functional.image import structural_similarity_index_measure as ssim

    from semjscc.metrics import reconstruction_metrics

    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(3, 3, 32, 32, generator=g), torch.rand(3, 3, 32, 32, generator=g)
    out = reconstruction_metrics(32)(y, x)
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    expected = ssim((y * luma).sum(1, keepdim=True), (x * luma).sum(1, keepdim=True),
                    data_range=1.0)
    assert out["ssim_gray"].item() == pytest.approx(expected.item(), abs=1e-6)
    assert out["ssim"].item() == pytest.approx(ssim(y, x, data_range=1.0).item(), abs=1e-6)
    assert set(out) == {"psnr", "ssim", "ssim_gray", "ms_ssim"}
    assert "ms_ssim" not in reconstruction_metrics(8)  # too small: left out
