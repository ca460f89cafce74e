"""Where tensors live and in which layout and precision: shared by training, evaluation and
the benchmarks."""

from __future__ import annotations

import logging
import os
from contextlib import AbstractContextManager, nullcontext

import torch

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}
log = logging.getLogger("semjscc.device")


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


def native_bf16(device: torch.device) -> bool:
    """Whether bfloat16 autocast pays on ``device``: any CUDA device, or a CPU with AMX
    tiles (measured: eo-tiny's DJSCC trains 1.8x faster there; the core model ran slower on
    a CPU with AVX-512 BF16 but no AMX)."""
    return device.type != "cpu" or bool(torch.cpu._is_amx_tile_supported())


def check_precision(device: torch.device, precision: str) -> None:
    """Warn when ``precision`` is bf16 on a CPU where it is likely slower than fp32."""
    if PRECISIONS[precision] is torch.bfloat16 and not native_bf16(device):
        log.warning("train.precision=bf16 on a CPU without AMX is likely slower than fp32 "
                    "(oneDNN has no bfloat16 matrix tiles to use); set train.precision=fp32")
