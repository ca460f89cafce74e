"""DHD losses against hand-computed values (dhd.md §1.3)."""

from __future__ import annotations

import math

import pytest
import torch

from semjscc.losses.dhd import (
    DHDLoss,
    bce_quantization_loss,
    hash_proxy_loss,
    self_distillation_loss,
    semantic_hash_loss,
)

F64 = torch.float64


def test_hash_proxy_loss_hand_computed() -> None:
    # Rows of h normalise to (1, 0) and (0.6, 0.8); proxies are the unit axes, so the cosines are
    # (1, 0) and (0.6, 0.8). τ = 0.5 -> logits (2, 0) and (1.2, 1.6).
    # Row 0, y = (1, 0):     −log softmax_0 = log(1 + e^{−2}).
    # Row 1, y = (1/2, 1/2): −(1.2 + 1.6)/2 + log(e^{1.2} + e^{1.6}).
    h = torch.tensor([[2.0, 0.0], [3.0, 4.0]], dtype=F64)
    proxies = torch.tensor([[5.0, 0.0], [0.0, 0.5]], dtype=F64)
    labels = torch.tensor([[1, 0], [1, 1]])
    row0 = math.log(1 + math.exp(-2))
    row1 = -1.4 + math.log(math.exp(1.2) + math.exp(1.6))
    loss = hash_proxy_loss(h, proxies, labels, tau=0.5)
    assert loss.item() == pytest.approx((row0 + row1) / 2, rel=1e-12)


def test_hash_proxy_loss_normalises_multi_hot_without_mutating_labels() -> None:
    gen = torch.Generator().manual_seed(0)
    h, proxies = torch.randn(3, 8, generator=gen), torch.randn(4, 8, generator=gen)
    labels = torch.tensor([[2.0, 2.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 3.0]])
    original = labels.clone()
    distribution = labels / labels.sum(1, keepdim=True)
    loss = hash_proxy_loss(h, proxies, labels)
    assert torch.equal(labels, original)
    torch.testing.assert_close(loss, hash_proxy_loss(h, proxies, distribution))
    torch.testing.assert_close(loss, hash_proxy_loss(h, proxies, (labels > 0).int()))


def test_hash_proxy_loss_rejects_unlabelled_row() -> None:
    labels = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="at least one"):
        hash_proxy_loss(torch.randn(2, 3), torch.randn(2, 3), labels)


def test_self_distillation_value_and_gradients() -> None:
    # cos((1,0),(0,1)) = 0 and cos((1,1),(2,2)) = 1 -> loss = (1 + 0)/2.
    # d(1 − cos)/ds = −(t/(|s||t|) − cos · s/|s|²): row 0 gives −(0, 1), row 1 gives 0;
    # the batch mean halves both.
    student = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=F64, requires_grad=True)
    teacher = torch.tensor([[0.0, 1.0], [2.0, 2.0]], dtype=F64, requires_grad=True)
    loss = self_distillation_loss(student, teacher)
    assert loss.item() == pytest.approx(0.5)
    loss.backward()
    assert teacher.grad is None
    torch.testing.assert_close(student.grad, torch.tensor([[0.0, -0.5], [0.0, 0.0]], dtype=F64))


def test_semantic_hash_loss_targets_the_detached_source() -> None:
    source = torch.tensor([[0.0, 1.0, 0.0]], requires_grad=True)
    recon = torch.tensor([[1.0, 1.0, 0.0]], requires_grad=True)
    loss = semantic_hash_loss(source, recon)
    assert loss.item() == pytest.approx(1 - 1 / math.sqrt(2))
    loss.backward()
    assert source.grad is None
    assert recon.grad is not None and recon.grad.abs().sum() > 0


def _bce(p: float, y: float) -> float:
    """Per-element PyTorch BCE with logs clamped at −100."""
    log_p = max(math.log(p), -100.0) if p > 0 else -100.0
    log_q = max(math.log(1 - p), -100.0) if p < 1 else -100.0
    return -(y * log_p + (1 - y) * log_q)


def test_bce_quantization_hand_computed() -> None:
    # σ = 0.5 -> g±(h) = exp(−2 (h ∓ 1)²).
    # h = ±1: the matching estimator is 1 with target 1 (BCE 0); the other is e^{−8} with target 0.
    assert bce_quantization_loss(torch.tensor([[1.0, -1.0]], dtype=F64)).item() == pytest.approx(
        -math.log(1 - math.exp(-8)), rel=1e-12
    )
    # h = 0.5: g+ = e^{−0.5} (target 1) and g− = e^{−4.5} (target 0).
    # h = 0:   g+ = g− = e^{−2}, both targets 1/2.  Means over the 2 elements, summed over ±.
    h = torch.tensor([[0.5], [0.0]], dtype=F64)
    at_half = 0.5 - math.log(1 - math.exp(-4.5))
    at_zero = 2 * (1 - 0.5 * math.log(1 - math.exp(-2)))
    assert bce_quantization_loss(h).item() == pytest.approx((at_half + at_zero) / 2, rel=1e-12)


def test_bce_quantization_sigma_and_log_clamp() -> None:
    values, sigma = [0.3, -0.8, 20.0], 0.7
    expected = 0.0
    for v in values:
        b_plus = 1.0 if v > 0 else 0.0
        g_plus = math.exp(-((v - 1) ** 2) / (2 * sigma**2))
        g_minus = math.exp(-((v + 1) ** 2) / (2 * sigma**2))
        expected += (_bce(g_plus, b_plus) + _bce(g_minus, 1 - b_plus)) / len(values)
    loss = bce_quantization_loss(torch.tensor([values], dtype=F64), sigma=sigma)
    assert expected > 100 / 3  # h = 20: log g+ = −19²/0.98 ≈ −368 is clamped to −100
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_dhd_loss_is_weighted_sum_on_teacher() -> None:
    gen = torch.Generator().manual_seed(1)
    teacher = torch.randn(4, 16, generator=gen).tanh().requires_grad_()
    student = torch.randn(4, 16, generator=gen).tanh().requires_grad_()
    proxies = torch.randn(3, 16, generator=gen, requires_grad=True)
    labels = torch.tensor([[1, 0, 0], [0, 1, 1], [1, 1, 1], [0, 0, 1]])
    criterion = DHDLoss(tau=0.3, lambda_sdh=0.25, lambda_bceq=0.5, sigma=0.6)
    out = criterion(teacher, student, proxies, labels)
    assert set(out) == {"loss", "hp", "sdh", "bceq"}
    torch.testing.assert_close(out["hp"], hash_proxy_loss(teacher, proxies, labels, tau=0.3))
    torch.testing.assert_close(out["sdh"], self_distillation_loss(student, teacher))
    torch.testing.assert_close(out["bceq"], bce_quantization_loss(teacher, sigma=0.6))
    torch.testing.assert_close(out["loss"], out["hp"] + 0.25 * out["sdh"] + 0.5 * out["bceq"])
    out["loss"].backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in (teacher, student, proxies))


def test_dhd_loss_defaults() -> None:
    criterion = DHDLoss()
    assert (criterion.tau, criterion.lambda_sdh, criterion.lambda_bceq, criterion.sigma) == (
        0.2,
        0.1,
        0.1,
        0.5,
    )
