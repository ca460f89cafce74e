"""Throughput, memory and hardware-utilisation measurements (printed by ``semjscc bench``).

Utilisation is the model's achieved FLOP/s (2 FLOPs per MAC; a training step counted as
3× the forward pass) over this machine's measured dense fp32 matrix-multiply FLOP/s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..channels import AWGN
from ..channels.quantize import fit_codebook
from ..config import ModelConfig
from ..models import create_model, hop
from ..models.complexity import count_macs
from .distributed import memory_format


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timeit(fn, device: torch.device, warmup: int, repeats: int) -> float:
    """Median seconds per call of ``fn``."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def matmul_flops(device: torch.device, sizes: tuple[int, ...] = (1024, 2048, 4096),
                 dtype: torch.dtype = torch.float32) -> float:
    """Best measured FLOP/s of dense n×n matrix products (2·n³ FLOPs) over ``sizes``."""
    best = 0.0
    for n in sizes:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        best = max(best, 2 * n**3 / _timeit(lambda: a @ b, device, warmup=2, repeats=5))
    return best


class PeakMemory:
    """Peak memory of a block: CUDA allocator peak, or the process's peak RSS (Linux)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.peak_bytes = 0

    @staticmethod
    def _rss(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) * 1024
        return 0

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        else:
            try:  # reset the RSS high-water mark (Linux >= 4.0)
                Path("/proc/self/clear_refs").write_text("5")
            except OSError:
                pass
            self.base = self._rss("VmRSS:")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device)
        else:
            peak = self._rss("VmHWM:")
        self.peak_bytes = max(0, peak - self.base)


@dataclass
class ModelBench:
    name: str
    image_size: int
    batch_size: int
    train_images_per_s: float
    infer_images_per_s: float
    train_peak_bytes: int
    hop_gmacs: float
    train_flops: float  # achieved FLOP/s while training
    infer_flops: float


def bench_model(name: str, cfg: ModelConfig, image_size: int, batch_size: int,
                device: torch.device, repeats: int = 5, channels_last: bool = True) -> ModelBench:
    """One-hop (r = 0) training step and inference throughput of a DeepJSCC pair."""
    fmt = memory_format(channels_last)
    model = create_model(cfg).to(device, memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(batch_size, 3, image_size, image_size, device=device).contiguous(
        memory_format=fmt)
    snr = torch.zeros(batch_size, device=device)
    channel = AWGN()

    def train_step() -> None:
        opt.zero_grad(set_to_none=True)
        (hop(model, x, channel, snr) - x).pow(2).mean().backward()
        opt.step()

    @torch.no_grad()
    def infer() -> None:
        hop(model, x, channel, snr)

    with PeakMemory(device) as mem:
        t_train = _timeit(train_step, device, warmup=2, repeats=repeats)
    t_infer = _timeit(infer, device, warmup=2, repeats=repeats)
    gmacs = count_macs(model, image_size)["hop"] / 1e9
    return ModelBench(
        name=name, image_size=image_size, batch_size=batch_size,
        train_images_per_s=batch_size / t_train, infer_images_per_s=batch_size / t_infer,
        train_peak_bytes=mem.peak_bytes, hop_gmacs=gmacs,
        train_flops=3 * 2 * gmacs * 1e9 * batch_size / t_train,
        infer_flops=2 * gmacs * 1e9 * batch_size / t_infer,
    )


@dataclass
class QFBench:
    n_q: int
    bits: float
    n_blocks_total: int
    n_blocks_fit: int
    fit_seconds: float
    quantize_blocks_per_s: float


def bench_qf(settings: list[tuple[int, float]], num_images: int = 1050, reals: int = 131_072,
             max_blocks: int = 1_000_000, device: torch.device | None = None,
             seed: int = 0) -> list[QFBench]:
    """K-means fit time and relay quantisation throughput at the paper's scale (1,050 val
    images × 2k = 131,072 reals), on Gaussian stand-in channel outputs (unit-power signal
    at −5 dB: variance 1 + 10^0.5 per complex symbol)."""
    device = device or torch.device("cpu")
    rng = np.random.default_rng(seed)
    std = ((1 + 10**0.5) / 2) ** 0.5  # per real
    batch = torch.randn(8, 32, 64, 64, device=device) * std  # 8 images of 2k = 131,072 reals
    out = []
    for n_q, bits in settings:
        total = num_images * reals // n_q
        n_fit = min(max_blocks, total)
        blocks = (rng.standard_normal((n_fit, n_q)) * std).astype(np.float32)
        start = time.perf_counter()
        book = fit_codebook(blocks, n_q, bits, -5.0, seed)
        fit_s = time.perf_counter() - start
        t = _timeit(lambda: book.quantize(batch), device, warmup=1, repeats=3)
        out.append(QFBench(n_q, bits, total, n_fit, fit_s, batch.numel() / n_q / t))
    return out
