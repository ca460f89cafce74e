"""DeepJSCC training objectives ("methods").

``mse``:       L = MSE(S, Ŝ) on images in [0, 1].
``mse+dhd``:   L* = MSE(S, Ŝ) + lambda · (1 − cos(h(S), h(Ŝ))), h a frozen DHD hasher.
``mse+lpips``: L = MSE(S, Ŝ) + w · LPIPS(S, Ŝ) (AlexNet LPIPS, needs ImageNet weights).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import ConfigError, TrainConfig
from ..metrics.lpips import load_lpips
from ..semantics.dhd import load_dhd
from .dhd import semantic_hash_loss

METHODS = ("mse", "mse+dhd", "mse+lpips")


class JSCCObjective(nn.Module):
    """MSE plus optional frozen semantic/perceptual terms; returns a dict with key ``loss``.

    Frozen modules are kept in eval mode and never updated; gradients still flow through
    them into the DeepJSCC networks.
    """

    def __init__(self, hasher: nn.Module | None = None, semantic_weight: float = 0.0,
                 perceptual: nn.Module | None = None, perceptual_weight: float = 0.0) -> None:
        super().__init__()
        self.hasher = hasher
        self.semantic_weight = semantic_weight
        self.perceptual = perceptual
        self.perceptual_weight = perceptual_weight
        for module in (hasher, perceptual):
            if module is not None:
                module.requires_grad_(False)
                module.eval()

    def train(self, mode: bool = True) -> "JSCCObjective":
        """Frozen parts stay in eval mode whatever the caller asks."""
        return self

    def forward(self, x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
        mse = F.mse_loss(x_hat, x)
        out = {"mse": mse}
        loss = mse
        if self.hasher is not None:
            with torch.no_grad():
                h_source = self.hasher(x)
            sem = semantic_hash_loss(h_source, self.hasher(x_hat))
            out["hash"] = sem
            loss = loss + self.semantic_weight * sem
        if self.perceptual is not None:
            lp = self.perceptual(x_hat.clamp(0.0, 1.0), x).mean()
            out["lpips"] = lp
            loss = loss + self.perceptual_weight * lp
        out["loss"] = loss
        return out


def build_objective(cfg: TrainConfig, device: torch.device,
                    alexnet_weights: str = "imagenet") -> JSCCObjective:
    """The objective of ``cfg.method``, with its frozen modules loaded onto ``device``
    (``alexnet_weights``: the ImageNet AlexNet file spec that ``mse+lpips`` needs)."""
    if cfg.method == "mse":
        return JSCCObjective()
    if cfg.method == "mse+dhd":
        if not cfg.dhd_checkpoint:
            raise ConfigError("train.method=mse+dhd needs a trained DHD: set "
                              "train.dhd_checkpoint=RUN/best.pt (from `semjscc train-dhd`)")
        hasher, _ = load_dhd(cfg.dhd_checkpoint, device)
        return JSCCObjective(hasher=hasher, semantic_weight=cfg.semantic_weight)
    if cfg.method == "mse+lpips":
        return JSCCObjective(perceptual=load_lpips(alexnet_weights, device),
                             perceptual_weight=cfg.lpips_weight)
    raise ConfigError(f"unknown train.method {cfg.method!r}; choose one of: {', '.join(METHODS)}")
