"""Minimal DDP support for ``torchrun --nproc-per-node N -m semjscc train ...``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..device import resolve_device
from ..errors import ConfigError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def per_process_batch(global_batch: int, info: DistInfo, key: str) -> int:
    """The batch size of one process when ``global_batch`` is split over the DDP world
    (batch sizes in configs are global, e.g. the paper's 20/10/8/6)."""
    if global_batch % info.world_size:
        raise ConfigError(f"{key}={global_batch} is global and does not divide over "
                          f"{info.world_size} processes; use a world size that divides it or "
                          f"a multiple of {info.world_size}")
    return global_batch // info.world_size




def all_reduce_sum(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.enabled:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


@contextmanager
def training_session(device_spec: str) -> Iterator[tuple[torch.device, DistInfo]]:
    """Device and process group of a training run (torchrun-aware), torn down on exit."""
    device = resolve_device(device_spec)
    dist = init_distributed(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
    try:
        yield device, dist
    finally:
        cleanup(dist)
