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
σ²/|h|² (for block fading one h per image, as DeepJSCC sees). Over a channel with its own
receiver (``ofdm``: LS or perfect CSI, then LMMSE) the demapper takes that receiver's unbiased
symbols and its post-equalisation noise variance, per resource element. Decode-and-forward relays:
each hop re-encodes the decoded TB with the same MCS; an image is lost when any hop's TB CRC
fails. A lost image, or one whose smallest file exceeds the TB, is received as mid-gray (a
receiver with no bits) and counted in ``n_lost``.

Two links: bit-true (:class:`TBLink`, Sionna's encoder, channel and decoder) and the link
abstraction (:class:`AbstractLink`: a TB is lost with Sionna's tabulated AWGN BLER at its
effective SNR) for grids too large to simulate bit by bit on a CPU; tests/test_digital.py
checks one against the other.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..channels import AWGN, OFDM, Channel, ChannelOutput, complex_to_real, real_to_complex
from ..config import DigitalConfig
from ..errors import ConfigError
from .separation import code_to_budget, decode_file, require_codec

MCS_TABLE = 1  # 38.214 table 5.1.3.1-1 (up to 64-QAM)
MAX_MCS = 28  # indices 0..28 of table 1 carry data
MIN_MCS = 3  # Sionna's 5G LDPC encoder takes rates >= 1/5: table 1's MCS 0-2 (R < 0.2) are out
BLER_TARGET = 0.1  # adaptive MCS: the highest index whose table BLER stays at or below this
# ... at the SNR less this back-off: the tables sit up to ~0.6 dB left of our bit-true chain
# (MCS 12, k = 1,024: table BLER 9 % at 4.5 dB, bit-true 94 %; tests check ±1 dB)
ADAPTIVE_BACKOFF_DB = 1.0
# The link abstraction's calibration against our bit-true chain, per modulation order: the
# tables' 10 % BLER crossing sits this much left of the bit-true one (measured, 150 TBs per
# point: QPSK MCS 5 / k 2,048 +0.85 dB and MCS 9 / k 1,024 +0.66; 16-QAM MCS 12 / k 1,024
# +0.80 and MCS 16 / k 512 +0.86; 64-QAM MCS 20 / k 1,024 -0.14)
ABSTRACTION_OFFSET_DB = {2: 0.75, 4: 0.85, 6: -0.15}
LDPC_ITERATIONS = 20
METHOD_PREFIX = "digital-"
DIGITAL_NOTE = ("5G NR TB + QAM (Sionna), MCS of 38.214 table 1; a TB CRC failure, or a file "
                "larger than the TB, loses the image: received as mid-gray, scored as such")


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
    """The highest MCS whose table BLER at ``snr_db`` - :data:`ADAPTIVE_BACKOFF_DB` is at
    most :data:`BLER_TARGET` (:data:`MIN_MCS` when none is: the most robust one). The
    transmitter knows the average SNR only (no CSI at the transmitter)."""
    ok = [m for m in range(MIN_MCS, MAX_MCS + 1)
          if float(table_bler(m, k, snr_db - ADAPTIVE_BACKOFF_DB)) <= BLER_TARGET]
    return max(ok, default=MIN_MCS)


def check_digital(cfg: DigitalConfig, ks: list[int], channel: Channel) -> None:
    """Refuse, before any work, a ``digital`` section this experiment cannot run: an unknown
    codec, an MCS that has no TB over one of the channel-use budgets ``ks``, or the link
    abstraction over fast fading."""
    for codec in cfg.codecs:
        require_codec(codec)
    for k in ks if cfg.codecs else []:
        for mcs in cfg.mcs:
            if mcs != "adaptive":
                transport_block(mcs, k)
    if cfg.codecs and cfg.link == "abstraction":
        check_abstraction(channel)


def _cpu_generator(generator: torch.Generator | None) -> torch.Generator | None:
    """A CPU generator seeded from ``generator`` (on any device): the chain runs on the CPU."""
    if generator is None:
        return None
    seed = torch.randint(2**62, (1,), generator=generator, device=generator.device)
    return torch.Generator().manual_seed(int(seed))


class TBLink:
    """Bit-true TB transmission of MCS ``mcs`` over ``k`` symbols of ``channel`` and
    ``hops`` decode-and-forward hops: ``link.send(bits, snr_db, generator) -> (bits, ok)``
    with bits (B, tb_bits) float in {0, 1} and ok (B, hops) bool, ``ok[:, j]``: every hop up
    to j + 1 passed its TB CRC. A TB lost at one hop is not sent on (its bits stay those of
    its last good hop), so ``ok[:, j]`` is also the outcome of a j-relay chain."""

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

    def hop(self, bits: Tensor, snr_db: float,
            generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """One hop of (B, tb_bits) bits: the decoded bits and the (B,) CRC results."""
        symbols = self.mapper(self.encoder(bits))  # (B, k) complex, Es = 1
        z = complex_to_real(symbols.reshape(len(symbols), 1, 1, self.tb.k))
        y, noise_var = coherent(self.channel.transmit(z, snr_db, generator),
                                self.channel.equalization)
        llr = self.demapper(y.reshape_as(symbols), noise_var.reshape(symbols.shape))
        decoded, crc = self.decoder(llr)
        return decoded, crc.reshape(-1).bool().cpu()

    def send(self, bits: Tensor, snr_db: float,
             generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        bits = bits.clone()
        ok = torch.zeros(len(bits), self.hops, dtype=torch.bool)
        alive = torch.ones(len(bits), dtype=torch.bool)
        for j in range(self.hops):
            index = alive.nonzero().flatten()
            if len(index):
                decoded, crc = self.hop(bits[index], snr_db, generator)
                bits[index[crc]] = decoded[crc].to(bits.dtype).cpu()
                alive[index[~crc]] = False
            ok[:, j] = alive
        return bits, ok


def abstract_bler(mcs: int, k: int, snr_db: float | Tensor) -> Tensor:
    """The link abstraction's BLER: :func:`table_bler` calibrated to our bit-true chain
    (shifted right by :data:`ABSTRACTION_OFFSET_DB` of the MCS's modulation order)."""
    offset = ABSTRACTION_OFFSET_DB[transport_block(mcs, k).modulation_order]
    return table_bler(mcs, k, torch.as_tensor(snr_db, dtype=torch.float32) - offset)


class AbstractLink:
    """The link abstraction of :class:`TBLink` (same interface): each hop's TB is lost with
    the calibrated table BLER (:func:`abstract_bler`) at the hop's effective SNR, SNR·|h|²
    for the block gain h the channel draws (perfect CSI, as the bit-true receiver), and
    delivered intact otherwise. AWGN and block fading only (a TB under fast fading has no
    single SNR)."""

    def __init__(self, mcs: int, k: int, channel: Channel | None = None, hops: int = 1) -> None:
        self.tb = transport_block(mcs, k)
        self.channel, self.hops = channel if channel is not None else AWGN(), hops
        check_abstraction(self.channel)

    def send(self, bits: Tensor, snr_db: float,
             generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        ok = torch.zeros(len(bits), self.hops, dtype=torch.bool)
        alive = torch.ones(len(bits), dtype=torch.bool)
        for j in range(self.hops):
            gain = self.channel.sample_gains(len(bits), generator).abs() ** 2
            snr = snr_db + 10 * torch.log10(gain.clamp_min(1e-12))
            bler = abstract_bler(self.tb.mcs, self.tb.k, snr)
            alive &= torch.rand(len(bits), generator=generator) >= bler
            ok[:, j] = alive
        return bits, ok


LINKS = {"bit-true": TBLink, "abstraction": AbstractLink}


def check_abstraction(channel: Channel) -> None:
    """Refuse a channel the link abstraction cannot model (fast fading, OFDM)."""
    if not getattr(channel, "block", True) or isinstance(channel, OFDM):
        fast = " with block=false" if not getattr(channel, "block", True) else ""
        raise ConfigError(f"digital.link=abstraction needs AWGN or block fading, not "
                          f"{channel.label}{fast}; use digital.link=bit-true")


def coherent(out: ChannelOutput, equalization: str | None) -> tuple[Tensor, Tensor]:
    """The symbols brought to x + n/h and the noise variance σ²/|h|² per symbol, from the
    output of an equaliser ``equalization`` (None, "none", "zf" or "mmse") and its state;
    shapes (B, M/2, h, w) complex and real. A channel that reports a noise variance per
    symbol (OFDM) has equalised to unbiased symbols already: y and that variance as they are."""
    y = real_to_complex(out.y)
    if out.noise_var.shape == y.shape:
        return y, out.noise_var
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
    ``snr_db``) over ``k`` symbols of ``channel``, ``hops`` DF hops, simulated bit by bit
    (``link="bit-true"``) or by the link abstraction (``"abstraction"``); see the module
    docstring. :meth:`outputs` gives the image after every hop (hop j: a chain of j - 1
    relays). Counts ``n_images``, ``n_unreachable`` and, per hop, ``n_lost`` (CRC failures
    and unreachable budgets), cumulated over calls."""

    def __init__(self, codec: str, mcs: int | str, snr_db: float, k: int,
                 channel: Channel | None = None, hops: int = 1, workers: int = 2,
                 link: str = "bit-true") -> None:
        if link not in LINKS:
            raise ConfigError(f"digital.link={link!r}: choose {' or '.join(LINKS)}")
        self.spec = require_codec(codec)
        self.adaptive = mcs == "adaptive"
        index = adaptive_mcs(k, snr_db) if self.adaptive else int(mcs)
        self.link = LINKS[link](index, k, channel, hops)
        self.link_name = link
        self.snr_db, self.workers = float(snr_db), workers
        self.n_images = self.n_unreachable = 0
        self.n_lost_after = [0] * hops  # images lost by hop j + 1
        self.used_bits: list[int] = []

    @property
    def tb(self) -> TransportBlock:
        return self.link.tb

    @property
    def n_lost(self) -> int:
        """Images lost over the whole chain."""
        return self.n_lost_after[-1]

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.outputs(x, generator)[-1]

    def outputs(self, x: Tensor, generator: torch.Generator | None = None) -> list[Tensor]:
        """(B, 3, H, W) in [0, 1] -> the received images after hop 1, ..., hop ``hops``."""
        images = (x.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
        images_np = images.permute(0, 2, 3, 1).cpu().numpy()
        with ThreadPoolExecutor(self.workers) as pool:  # the codecs release the GIL
            coded = list(pool.map(lambda a: code_to_budget(a, self.spec.name, self.tb.tb_bits),
                                  images_np))
        sent = [i for i, c in enumerate(coded) if not isinstance(c, int)]
        decoded = np.full(images_np.shape, 0.5, dtype=np.float32)
        ok = torch.zeros(len(coded), self.link.hops, dtype=torch.bool)
        if sent:
            bits = torch.from_numpy(np.stack([_to_bits(coded[i].data, self.tb.tb_bits)
                                              for i in sent])).float()
            received, ok[sent] = self.link.send(bits, self.snr_db, _cpu_generator(generator))
            received = received.round().to(torch.uint8).cpu().numpy()
            for j, i in enumerate(sent):
                self.used_bits.append(coded[i].bits)
                if ok[i, 0]:  # the bits of the last hop passed
                    data = np.packbits(received[j][: coded[i].bits]).tobytes()
                    decoded[i] = decode_file(data).astype(np.float32) / 255.0
        self.n_images += len(coded)
        self.n_unreachable += len(coded) - len(sent)
        for j in range(self.link.hops):
            self.n_lost_after[j] += int((~ok[:, j]).sum())
        decoded_t = torch.from_numpy(decoded).permute(0, 3, 1, 2)
        return [torch.where(ok[:, j].view(-1, 1, 1, 1), decoded_t, 0.5).to(
            device=x.device, dtype=x.dtype) for j in range(self.link.hops)]

    def row_fields(self, hops: int | None = None) -> dict[str, Any]:
        """Result-row fields of this setting after ``hops`` hops (default: all; metrics come
        from the metric suites): ``bler`` is the measured share of lost images (CRC
        failures and unreachable budgets)."""
        lost = self.n_lost_after[(hops or self.link.hops) - 1]
        return {
            "method": f"{METHOD_PREFIX}{self.spec.name}-"
                      + ("adaptive" if self.adaptive else f"mcs{self.tb.mcs}"),
            "protocol": "digital", "codec": self.spec.name,
            "mcs": "adaptive" if self.adaptive else self.tb.mcs, "mcs_index": self.tb.mcs,
            "tb_bits": self.tb.tb_bits, "snr_db": self.snr_db, "k": self.tb.k,
            "link": self.link_name,
            "bler": lost / self.n_images if self.n_images else None,
            "n_lost": lost, "n_unreachable": self.n_unreachable,
            "budget_bits": self.tb.tb_bits,
            "used_bits": float(np.mean(self.used_bits)) if self.used_bits else None,
            **self.link.channel.describe(),
        }
