"""OFDM over 3GPP multipath channels, built from Sionna's blocks (``sionna.phy.ofdm``,
``sionna.phy.channel``): resource grid with Kronecker pilots, TDL/CDL channel in the
frequency domain, LS or perfect channel estimation, LMMSE equalisation.

Mapping. The k complex symbols of an image (channel-major, as :func:`real_to_complex`
flattens them) fill the data resource elements (REs) of ``ceil(k / D)`` resource grids
(slots) of D data REs each, in Sionna's ``ResourceGridMapper`` order; the last grid's unused
data REs carry zeros (they are not counted as channel uses). Every slot sees its own channel
realisation, drawn independently.

Channel uses. Like the flat channels, the image uses k data symbols; the pilots come on top:
``pilot_overhead`` = P / D, P pilot REs per slot, so an image takes k·(1 + pilot_overhead)
channel uses (plus the padding of its last slot) and the bandwidth ratio including pilots is
(1 + pilot_overhead) times the model's.

SNR. Per data symbol at the receiver input: E|s|² = 1 (data and the unit-energy QPSK pilots),
E|h|² = 1 (Sionna's TDL/CDL power delay profiles have unit total power and are not
renormalised per slot), noise CN(0, σ²) on every RE with σ² = 10^(−SNR/10).

Receiver. ``csi: ls``: Sionna's ``LSChannelEstimator`` on the pilots, linearly interpolated
across subcarriers, then across OFDM symbols (``interpolation: lin``; ``nn`` and
``lin_time_avg`` are Sionna's others); ``csi: perfect``: the true frequency response, no
estimation error. Then Sionna's ``LMMSEEqualizer`` (one stream, one receive antenna: no
interference to whiten), whose output is unbiased,
x̂ = s + e with e of variance ``no_eff`` per RE: the channel returns x̂ (real-packed) and, in
:class:`ChannelOutput`, the true gain h and ``no_eff`` per data symbol, both (B, M/2, h, w).

Channel. Sionna's ``ApplyOFDMChannel`` multiplies each RE by its frequency response (the
cyclic prefix is assumed to cover the channel's delays: no inter-symbol interference); the
noise is drawn here, from the call's generator.

Channel bank. ``bank_size`` slot responses (num_ofdm_symbols × fft_size each) are drawn once
per option set (cached per process) from Sionna's model, with Sionna's random generator
seeded by ``bank_seed`` and restored afterwards; every call picks one per slot with
``torch.randint`` from the call's ``generator``, then draws the noise from it: all
randomness of a call comes from ``generator``. ``model: awgn`` is the flat sanity path
(h = 1 on every RE).

Defaults: 72 subcarriers at 30 kHz (6 resource blocks), 14 OFDM symbols, cyclic prefix of 6
samples (it sets the OFDM symbol duration the channel is sampled at; the frequency-domain
channel assumes it covers the delay spread), Kronecker pilots on OFDM symbols 2 and 11
(P = 144, D = 864, overhead 1/6), TDL-C, 300 ns delay spread, 3.5 GHz, 3 m/s, LS.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError
from ..registry import CHANNELS
from .awgn import complex_noise
from .base import Channel, ChannelOutput
from .functional import as_batch_snr, complex_to_real, real_to_complex, snr_db_to_noise_var

MODELS = ("tdl-a", "tdl-b", "tdl-c", "tdl-d", "tdl-e",
          "cdl-a", "cdl-b", "cdl-c", "cdl-d", "cdl-e", "awgn")
CSI = ("ls", "perfect")
INTERPOLATIONS = ("lin", "nn", "lin_time_avg")
BANK_BATCH = 256  # bank realisations drawn per call of the Sionna model


@contextmanager
def sionna_seed(seed: int, device: str = "cpu") -> Iterator[None]:
    """Seed Sionna's random generator on ``device`` for the block, then restore its state."""
    from sionna.phy import config

    rng = config.torch_rng(device)
    state = rng.get_state()
    rng.manual_seed(seed)
    try:
        yield
    finally:
        rng.set_state(state)


def _channel_model(model: str, delay_spread_ns: float, carrier_frequency_ghz: float,
                   speed_mps: float) -> Any:
    """Sionna's TDL or CDL model (one antenna at either end, CDL downlink) on the CPU."""
    from sionna.phy.channel.tr38901 import CDL, TDL, PanelArray

    family, letter = model.split("-")
    fc, ds = carrier_frequency_ghz * 1e9, delay_spread_ns * 1e-9
    if family == "tdl":
        return TDL(letter.upper(), ds, fc, min_speed=speed_mps, max_speed=speed_mps,
                   device="cpu")
    array = PanelArray(num_rows_per_panel=1, num_cols_per_panel=1, polarization="single",
                       polarization_type="V", antenna_pattern="omni", carrier_frequency=fc,
                       device="cpu")
    return CDL(letter.upper(), ds, fc, array, array, "downlink", min_speed=speed_mps,
               max_speed=speed_mps, device="cpu")


@functools.lru_cache(maxsize=8)
def _bank(key: tuple[Any, ...]) -> Tensor:
    """(bank_size, num_ofdm_symbols, fft_size) complex64 slot responses of an
    :meth:`OFDM._bank_key`, E|h|² = 1: ``bank_size`` draws of Sionna's model, sampled at the
    OFDM symbol rate (cyclic prefix included), Sionna's generator seeded by ``bank_seed``."""
    (model, delay_spread_ns, carrier_frequency_ghz, speed_mps, fft_size, spacing_khz,
     num_symbols, cyclic_prefix, bank_size, bank_seed) = key
    shape = (bank_size, num_symbols, fft_size)
    if model == "awgn":
        return torch.ones(shape, dtype=torch.complex64)
    from sionna.phy.channel import cir_to_ofdm_channel, subcarrier_frequencies

    spacing = spacing_khz * 1e3
    symbol_duration = (1 + cyclic_prefix / fft_size) / spacing
    freqs = subcarrier_frequencies(fft_size, spacing, device="cpu")
    sionna_model, parts = _channel_model(model, delay_spread_ns, carrier_frequency_ghz,
                                         speed_mps), []
    with sionna_seed(bank_seed, "cpu"), torch.no_grad():
        for start in range(0, bank_size, BANK_BATCH):
            n = min(BANK_BATCH, bank_size - start)
            a, tau = sionna_model(n, num_symbols, 1.0 / symbol_duration)
            parts.append(cir_to_ofdm_channel(freqs, a, tau, normalize=False))
    return torch.cat(parts).reshape(shape).to(torch.complex64)


def _check(ok: bool, key: str, value: Any, fix: str) -> None:
    if not ok:
        raise ConfigError(f"link.channel.{key}={value!r}: {fix}")


@CHANNELS.register("ofdm")
class OFDM(Channel):
    """OFDM link over a 3GPP TDL/CDL channel (see the module docstring for the conventions).

    ``model``: ``tdl-a`` … ``tdl-e``, ``cdl-a`` … ``cdl-e`` or ``awgn``; ``speed_mps``: UE
    speed (Doppler at ``carrier_frequency``); ``pilot_symbols``: OFDM symbol indices of the
    Kronecker pilots; ``csi``: ``ls`` or ``perfect``.
    """

    name = "ofdm"
    equalization = "lmmse"
    param_columns: ClassVar[dict[str, str]] = {"tdl_model": "model", "speed_mps": "v",
                                                "csi": "csi", "pilot_overhead": "po"}

    def __init__(self, model: str = "tdl-c", delay_spread_ns: float = 300.0,
                 carrier_frequency_ghz: float = 3.5, speed_mps: float = 3.0,
                 csi: str = "ls", fft_size: int = 72, subcarrier_spacing_khz: float = 30.0,
                 num_ofdm_symbols: int = 14, pilot_symbols: tuple[int, ...] | list[int] = (2, 11),
                 cyclic_prefix: int = 6, interpolation: str = "lin", bank_size: int = 2048,
                 bank_seed: int = 0) -> None:
        super().__init__()
        _check(model in MODELS, "model", model, f"choose one of {', '.join(MODELS)}")
        _check(csi in CSI, "csi", csi, "choose ls or perfect")
        _check(interpolation in INTERPOLATIONS, "interpolation", interpolation,
               f"choose one of {', '.join(INTERPOLATIONS)}")
        _check(fft_size >= 1, "fft_size", fft_size, "give a positive number of subcarriers")
        _check(num_ofdm_symbols >= 2, "num_ofdm_symbols", num_ofdm_symbols, "give at least 2")
        pilots = sorted({int(i) for i in pilot_symbols})
        _check(bool(pilots) and all(0 <= i < num_ofdm_symbols for i in pilots)
               and len(pilots) < num_ofdm_symbols, "pilot_symbols", list(pilot_symbols),
               f"give distinct OFDM symbol indices in 0..{num_ofdm_symbols - 1}, at least "
               "one, leaving at least one data symbol")
        for key, value in (("delay_spread_ns", delay_spread_ns),
                           ("carrier_frequency_ghz", carrier_frequency_ghz),
                           ("subcarrier_spacing_khz", subcarrier_spacing_khz)):
            _check(math.isfinite(value) and value > 0, key, value, "give a positive number")
        _check(math.isfinite(speed_mps) and speed_mps >= 0, "speed_mps", speed_mps,
               "give a speed >= 0 in m/s")
        _check(cyclic_prefix >= 0, "cyclic_prefix", cyclic_prefix, "give a length >= 0")
        _check(bank_size >= 1, "bank_size", bank_size, "give at least one realisation")
        self.model, self.csi, self.interpolation = model, csi, interpolation
        self.delay_spread_ns, self.speed_mps = float(delay_spread_ns), float(speed_mps)
        self.carrier_frequency_ghz = float(carrier_frequency_ghz)
        self.fft_size, self.num_ofdm_symbols = int(fft_size), int(num_ofdm_symbols)
        self.subcarrier_spacing_khz = float(subcarrier_spacing_khz)
        self.cyclic_prefix = int(cyclic_prefix)
        self.pilot_symbols, self.bank_size, self.bank_seed = pilots, int(bank_size), bank_seed
        self.num_pilots = len(pilots) * self.fft_size
        self.num_data = (self.num_ofdm_symbols - len(pilots)) * self.fft_size
        self._blocks: dict[str, dict[str, Any]] = {}
        self.register_buffer("bank", _bank(self._bank_key()), persistent=False)

    @property
    def tdl_model(self) -> str:
        """The channel model, as the result column ``tdl_model`` (``tdl-c``, ``cdl-a``, …)."""
        return self.model

    @property
    def pilot_overhead(self) -> float:
        """Pilot REs per data RE, P / D."""
        return self.num_pilots / self.num_data

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "pilot_overhead": round(self.pilot_overhead, 6)}

    @property
    def label(self) -> str:
        """E.g. ``ofdm_tdl-c_v3_ls``."""
        return f"ofdm_{self.model}_v{self.speed_mps:g}_{self.csi}"

    def extra_repr(self) -> str:
        return (f"model={self.model}, speed_mps={self.speed_mps:g}, csi={self.csi}, "
                f"fft_size={self.fft_size}, num_ofdm_symbols={self.num_ofdm_symbols}, "
                f"pilot_symbols={self.pilot_symbols}, pilot_overhead={self.pilot_overhead:.4f}")

    def num_slots(self, k: int) -> int:
        """Resource grids needed for ``k`` data symbols."""
        return -(-k // self.num_data)

    def channel_uses(self, k: int) -> int:
        """REs an image of ``k`` data symbols occupies: its slots, pilots and padding."""
        return self.num_slots(k) * (self.num_data + self.num_pilots)

    def _resource_grid(self, device: str) -> Any:
        from sionna.phy.ofdm import ResourceGrid

        with sionna_seed(self.bank_seed, device):  # the Kronecker pilots are random QPSK
            return ResourceGrid(
                num_ofdm_symbols=self.num_ofdm_symbols, fft_size=self.fft_size,
                subcarrier_spacing=self.subcarrier_spacing_khz * 1e3,
                cyclic_prefix_length=self.cyclic_prefix, pilot_pattern="kronecker",
                pilot_ofdm_symbol_indices=self.pilot_symbols, precision="single", device=device)

    def _bank_key(self) -> tuple[Any, ...]:
        """What the bank depends on (the key of its cache)."""
        return (self.model, self.delay_spread_ns, self.carrier_frequency_ghz, self.speed_mps,
                self.fft_size, self.subcarrier_spacing_khz, self.num_ofdm_symbols,
                self.cyclic_prefix, self.bank_size, self.bank_seed)

    def blocks(self, device: torch.device) -> dict[str, Any]:
        """Sionna's mapper, estimator and equaliser on ``device``, built once per device."""
        if device.type == "cuda" and device.index is None:  # Sionna names devices cuda:<i>
            device = torch.device("cuda", torch.cuda.current_device())
        key = str(device)
        if key not in self._blocks:
            from sionna.phy.channel import ApplyOFDMChannel
            from sionna.phy.mimo import StreamManagement
            from sionna.phy.ofdm import LMMSEEqualizer, LSChannelEstimator, ResourceGridMapper

            grid = self._resource_grid(key)
            self._blocks[key] = {
                "grid": grid,
                "mapper": ResourceGridMapper(grid, device=key),
                "apply": ApplyOFDMChannel(device=key),  # noiseless: the noise is ours
                "estimator": LSChannelEstimator(grid, self.interpolation, device=key),
                "equalizer": LMMSEEqualizer(grid, StreamManagement(np.ones((1, 1), int), 1),
                                            whiten_interference=False, device=key),
                "data": grid.pilot_pattern.mask[0, 0].to(key).logical_not(),  # (S, F) bool
            }
        return self._blocks[key]

    def receive(self, s: Tensor, snr_db: Tensor | float,
                generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Slots of (B, k) complex data symbols through the channel: the received grids y
        (B·n, 1, 1, S, F), the true responses h (B·n, S, F) and the noise variance σ² (B·n,),
        n slots per image. Draws from ``generator``: the slot responses, then the noise."""
        batch, k = s.shape
        slots = self.num_slots(k)
        s = torch.nn.functional.pad(s, (0, slots * self.num_data - k))
        x = self.blocks(s.device)["mapper"](s.reshape(batch * slots, 1, 1, self.num_data))
        index = torch.randint(self.bank_size, (batch * slots,), generator=generator,
                              device=s.device)
        h = self.bank.to(s.device)[index]
        no = snr_db_to_noise_var(as_batch_snr(snr_db, batch, s.device)).repeat_interleave(slots)
        noise = complex_noise(torch.view_as_real(h).movedim(-1, 1), no, generator)  # shape only
        y = self.blocks(s.device)["apply"](x, h[:, None, None, None, None])  # (BS, 1, 1, S, F)
        return y + real_to_complex(noise)[:, None], h, no

    def estimate(self, y: Tensor, h: Tensor, no: Tensor) -> tuple[Tensor, Tensor]:
        """The receiver's channel estimate and its error variance, shaped as Sionna's
        equaliser takes them: LS from the pilots of y, or (``csi: perfect``) h itself."""
        if self.csi == "perfect":
            return h[:, None, None, None, None], torch.zeros((), device=h.device)
        # the pilot REs do not depend on the data: estimating from y.detach() keeps the
        # gradient exact and spares the backward pass the estimator
        return self.blocks(y.device)["estimator"](y.detach(), no)

    def transmit(self, z: Tensor, snr_db: Tensor | float,
                 generator: torch.Generator | None = None) -> ChannelOutput:
        """(B, M, h, w) real-packed symbols -> LMMSE output of the same shape; ``h`` the true
        gain and ``noise_var`` the post-equalisation noise variance per data symbol, both
        (B, M/2, h, w). Draws from ``generator``: the slot responses, then the noise."""
        zc = real_to_complex(z)
        batch, k = len(zc), zc[0].numel()
        y, h, no = self.receive(zc.flatten(1), snr_db, generator)
        blocks = self.blocks(z.device)
        x_hat, no_eff = blocks["equalizer"](y, *self.estimate(y, h, no), no)

        def per_symbol(t: Tensor) -> Tensor:  # slots' data REs -> (B, M/2, h, w)
            return t.reshape(batch, -1)[:, :k].reshape(zc.shape)

        gain = h[:, blocks["data"]]  # the mapper's (row-major) order of the data REs
        return ChannelOutput(complex_to_real(per_symbol(x_hat)).to(z.dtype), per_symbol(gain),
                             per_symbol(no_eff))
