"""The practical digital chain: an image codec, a 5G NR transport block (CRC, segmentation,
LDPC, rate matching, scrambling) and QAM, over the same channel blocks as DeepJSCC.

Per image, over k complex channel uses (the DeepJSCC model's budget) and one MCS of 3GPP TS
38.214 table 1 (PUSCH): Q_m bits per symbol and target rate R give k·Q_m coded bits and the
TB size of 38.214 §5.1.3.2 (Sionna's ``calculate_tb_size``). The codec file is the largest
quality whose whole file fits the TB (its length is known to the receiver: signalled out of
band); the file's bits, zero-padded to the TB, are encoded by Sionna's ``TBEncoder``, mapped
to QAM, sent through the semjscc channel at the SNR per complex symbol (Es = 1), and
decoded by ``TBDecoder`` (20 belief-propagation iterations) from the soft demapper's LLRs.

Receiver (our design): coherent detection with perfect CSI. Whatever the channel's
equaliser, the received symbols are brought to x + n/h and demapped with the noise variance
σ²/|h|² (for block fading one h per image, as DeepJSCC sees). Decode-and-forward relays:
each hop re-encodes the decoded TB with the same MCS; an image is lost when any hop's TB CRC
fails. A lost image, or one whose smallest file exceeds the TB, is received as mid-gray (a
receiver with no bits) and counted in ``n_lost``.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..channels import AWGN, Channel, ChannelOutput, complex_to_real, real_to_complex
from ..errors import ConfigError
from .separation import code_to_budget, decode_file, require_codec

MCS_TABLE = 1  # 38.214 table 5.1.3.1-1 (up to 64-QAM)
MAX_MCS = 28  # indices 0..28 of table 1 carry data
MIN_MCS = 3  # Sionna's 5G LDPC encoder takes rates >= 1/5: table 1's MCS 0-2 (R < 0.2) are out
BLER_TARGET = 0.1  # adaptive MCS: the highest index whose table BLER stays at or below this
LDPC_ITERATIONS = 20
METHOD_PREFIX = "digital-"


@dataclass(frozen=True)
class TransportBlock:
    """One MCS over ``k`` complex symbols: modulation order, target rate, coded bits, the TB
    size (information bits, CRC excluded) and the LDPC code-block size and count."""

    mcs: int
    k: int
    modulation_order: int
    code_rate: float
    tb_bits: int
    cb_size: int
    num_cb: int

    @property
    def coded_bits(self) -> int:
        return self.k * self.modulation_order


@functools.lru_cache(maxsize=None)
def transport_block(mcs: int, k: int) -> TransportBlock:
    """The TB of MCS ``mcs`` (table 1, PUSCH) over ``k`` complex symbols."""
    from sionna.phy.nr.utils import calculate_tb_size, decode_mcs_index

    if not MIN_MCS <= mcs <= MAX_MCS:
        raise ConfigError(f"mcs={mcs}: choose an MCS index {MIN_MCS}..{MAX_MCS} of 38.214 "
                          "table 1, or adaptive")
    qm, rate = decode_mcs_index(mcs, table_index=MCS_TABLE, is_pusch=True)
    qm, rate = int(qm), float(rate)
    tb, cb_size, num_cb, *_ = calculate_tb_size(modulation_order=qm, target_coderate=rate,
                                                num_coded_bits=k * qm)
    return TransportBlock(mcs, k, qm, rate, int(tb), int(cb_size), int(num_cb))


@functools.lru_cache(maxsize=1)
def _phy_abstraction() -> Any:
    from sionna.sys import PHYAbstraction

    return PHYAbstraction()


def table_bler(mcs: int, k: int, snr_db: float | Tensor) -> Tensor:
    """BLER of MCS ``mcs`` over ``k`` symbols at ``snr_db`` from Sionna's PUSCH table-1 BLER
    tables (AWGN, interpolated over code-block size and SNR): the link abstraction."""
    tb = transport_block(mcs, k)
    snr = torch.as_tensor(snr_db, dtype=torch.float32)
    bler = _phy_abstraction().get_bler(mcs, MCS_TABLE, 0, tb.cb_size, 10.0 ** (snr / 10.0))
    # a TB is lost when any of its code blocks is
    return 1.0 - (1.0 - bler.float().clamp(0, 1)) ** tb.num_cb


def adaptive_mcs(k: int, snr_db: float) -> int:
    """The highest MCS whose table BLER at ``snr_db`` is at most :data:`BLER_TARGET`
    (:data:`MIN_MCS` when none is: the most robust one). The transmitter knows the average
    SNR only (no CSI at the transmitter)."""
    ok = [m for m in range(MIN_MCS, MAX_MCS + 1)
          if float(table_bler(m, k, snr_db)) <= BLER_TARGET]
    return max(ok, default=MIN_MCS)


class TBLink:
    """Bit-true TB transmission of MCS ``mcs`` over ``k`` symbols of ``channel`` and
    ``hops`` decode-and-forward hops: ``link.send(bits, snr_db, generator) -> (bits, ok)``
    with bits (B, tb_bits) float in {0, 1} and ok (B,) bool (every hop's TB CRC passed)."""

    def __init__(self, mcs: int, k: int, channel: Channel | None = None, hops: int = 1) -> None:
        from sionna.phy.mapping import Demapper, Mapper
        from sionna.phy.nr import TBDecoder, TBEncoder

        self.tb = transport_block(mcs, k)
        self.channel, self.hops = channel if channel is not None else AWGN(), hops
        tb = self.tb
        self.encoder = TBEncoder(tb.tb_bits, tb.coded_bits, tb.code_rate, tb.modulation_order)
        self.decoder = TBDecoder(self.encoder, num_bp_iter=LDPC_ITERATIONS)
        self.mapper = Mapper("qam", tb.modulation_order)
        self.demapper = Demapper("app", "qam", tb.modulation_order)

    def send(self, bits: Tensor, snr_db: float,
             generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        ok = torch.ones(bits.shape[0], dtype=torch.bool)
        for _ in range(self.hops):
            symbols = self.mapper(self.encoder(bits))  # (B, k) complex, Es = 1
            z = complex_to_real(symbols.reshape(len(symbols), 1, 1, self.tb.k))
            y, noise_var = coherent(self.channel.transmit(z, snr_db, generator),
                                    self.channel.equalization)
            llr = self.demapper(y.reshape_as(symbols), noise_var.reshape(symbols.shape))
            bits, crc = self.decoder(llr)
            ok &= crc.reshape(-1).bool().cpu()
        return bits, ok


def coherent(out: ChannelOutput, equalization: str | None) -> tuple[Tensor, Tensor]:
    """The symbols brought to x + n/h and the noise variance σ²/|h|² per symbol, from the
    output of an equaliser ``equalization`` (None, "none", "zf" or "mmse") and its state;
    shapes (B, M/2, h, w) complex and real."""
    y = real_to_complex(out.y)
    h = out.h if out.h is not None else torch.ones(len(y), dtype=y.dtype, device=y.device)
    gain = (h.view(-1, 1, 1, 1) if h.dim() == 1 else h).expand_as(y)
    noise_var = out.noise_var.view(-1, 1, 1, 1).expand(y.shape)
    if equalization == "none":
        y = y / gain
    elif equalization == "mmse":  # y = conj(h)(hx + n)/(|h|² + σ²): undo the bias
        y = y * (gain.abs() ** 2 + noise_var) / gain.abs() ** 2
    return y, noise_var / gain.abs() ** 2


def _to_bits(data: bytes, length: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    return np.concatenate([bits, np.zeros(length - len(bits), np.uint8)])


class DigitalSystem:
    """``system(x, generator) -> x_hat`` for :func:`semjscc.evaluation.evaluate.evaluate_system`:
    ``codec`` + TB of MCS ``mcs`` (an index, or "adaptive": :func:`adaptive_mcs` at
    ``snr_db``) over ``k`` symbols of ``channel``, ``hops`` DF hops (see the module
    docstring). Records ``n_images``, ``n_lost`` (CRC failures and unreachable budgets),
    ``n_unreachable`` and the file sizes, cumulated over calls."""

    def __init__(self, codec: str, mcs: int | str, snr_db: float, k: int,
                 channel: Channel | None = None, hops: int = 1, workers: int = 2) -> None:
        self.spec = require_codec(codec)
        self.adaptive = mcs == "adaptive"
        index = adaptive_mcs(k, snr_db) if self.adaptive else int(mcs)
        self.link = TBLink(index, k, channel, hops)
        self.snr_db, self.workers = float(snr_db), workers
        self.n_images = self.n_lost = self.n_unreachable = 0
        self.used_bits: list[int] = []

    @property
    def tb(self) -> TransportBlock:
        return self.link.tb

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        images = (x.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
        images_np = images.permute(0, 2, 3, 1).cpu().numpy()
        with ThreadPoolExecutor(self.workers) as pool:  # the codecs release the GIL
            coded = list(pool.map(lambda a: code_to_budget(a, self.spec.name, self.tb.tb_bits),
                                  images_np))
        sent = [i for i, c in enumerate(coded) if not isinstance(c, int)]
        out = np.full(images_np.shape, 0.5, dtype=np.float32)
        if sent:
            bits = torch.from_numpy(np.stack([_to_bits(coded[i].data, self.tb.tb_bits)
                                              for i in sent])).float()
            received, ok = self.link.send(bits, self.snr_db, generator)
            received = received.round().to(torch.uint8).cpu().numpy()
            for j, i in enumerate(sent):
                self.used_bits.append(coded[i].bits)
                if ok[j]:
                    data = np.packbits(received[j][: coded[i].bits]).tobytes()
                    out[i] = decode_file(data).astype(np.float32) / 255.0
        self.n_images += len(coded)
        self.n_unreachable += len(coded) - len(sent)
        self.n_lost += len(coded) - len(sent) + (int((~ok).sum()) if sent else 0)
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(device=x.device, dtype=x.dtype)

    def row_fields(self) -> dict[str, Any]:
        """Result-row fields of this setting (metrics come from the metric suites): ``bler``
        is the measured share of lost images (CRC failures and unreachable budgets)."""
        return {
            "method": f"{METHOD_PREFIX}{self.spec.name}-"
                      + ("adaptive" if self.adaptive else f"mcs{self.tb.mcs}"),
            "protocol": "digital", "codec": self.spec.name,
            "mcs": "adaptive" if self.adaptive else self.tb.mcs, "mcs_index": self.tb.mcs,
            "tb_bits": self.tb.tb_bits, "snr_db": self.snr_db, "k": self.tb.k,
            "bler": self.n_lost / self.n_images if self.n_images else None,
            "n_lost": self.n_lost, "n_unreachable": self.n_unreachable,
            "budget_bits": self.tb.tb_bits,
            "used_bits": float(np.mean(self.used_bits)) if self.used_bits else None,
            **self.link.channel.describe(),
        }
