"""Deep Hash Distillation losses (Jang et al., ECCV 2022; dhd.md §1.3) and the DeepJSCC hash term.

All hashes h are continuous (B, K) tanh outputs; codes are only taken at retrieval time.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "DHDLoss",
    "bce_quantization_loss",
    "hash_proxy_loss",
    "self_distillation_loss",
    "semantic_hash_loss",
]


def hash_proxy_loss(h: Tensor, proxies: Tensor, labels: Tensor, tau: float = 0.2) -> Tensor:
    """L_HP: soft-label cross-entropy between cosine-to-proxy logits and the label distribution.

    Args:
        h: (B, K) hashes.
        proxies: (C, K) class proxies.
        labels: (B, C) multi-hot labels (not modified); each row needs at least one label.
        tau: softmax temperature.

    Returns:
        Scalar mean_b −Σ_c y_bc · log softmax_c(cos(h_b, p_c) / τ), y_b = labels_b / Σ_c labels_bc.
    """
    row_sums = labels.sum(1, keepdim=True).to(h.dtype)
    if bool((row_sums <= 0).any()):
        raise ValueError("every row of labels must contain at least one positive label")
    target = labels.to(h.dtype) / row_sums
    logits = F.normalize(h, dim=1) @ F.normalize(proxies, dim=1).T / tau
    return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()


def self_distillation_loss(h_student: Tensor, h_teacher: Tensor) -> Tensor:
    """L_SdH: batch mean of 1 − cos(h_S, stopgrad(h_T)) over (B, K) hashes; no gradient to h_T."""
    return (1 - F.cosine_similarity(h_student, h_teacher.detach(), dim=1)).mean()


def bce_quantization_loss(h: Tensor, sigma: float = 0.5) -> Tensor:
    """L_bceQ: BCE of unnormalised Gaussian estimators of h ≈ ±1 against the sign of h.

    g± = exp(−(h ∓ 1)² / (2σ²)),  b⁺ = (sign(h) + 1) / 2 (detached, 0.5 at h = 0),  b⁻ = 1 − b⁺;
    loss = BCE(g⁺, b⁺) + BCE(g⁻, b⁻), each a mean over all B×K elements with PyTorch's log clamp
    at −100. Computed in at least float32 with autocast off (CUDA autocast refuses
    binary_cross_entropy).
    """
    with torch.autocast(device_type=h.device.type, enabled=False):
        h = h.to(torch.promote_types(h.dtype, torch.float32))
        b_plus = (torch.sign(h).detach() + 1) / 2
        g_plus = torch.exp(-((h - 1) ** 2) / (2 * sigma**2))
        g_minus = torch.exp(-((h + 1) ** 2) / (2 * sigma**2))
        return F.binary_cross_entropy(g_plus, b_plus) + F.binary_cross_entropy(g_minus, 1 - b_plus)


def semantic_hash_loss(h_source: Tensor, h_recon: Tensor) -> Tensor:
    """DeepJSCC semantic term: batch mean of 1 − cos(h(S), h(Ŝ)), h(S) a fixed (detached) target."""
    return self_distillation_loss(h_recon, h_source)


class DHDLoss(nn.Module):
    """Total DHD loss  L = L_HP(h_T) + λ_SdH · L_SdH(h_S, stopgrad h_T) + λ_bceQ · L_bceQ(h_T)."""

    def __init__(
        self,
        tau: float = 0.2,
        lambda_sdh: float = 0.1,
        lambda_bceq: float = 0.1,
        sigma: float = 0.5,
    ) -> None:
        super().__init__()
        self.tau = tau
        self.lambda_sdh = lambda_sdh
        self.lambda_bceq = lambda_bceq
        self.sigma = sigma

    def forward(
        self, h_teacher: Tensor, h_student: Tensor, proxies: Tensor, labels: Tensor
    ) -> dict[str, Tensor]:
        """Teacher (weak) and student (strong) view hashes (B, K), proxies (C, K), labels (B, C).

        Returns ``{"loss", "hp", "sdh", "bceq"}``, all scalars; only ``"loss"`` is weighted.
        """
        hp = hash_proxy_loss(h_teacher, proxies, labels, self.tau)
        sdh = self_distillation_loss(h_student, h_teacher)
        bceq = bce_quantization_loss(h_teacher, self.sigma)
        loss = hp + self.lambda_sdh * sdh + self.lambda_bceq * bceq
        return {"loss": loss, "hp": hp, "sdh": sdh, "bceq": bceq}

    def extra_repr(self) -> str:
        return (
            f"tau={self.tau}, lambda_sdh={self.lambda_sdh}, "
            f"lambda_bceq={self.lambda_bceq}, sigma={self.sigma}"
        )
