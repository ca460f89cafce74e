"""Metric suites of the single-hop studies (EO, semantic importance): reconstruction
quality and a classifier's expected confusion, fed only what a receiver decoded.

A system may output NaN images for its decoding failures (a separation baseline whose file
does not fit, a lost transport block): :func:`decoded` finds them, reconstruction metrics
skip them and the task scores count them as a uniform guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection

from ..config import Config
from ..metrics import ExpectedAccuracy, ExpectedConfusion, LPIPSMetric, reconstruction_metrics
from ..metrics.lpips import LPIPS_MIN_SIZE
from .evaluate import Suite, shared_lpips


def decoded(x_hat: Tensor) -> Tensor:
    """(B,) bool: images that were decoded, i.e. hold no NaN (a separation system with
    ``on_unreachable="nan"`` outputs NaN images for its decoding failures)."""
    return ~x_hat.isnan().flatten(1).any(1)


@dataclass
class DecodedSuite(Suite):
    """A suite fed only the decoded images of each batch (see :func:`decoded`); with none
    decoded at all its metrics are empty cells."""

    seen: int = 0
    masks: list[Tensor] = field(default_factory=list)

    def update(self, x: Tensor, x_hat: Tensor, labels: Tensor) -> None:
        ok = decoded(x_hat)
        self.masks.append(ok.cpu())
        if ok.any():
            self.seen += int(ok.sum())
            super().update(x[ok], x_hat[ok], labels[ok])

    def compute(self) -> dict[str, Any]:
        return super().compute() if self.seen else {}

    def per_image(self) -> dict[str, Tensor]:
        """(N,) scores of every image fed, NaN where nothing was decoded (one process)."""
        if not self.seen:
            return {}
        ok = torch.cat(self.masks)
        out = {}
        for name, scores in super().per_image().items():
            full = torch.full((len(ok),), float("nan"))
            full[ok] = scores
            out[name] = full
        return out


def reconstruction_suite(cfg: Config, device: torch.device) -> DecodedSuite:
    """PSNR, SSIM (RGB and grey), MS-SSIM and LPIPS (when the AlexNet file is there) on
    outputs clamped to [0, 1]."""
    metrics = reconstruction_metrics(cfg.data.image_size)
    if cfg.data.image_size >= LPIPS_MIN_SIZE:
        net = shared_lpips(cfg.eval.alexnet_weights, str(device))
        if net is not None:
            metrics.add_metrics({"lpips": LPIPSMetric(net)})
    return DecodedSuite(metrics.to(device),
                        lambda x, x_hat, labels: {"preds": x_hat.clamp(0, 1), "target": x})


def task_suite(classifier: nn.Module, num_classes: int, protocol: str,
               device: torch.device) -> Suite:
    """``confusion_<protocol>``: the expected confusion of ``classifier`` on the outputs
    (clamped to [0, 1]; failed images are scored as chance, whatever it predicts for them),
    and ``accuracy_<protocol>``, its per-image expected correctness."""
    metrics = MetricCollection({f"confusion_{protocol}": ExpectedConfusion(num_classes),
                                f"accuracy_{protocol}": ExpectedAccuracy()})

    def inputs(x: Tensor, x_hat: Tensor, labels: Tensor) -> dict[str, Tensor]:
        return {"preds": classifier(x_hat.nan_to_num(0.5).clamp(0, 1)), "labels": labels,
                "failed": ~decoded(x_hat)}

    return Suite(metrics.to(device), inputs)
