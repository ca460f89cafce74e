"""Where tensors live and in which layout and precision: shared by training, evaluation and
the benchmarks."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext

import torch

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` -> this rank's CUDA device when available, else CPU."""
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    return torch.device(spec)


def memory_format(channels_last: bool) -> torch.memory_format:
    """``torch.channels_last`` (NHWC, faster convolutions) or the default layout."""
    return torch.channels_last if channels_last else torch.contiguous_format


def autocast(device: torch.device, precision: str = "fp32") -> AbstractContextManager:
    """Mixed-precision region for ``train.precision``: ``fp32`` (no autocast) or ``bf16``
    autocast on ``device``."""
    dtype = PRECISIONS[precision]
    return nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)
