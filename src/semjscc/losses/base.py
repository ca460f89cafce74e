"""A training objective is a weighted sum of registered loss terms.

``train.loss`` maps term names (see ``LOSSES.names()``) to a weight, or to a mapping
``{weight: w, <option>: value, ...}`` whose options go to the term's factory. Factories are
called as ``factory(cfg, device, **options)`` with the run's resolved :class:`Config` (for
defaults such as ``dhd.checkpoint``) and return a :class:`LossTerm`. Terms own their frozen
networks. The method label of a run (``mse``, ``mse+dhd``, ...) is derived from the terms.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from ..config import Config
from ..errors import ConfigError
from ..registry import LOSSES


class LossTerm(nn.Module):
    """One term: ``forward(x, x_hat, labels)`` -> scalar. Images (B, 3, H, W), ``x`` in
    [0, 1], ``x_hat`` the (unclamped) reconstruction, ``labels`` (B, C) or None."""

    def forward(self, x: Tensor, x_hat: Tensor, labels: Tensor | None = None) -> Tensor:
        raise NotImplementedError


def freeze(module: nn.Module) -> nn.Module:
    """Eval mode and no parameter gradients (gradients still flow through to inputs)."""
    return module.requires_grad_(False).eval()


def term_weights(spec: dict[str, Any]) -> dict[str, tuple[float, dict[str, Any]]]:
    """``{name: weight or {weight, **options}}`` -> ``{name: (weight, options)}``, with the
    names and weights checked; terms of weight 0 are dropped."""
    if not isinstance(spec, dict) or not spec:
        raise ConfigError(f"train.loss must map loss terms to weights, e.g. {{mse: 1.0}}, "
                          f"got {spec!r}")
    out = {}
    for name, value in spec.items():
        LOSSES.get(name)  # unknown names: one line listing the registered terms
        options = dict(value) if isinstance(value, dict) else {"weight": value}
        weight = options.pop("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                or not math.isfinite(weight) or weight < 0:
            raise ConfigError(f"train.loss.{name}: weight {weight!r} must be a finite number "
                              ">= 0")
        if weight > 0:
            out[name] = (float(weight), options)
    if not out:
        raise ConfigError(f"train.loss={spec!r} has no term with a positive weight")
    return out


def method_label(spec: dict[str, Any]) -> str:
    """The name of the method a loss mapping trains: its positive-weight terms joined by
    ``+`` in the given order, e.g. ``{mse: 1, dhd: 0.06}`` -> ``mse+dhd``."""
    return "+".join(term_weights(spec))


class WeightedLoss(nn.Module):
    """L = Σ_i w_i · term_i(x, x_hat, labels); ``forward`` returns a dict with ``loss`` (the
    weighted total) and every term's unweighted value under its name."""

    def __init__(self, terms: dict[str, tuple[float, LossTerm]]) -> None:
        super().__init__()
        self.weights = {name: weight for name, (weight, _) in terms.items()}
        self.terms = nn.ModuleDict({name: term for name, (_, term) in terms.items()})

    @property
    def label(self) -> str:
        return "+".join(self.terms)

    def train(self, mode: bool = True) -> WeightedLoss:
        """Terms hold frozen networks: they stay in eval mode whatever the caller asks."""
        return self

    def forward(self, x: Tensor, x_hat: Tensor,
                labels: Tensor | None = None) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        total = x_hat.new_zeros(())
        for name, term in self.terms.items():
            value = term(x, x_hat, labels)
            out[name] = value
            total = total + self.weights[name] * value
        out["loss"] = total
        return out


def build_loss(cfg: Config, device: torch.device | str = "cpu") -> WeightedLoss:
    """The objective ``cfg.train.loss`` with every term's frozen networks on ``device``."""
    terms = {}
    for name, (weight, options) in term_weights(cfg.train.loss).items():
        LOSSES.check_options(name, options, f"train.loss.{name}", positional=2)
        terms[name] = (weight, LOSSES.get(name)(cfg, device, **options).to(device))
    return WeightedLoss(terms)
