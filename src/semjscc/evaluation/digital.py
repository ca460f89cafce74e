"""The practical digital chain (:mod:`semjscc.baselines.digital`: codec + 5G NR transport
block + QAM) on a DeepJSCC checkpoint's link: the same channel and the same k complex
channel uses per image as the model. One image (:func:`transmit_digital`, for ``semjscc
transmit --baseline digital``), a test split (:func:`evaluate_digital_checkpoint`, for
``semjscc eval --baseline digital``) and the chain's throughput per MCS
(:func:`bench_digital`, for ``semjscc bench --digital``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..baselines import separation
from ..baselines.digital import (
    BLER_TARGET,
    DigitalSystem,
    TBLink,
    TransportBlock,
    transport_block,
)
from ..baselines.separation import code_to_budget, decode_file, smallest_file_bits
from ..channels import AWGN, Channel
from ..config import Config, load_config
from ..data import build_dataset
from ..errors import ConfigError
from ..semantics import Judge
from .evaluate import CheckpointEvaluation, evaluate_outputs, image_suite, judge_suites

MODULATIONS = {2: "QPSK", 4: "16-QAM", 6: "64-QAM", 8: "256-QAM"}

# `semjscc bench --digital`: the tiny budget (tiny/df: 32x32 test images, k = 1024 complex
# symbols), a batch of 100, AWGN at an SNR where every TB decodes and one where none does.
BENCH_CONFIG = "tiny/df"
BENCH_K = 1024
BENCH_BATCH = 100
BENCH_SNRS_DB = (30.0, -10.0)


def mcs_label(tb: TransportBlock, adaptive_snr_db: float | None = None) -> str:
    """``MCS 9 (QPSK, rate 0.66)``; with the SNR adaptation picked it for, ``adaptive MCS 9
    (QPSK, rate 0.66; picked for 5 dB at a 10% BLER target)`` (see
    :func:`~semjscc.baselines.digital.adaptive_mcs`)."""
    modulation = MODULATIONS.get(tb.modulation_order, f"{2 ** tb.modulation_order}-QAM")
    if adaptive_snr_db is None:
        return f"MCS {tb.mcs} ({modulation}, rate {tb.code_rate:.2f})"
    return (f"adaptive MCS {tb.mcs} ({modulation}, rate {tb.code_rate:.2f}; picked for "
            f"{adaptive_snr_db:g} dB at a {BLER_TARGET:.0%} BLER target)")


def _uint8(image: Tensor) -> np.ndarray:
    """(3, H, W) in [0, 1] -> uint8 (H, W, 3), rounded as the digital chain does."""
    return (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8) \
        .permute(1, 2, 0).cpu().numpy()


@dataclass
class DigitalTransmission:
    """One image through the digital chain. ``x_hat`` is the received image, None when it
    was lost: ``unreachable`` (the smallest file, ``smallest_bits``, exceeds the TB) or a
    TB CRC failure (``hop_crc``: each hop's CRC, None for the hops after the failed one,
    which are not sent; ``failed_hop``: the hop that failed, 1-based)."""

    codec: str
    tb: TransportBlock
    adaptive: bool
    snr_db: float
    hops: int
    x_hat: Tensor | None
    file_bits: int | None
    smallest_bits: int | None
    hop_crc: list[bool | None]

    @property
    def delivered(self) -> bool:
        return self.x_hat is not None

    @property
    def unreachable(self) -> bool:
        return self.smallest_bits is not None

    @property
    def failed_hop(self) -> int | None:
        return next((i for i, ok in enumerate(self.hop_crc, start=1) if ok is False), None)

    @property
    def mcs(self) -> str:
        return mcs_label(self.tb, self.snr_db if self.adaptive else None)


def transmit_digital(image: Tensor, codec: str, mcs: int | str, snr_db: float, k: int,
                     channel: Channel | None = None, hops: int = 1,
                     generator: torch.Generator | None = None) -> DigitalTransmission:
    """Send one (3, H, W) image in [0, 1] through ``codec`` + the TB of ``mcs`` (an index
    or "adaptive") over ``k`` complex symbols of ``channel`` and ``hops`` DF hops at
    ``snr_db`` each (see :class:`~semjscc.baselines.digital.DigitalSystem`)."""
    system = DigitalSystem(codec, mcs, snr_db, k, channel, hops)
    x_hat = system(image[None], generator)[0]
    unreachable = system.n_unreachable > 0
    # n_lost_after[j]: lost by hop j + 1 (a TB that fails is not sent on)
    lost = [0, *system.n_lost_after]
    hop_crc = [None if unreachable or lost[j] else not lost[j + 1] for j in range(hops)]
    return DigitalTransmission(
        codec=system.spec.name, tb=system.tb, adaptive=system.adaptive, snr_db=float(snr_db),
        hops=hops, x_hat=None if system.n_lost else x_hat,
        file_bits=system.used_bits[0] if system.used_bits else None,
        smallest_bits=smallest_file_bits(_uint8(image), codec) if unreachable else None,
        hop_crc=hop_crc)


def digital_snrs(cfg: Config, snr_db: list[float] | None) -> list[float]:
    """The SNRs of a digital evaluation: ``snr_db``, else ``eval.snr_db``, else the trained
    SNR (the chain runs every hop at one SNR, so per-hop trained SNRs need ``snr_db``)."""
    if snr_db:
        return list(snr_db)
    if cfg.eval.snr_db:
        return list(cfg.eval.snr_db)
    trained = set(cfg.link.hop_snrs_db())
    if len(trained) != 1:
        raise ConfigError(f"the model was trained with per-hop SNRs {cfg.link.snr_db}; the "
                          "digital chain runs every hop at one SNR: pass --snr-db")
    return [trained.pop()]


def _pick(outputs: list[Tensor], relays: list[int]) -> list[Tensor]:
    """The image after hop r + 1 (the r-relay chain's destination) for each r."""
    return [outputs[r] for r in relays]


def evaluate_digital_checkpoint(path: str | Path, codec: str, mcs: list[int | str] | None = None,
                                snr_db: list[float] | None = None,
                                relays: list[int] | None = None,
                                overrides: list[str] | None = None,
                                batch_size: int | None = None, device: str = "auto",
                                seed: int | None = None, dhd: str | Path | None = None,
                                judges: list[Judge] | None = None) -> list[dict[str, Any]]:
    """Result rows of the digital chain (``codec`` + TB + QAM) at every relay count × SNR ×
    MCS (default: adaptive) over the link of DeepJSCC checkpoint ``path``: its channel, its
    evaluation split and seed, and k = the model's complex symbols per image at
    ``data.image_size`` (the model's bandwidth). Relays decode and forward the TB; one
    chain of the most hops gives every relay count (its first r + 1 hops are the r-relay
    chain, the same draws). The link is ``digital.link`` of the config (bit-true, or the
    link abstraction with ``--set digital.link=abstraction``). The metric suites and judges
    are those of :func:`~semjscc.evaluation.evaluate.evaluate_df_checkpoint`; defaults as
    there (relays: ``eval.relays`` or the trained count; SNRs: :func:`digital_snrs`)."""
    s = CheckpointEvaluation.open(path, overrides, device, seed, batch_size, dhd, judges)
    cfg, dev, seed = s.cfg, s.device, s.seed
    size = cfg.data.image_size
    k = s.model.num_symbols(size, size)
    relays = sorted(set(relays or cfg.eval.relays or [cfg.link.relays]))
    hops = max(relays) + 1
    rows: dict[tuple[int, int, int], dict[str, Any]] = {}
    for i, snr in enumerate(digital_snrs(cfg, snr_db)):
        for j, m in enumerate(mcs or ["adaptive"]):
            system = DigitalSystem(codec, m, snr, k, s.channel, hops=hops, link=cfg.digital.link)
            metrics = evaluate_outputs(
                lambda x, g, system=system: _pick(system.outputs(x, g), relays),
                s.loader, [[image_suite(cfg, dev), *judge_suites(s.judges, dev)]
                           for _ in relays],
                dev, seed, desc=f"digital {codec} MCS {m} relays={','.join(map(str, relays))} "
                                f"snr={snr:g}dB")
            for r, values in zip(relays, metrics, strict=True):
                rows[r, i, j] = {**system.row_fields(hops=r + 1), **values,
                                 "hop_snr_db": "/".join([f"{snr:g}"] * (r + 1)), "relays": r,
                                 "seed": seed, "checkpoint": str(path)}
    return [rows[key] for key in sorted(rows)]


# ---------------------------------------------------------------------------- bench


class _Timed:
    """A callable that adds the seconds of its calls to ``seconds``."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        out = self.fn(*args, **kwargs)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.seconds += time.perf_counter() - start
        return out


LINK_STAGES = ("encoder", "demapper", "decoder")  # TBLink attributes timed by the bench


@contextmanager
def _timed_stages(link: TBLink) -> Iterator[dict[str, _Timed]]:
    """The link's LDPC encoder, soft demapper and LDPC decoder timed while inside."""
    timers = {name: _Timed(getattr(link, name)) for name in LINK_STAGES}
    for name, timer in timers.items():
        setattr(link, name, timer)
    try:
        yield timers
    finally:
        for name, timer in timers.items():
            setattr(link, name, timer.fn)


@contextmanager
def _cold_codec_cache() -> Iterator[None]:
    """Codec searches start from an empty file cache inside the block (as a sweep's first
    setting does); the process's cache is put back after."""
    saved = separation.ENCODED
    separation.ENCODED = separation.EncodedFiles()
    try:
        yield
    finally:
        separation.ENCODED = saved


@dataclass
class DigitalBench:
    """Throughput of the digital chain at one MCS and SNR on ``batch`` images: wall seconds
    per batch (median), images delivered, and the shares of the wall time spent in the
    codec (encode: the budget search; decode) and in the link's LDPC encoder, soft demapper
    and LDPC decoder (the rest: QAM mapping, the channel, bit packing)."""

    codec: str
    tb: TransportBlock
    snr_db: float
    batch: int
    seconds: float
    delivered: int
    unreachable: int
    shares: dict[str, float] = field(default_factory=dict)

    @property
    def images_per_s(self) -> float:
        return self.batch / self.seconds

    @property
    def info_mbit_per_s(self) -> float:
        """TB information bits (CRC and parity excluded) pushed through per second."""
        return self.images_per_s * self.tb.tb_bits / 1e6


def bench_images(batch: int = BENCH_BATCH, overrides: list[str] | None = None) -> Tensor:
    """The first ``batch`` test images of the tiny budget (:data:`BENCH_CONFIG`: 32x32
    synthetic scenes), repeated when the split is smaller."""
    test = build_dataset(load_config(BENCH_CONFIG, overrides).data, "test")
    return torch.stack([test[i % len(test)]["image"] for i in range(batch)])


def bench_digital(codec: str, mcs: list[int], images: Tensor, k: int = BENCH_K,
                  snrs_db: tuple[float, ...] = BENCH_SNRS_DB, repeats: int = 1,
                  workers: int = 2, seed: int = 0) -> list[DigitalBench]:
    """Wall time of :class:`DigitalSystem` (``codec``, each MCS, k symbols, AWGN, one hop)
    on the batch ``images`` at each SNR: the median of ``repeats`` calls after a 2-image
    warm-up, every call with an empty codec file cache. The codec shares come from the same
    work timed alone (the budget searches on ``workers`` threads as the system runs them,
    and decoding the delivered files); the link shares from its stages timed in the call."""
    out = []
    array = [_uint8(image) for image in images]
    for m in mcs:
        tb = transport_block(m, k)
        with _cold_codec_cache(), ThreadPoolExecutor(workers) as pool:
            start = time.perf_counter()
            coded = list(pool.map(lambda a: code_to_budget(a, codec, tb.tb_bits), array))
            encode_s = time.perf_counter() - start
        files = [c for c in coded if not isinstance(c, int)]
        start = time.perf_counter()
        for c in files:
            decode_file(c.data)
        decode_s = time.perf_counter() - start
        for snr in snrs_db:
            system = DigitalSystem(codec, m, snr, k, AWGN(), workers=workers)
            system(images[:2], torch.Generator().manual_seed(seed))  # warm-up
            seconds, stage_s = [], dict.fromkeys(LINK_STAGES, 0.0)
            lost = unreachable = 0
            for _ in range(repeats):
                n_lost, n_unreachable = system.n_lost, system.n_unreachable
                with _cold_codec_cache(), _timed_stages(system.link) as timers:
                    start = time.perf_counter()
                    system(images, torch.Generator().manual_seed(seed))
                    seconds.append(time.perf_counter() - start)
                lost, unreachable = system.n_lost - n_lost, system.n_unreachable - n_unreachable
                for name, timer in timers.items():
                    stage_s[name] += timer.seconds
            total = sum(seconds)
            delivered = len(images) - lost
            shares = {"codec encode": encode_s * repeats / total,
                      "codec decode": decode_s * delivered / max(1, len(files)) * repeats
                      / total,
                      "LDPC encode": stage_s["encoder"] / total,
                      "demap": stage_s["demapper"] / total,
                      "LDPC decode": stage_s["decoder"] / total}
            out.append(DigitalBench(codec, tb, snr, len(images), statistics.median(seconds),
                                    delivered, unreachable, shares))
    return out
