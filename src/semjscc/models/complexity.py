"""Model size and compute: parameters, bytes, MACs (counted on the meta device, no compute)."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .base import JSCCModel


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def parameter_bytes(model: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def _macs(fn, *args) -> int:
    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return counter.get_total_flops() // 2


def count_macs(model: JSCCModel, height: int, width: int | None = None) -> dict[str, int]:
    """Multiply-accumulates per image for one encode, one decode and one hop (both)."""
    width = width or height
    meta = copy.deepcopy(model).to("meta")
    x = torch.empty(1, 3, height, width, device="meta")
    snr = torch.zeros(1, device="meta")
    enc = _macs(meta.encode, x, snr)
    z = meta.encode(x, snr)
    dec = _macs(meta.decode, z, snr)
    return {"encode": enc, "decode": dec, "hop": enc + dec}
