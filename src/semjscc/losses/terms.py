"""The core paper's loss terms: pixel MSE, the DHD hash term and LPIPS."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import Config
from ..errors import ConfigError
from ..metrics.lpips import LPIPS, load_lpips
from ..models import load
from ..registry import LOSSES
from .base import LossTerm, freeze
from .dhd import semantic_hash_loss


class MSETerm(LossTerm):
    """MSE(S, Ŝ) over all pixels, images in [0, 1] (Ŝ unclamped)."""

    def forward(self, x: Tensor, x_hat: Tensor, labels: Tensor | None = None) -> Tensor:
        return F.mse_loss(x_hat, x)


class HashTerm(LossTerm):
    """1 − cos(h(S), h(Ŝ)), batch mean, with ``hasher`` h frozen: h(S) is a fixed target,
    gradients flow through h(Ŝ) into the DeepJSCC networks."""

    def __init__(self, hasher: nn.Module) -> None:
        super().__init__()
        self.hasher = freeze(hasher)

    def train(self, mode: bool = True) -> HashTerm:
        return self

    def forward(self, x: Tensor, x_hat: Tensor, labels: Tensor | None = None) -> Tensor:
        with torch.no_grad():
            h_source = self.hasher(x)
        return semantic_hash_loss(h_source, self.hasher(x_hat))


class LPIPSTerm(LossTerm):
    """Mean LPIPS(S, clamp(Ŝ, 0, 1)) with a frozen :class:`LPIPS` network."""

    def __init__(self, lpips: LPIPS) -> None:
        super().__init__()
        self.lpips = lpips

    def forward(self, x: Tensor, x_hat: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.lpips(x_hat.clamp(0.0, 1.0), x).mean()


@LOSSES.register("mse")
def mse_term(cfg: Config, device: torch.device | str = "cpu") -> MSETerm:
    """``mse``: pixel MSE, no options."""
    return MSETerm()


@LOSSES.register("dhd")
def dhd_term(cfg: Config, device: torch.device | str = "cpu",
             checkpoint: str | None = None) -> HashTerm:
    """``dhd``: the hash term with the trained DHD ``checkpoint`` (default
    ``dhd.checkpoint``)."""
    path = checkpoint or cfg.dhd.checkpoint
    if not path:
        raise ConfigError("the dhd loss term needs a trained DHD: set dhd.checkpoint="
                          "RUN/best.pt (from `semjscc train-dhd`)")
    return HashTerm(load(path, device=device, kind="dhd")[0])


@LOSSES.register("lpips")
def lpips_term(cfg: Config, device: torch.device | str = "cpu",
               weights: str | None = None) -> LPIPSTerm:
    """``lpips``: LPIPS (AlexNet v0.1) with the ImageNet AlexNet file ``weights`` (default
    ``eval.alexnet_weights``); without the file, one clear error."""
    return LPIPSTerm(load_lpips(weights or cfg.eval.alexnet_weights, device))
