"""Throughput, memory and hardware-utilisation measurements (printed by ``semjscc bench``).

Utilisation is the model's achieved FLOP/s (2 FLOPs per MAC; a training step counted as
3× the forward pass) over this machine's measured dense fp32 matrix-multiply FLOP/s.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from ..channels import AWGN, Channel
from ..channels.quantize import fit_codebook
from ..config import ModelConfig, TrainConfig
from ..device import autocast, memory_format
from ..errors import ConfigError
from ..models import JSCCModel, MultiHopDF, Yilmaz2023DeepJSCC, create_model, hop
from ..models.complexity import count_macs
from ..models.layers import avoid_strided_pointwise
from ..models.yilmaz2023 import to_kaira_state_dicts
from ..registry import PEERS
from .optim import adam, maybe_compile

BENCH_SNR_DB = 0.0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timeit_many(fns: dict[str, Callable[[], object]], device: torch.device, warmup: int,
                 repeats: int) -> dict[str, float]:
    """Median seconds per call of each of ``fns``, the calls interleaved (one of each per
    round) so that a change in machine load affects all alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    _sync(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            _sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}


def _timeit(fn: Callable[[], object], device: torch.device, warmup: int, repeats: int) -> float:
    """Median seconds per call of ``fn``."""
    return _timeit_many({"": fn}, device, warmup, repeats)[""]


def matmul_flops(device: torch.device, sizes: tuple[int, ...] = (1024, 2048, 4096),
                 dtype: torch.dtype = torch.float32) -> float:
    """Best measured FLOP/s of dense n×n matrix products (2·n³ FLOPs) over ``sizes``."""
    best = 0.0
    for n in sizes:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        best = max(best, 2 * n**3 / _timeit(lambda: a @ b, device, warmup=2, repeats=5))
    return best


def _trim_c_heap() -> None:
    """Give the C heap's free pages back to the system where the C library can (glibc)."""
    try:
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass


class PeakMemory:
    """Peak memory of a block: CUDA allocator peak, or the process's peak RSS (Linux) over
    its RSS at entry, after the C heap's free pages are given back to the system (glibc
    ``malloc_trim``): memory that earlier work freed would otherwise be reused without
    raising the RSS, and the block would read as needing nothing."""

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
            _trim_c_heap()
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


@dataclass
class OneHop:
    """A DeepJSCC pair under test: ``module`` holds its weights, ``forward(x, snr_db)`` is
    one hop (encode, power-normalise, AWGN, decode): (B, 3, H, W), (B,) -> (B, 3, H, W);
    ``fmt`` is the memory format its input images come in, ``fused_adam`` whether its
    training step uses the fused Adam (else torch's default, a loop over parameters)."""

    module: nn.Module
    forward: Callable[[Tensor, Tensor], Tensor]
    fmt: torch.memory_format = torch.contiguous_format
    fused_adam: bool = False


def ours(model: JSCCModel, train: TrainConfig, channel: Channel | None = None,
         generator: torch.Generator | None = None) -> OneHop:
    """Our hop over ``channel`` (default AWGN; its randomness from ``generator``) with the
    speed switches of ``train`` (channels_last, compile, fused_adam, grad_checkpoint)."""
    fmt = memory_format(train.channels_last)
    model.to(memory_format=fmt)
    channel = channel if channel is not None else AWGN()
    forward = maybe_compile(
        lambda x, snr: hop(model, x, channel, snr, generator, train.grad_checkpoint),
        train.compile)
    return OneHop(model, forward, fmt, train.fused_adam)


@PEERS.register("kaira")
def kaira_q2(model: Yilmaz2023DeepJSCC, image_size: int) -> OneHop:
    """kaira's ``Tung2022DeepJSCCQ2`` encoder/decoder holding ``model``'s weights, with
    kaira's TotalPowerConstraint (k = M/2 · (S/4)² symbols of unit power per image) and
    AWGNChannel (σ²/2 per real at ``BENCH_SNR_DB``), used as shipped: fp32, NCHW."""
    try:
        from kaira.channels import AWGNChannel
        from kaira.constraints import TotalPowerConstraint
        from kaira.models.image.tung2022_deepjscc_q import (
            Tung2022DeepJSCCQ2Decoder,
            Tung2022DeepJSCCQ2Encoder,
        )
    except ImportError:
        raise ConfigError("--peer kaira needs kaira: pip install 'semjscc[bench]'") from None
    n, m = model.num_features, model.num_latent
    enc, dec = Tung2022DeepJSCCQ2Encoder(n, m), Tung2022DeepJSCCQ2Decoder(n, m)
    enc_state, dec_state = to_kaira_state_dicts(model.state_dict())
    enc.load_state_dict(enc_state)
    dec.load_state_dict(dec_state)
    power = TotalPowerConstraint(total_power=model.num_symbols(image_size, image_size))
    channel = AWGNChannel(avg_noise_power=10 ** (-BENCH_SNR_DB / 10) / 2)
    return OneHop(nn.ModuleList([enc, dec]),
                  lambda x, snr: dec(channel(power(enc(x, snr))), snr))


def step_fns(system: OneHop, image_size: int, batch_size: int, device: torch.device,
             precision: str = "fp32") -> tuple[Callable[[], None], Callable[[], None]]:
    """(training step, inference) of ``system`` on a fixed random batch: Adam on the MSE
    of one hop, in ``precision`` (autocast)."""
    system.module.to(device)
    opt = adam(system.module.parameters(), lr=1e-4, fused=system.fused_adam)
    x = torch.rand(batch_size, 3, image_size, image_size, device=device).contiguous(
        memory_format=system.fmt)
    snr = torch.full((batch_size,), BENCH_SNR_DB, device=device)

    def train_step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast(device, precision):
            loss = (system.forward(x, snr) - x).float().pow(2).mean()
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer() -> None:
        with autocast(device, precision):
            system.forward(x, snr)

    return train_step, infer


def bench_model(name: str, cfg: ModelConfig, image_size: int, batch_size: int,
                device: torch.device, repeats: int = 5,
                train: TrainConfig | None = None) -> ModelBench:
    """One-hop (r = 0) training step and inference throughput of a DeepJSCC pair with the
    speed switches of ``train`` (default: TrainConfig's)."""
    train = train or TrainConfig()
    system = ours(create_model(cfg), train)
    train_step, infer = step_fns(system, image_size, batch_size, device, train.precision)
    with PeakMemory(device) as mem:
        t_train = _timeit(train_step, device, warmup=2, repeats=repeats)
    t_infer = _timeit(infer, device, warmup=2, repeats=repeats)
    gmacs = count_macs(system.module, image_size)["hop"] / 1e9
    return ModelBench(
        name=name, image_size=image_size, batch_size=batch_size,
        train_images_per_s=batch_size / t_train, infer_images_per_s=batch_size / t_infer,
        train_peak_bytes=mem.peak_bytes, hop_gmacs=gmacs,
        train_flops=3 * 2 * gmacs * 1e9 * batch_size / t_train,
        infer_flops=2 * gmacs * 1e9 * batch_size / t_infer,
    )


def bench_channels(cfg: ModelConfig, channels: dict[str, Channel], image_size: int,
                   batch_size: int, device: torch.device, repeats: int = 5,
                   train: TrainConfig | None = None) -> dict[str, float]:
    """Median seconds of one training step of the same one-hop model over each of
    ``channels`` (by name), the steps interleaved; each channel's noise (and gains) from a
    seeded generator, as in training."""
    train = train or TrainConfig()
    torch.manual_seed(0)
    model = create_model(cfg)
    fns = {name: step_fns(ours(model, train, channel.to(device),
                               torch.Generator(device).manual_seed(0)),
                          image_size, batch_size, device, train.precision)[0]
           for name, channel in channels.items()}
    return _timeit_many(fns, device, warmup=2, repeats=repeats)


@dataclass
class PeerBench:
    """Images/s of ours and the peer's systems (by name) on one size."""

    num_features: int
    num_latent: int
    image_size: int
    batch_size: int
    train_images_per_s: dict[str, float]
    infer_images_per_s: dict[str, float]


def bench_peer(peer: str, cases: list[tuple[int, int, int, int]], device: torch.device,
               repeats: int = 5, train: TrainConfig | None = None) -> list[PeerBench]:
    """Ours (with the switches of ``train``) against ``peer`` on each (N, M, image size,
    batch) case, same initial weights, same process, timings interleaved. The peer runs
    as shipped (``<peer>``: torch's default Adam) and with our layout and optimizer
    (``<peer>-nhwc``: fed channels-last images, the layout convolutions then keep, its
    strided 1x1 convolutions subsampled as ours, since the strided form crashes torch's CPU
    channels-last backward, and Adam fused as ours when ``train.fused_adam``)."""
    train = train or TrainConfig()
    out = []
    for n, m, size, batch in cases:
        torch.manual_seed(0)
        model = Yilmaz2023DeepJSCC(n, m)
        shipped = PEERS.build(peer, model=model, image_size=size)
        nhwc = replace(PEERS.build(peer, model=model, image_size=size),
                       fmt=torch.channels_last, fused_adam=train.fused_adam)
        avoid_strided_pointwise(nhwc.module)  # the strided form crashes (models.layers)
        systems = {"ours": ours(model, train), peer: shipped, f"{peer}-nhwc": nhwc}
        fns = {name: step_fns(system, size, batch, device,
                              train.precision if name == "ours" else "fp32")
               for name, system in systems.items()}
        t_train = _timeit_many({k: f[0] for k, f in fns.items()}, device, 2, repeats)
        t_infer = _timeit_many({k: f[1] for k, f in fns.items()}, device, 2, repeats)
        out.append(PeerBench(n, m, size, batch, {k: batch / t for k, t in t_train.items()},
                             {k: batch / t for k, t in t_infer.items()}))
    return out


@dataclass
class DDPBench:
    """One-hop training images/s of one process using every thread, and of ``world``
    gloo DDP processes splitting the same global batch and the threads."""

    world: int
    threads: int
    batch_size: int
    single_images_per_s: float
    ddp_images_per_s: float

    @property
    def scaling(self) -> float:
        return self.ddp_images_per_s / self.single_images_per_s


def _ddp_step_seconds(cfg: ModelConfig, image_size: int, batch: int, repeats: int,
                      channels_last: bool) -> float:
    """Median seconds of one DDP-wrapped (when a process group exists) training step of a
    one-hop link on ``batch`` images."""
    fmt = memory_format(channels_last)
    torch.manual_seed(0)
    link: nn.Module = MultiHopDF(create_model(cfg).to(memory_format=fmt), AWGN())
    if dist.is_initialized():
        link = DistributedDataParallel(link)
    opt = adam(link.parameters(), lr=1e-4)
    x = torch.rand(batch, 3, image_size, image_size).contiguous(memory_format=fmt)
    snr = [torch.full((batch,), BENCH_SNR_DB)]

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        (link(x, snr)["x_hat"] - x).pow(2).mean().backward()
        opt.step()

    return _timeit(step, torch.device("cpu"), warmup=2, repeats=repeats)


def _ddp_worker(rank: int, world: int, port: int, cfg: ModelConfig, image_size: int,
                batch: int, repeats: int, channels_last: bool, threads: int,
                result: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(threads)
    try:
        seconds = _ddp_step_seconds(cfg, image_size, batch // world, repeats, channels_last)
        if rank == 0:
            Path(result).write_text(json.dumps(seconds))
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_ddp(cfg: ModelConfig, image_size: int, batch_size: int, world: int = 2,
              repeats: int = 5, channels_last: bool = True, rounds: int = 3) -> DDPBench:
    """CPU DDP scaling: ``world`` gloo processes with threads/world threads each (spawned
    here) against this process alone, on the same global batch (a multiple of ``world``).
    The two alternate for ``rounds`` rounds (medians over rounds), so that a change in the
    machine's load between them shows as spread rather than as scaling."""
    threads = torch.get_num_threads()
    single, ddp = [], []
    with tempfile.TemporaryDirectory() as tmp:
        result = str(Path(tmp) / "seconds.json")
        for _ in range(rounds):
            single.append(_ddp_step_seconds(cfg, image_size, batch_size, repeats, channels_last))
            mp.spawn(_ddp_worker, nprocs=world, args=(
                world, _free_port(), cfg, image_size, batch_size, repeats, channels_last,
                max(1, threads // world), result))
            ddp.append(json.loads(Path(result).read_text()))
    return DDPBench(world, threads, batch_size, batch_size / float(np.median(single)),
                    batch_size / float(np.median(ddp)))


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
