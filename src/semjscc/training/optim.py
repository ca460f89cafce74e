"""The optimiser and compilation switches of a training step (``train.fused_adam``,
``train.compile``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import torch

F = TypeVar("F", bound=Callable)

def adam(params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float = 0.0,
         fused: bool = True) -> torch.optim.Adam:
    """Adam; ``fused`` (``train.fused_adam``) updates every parameter in one kernel instead
    of a loop of small ops per parameter (the same update up to rounding)."""
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=fused or None)


def maybe_compile(fn: F, enabled: bool) -> F:
    """``torch.compile(fn)`` when ``enabled`` (``train.compile``), else ``fn``."""
    return torch.compile(fn) if enabled else fn
