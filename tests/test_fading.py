"""Fading channels: gain statistics, the SNR convention, equalisers, the registry and config."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from scipy import integrate, special, stats

from semjscc.channels import (
    AWGN,
    FadingChannel,
    Rayleigh,
    Rician,
    build_channel,
    power_normalize,
    rayleigh,
    real_to_complex,
    rician,
    sample_gains,
)
from semjscc.channels.fading import apply_fading
from semjscc.channels.functional import as_shape
from semjscc.config import ConfigError
from semjscc.registry import CHANNELS


def gains(k_factor: float, n: int = 400_000, seed: int = 0) -> torch.Tensor:
    return sample_gains((n,), k_factor, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("k_factor", [0.0, 0.5, 3.0, 100.0])
def test_unit_mean_gain_power(k_factor: float) -> None:
    assert (gains(k_factor).abs() ** 2).mean().item() == pytest.approx(1.0, abs=0.01)


def test_rayleigh_power_is_exponential() -> None:
    power = gains(0.0).abs() ** 2
    for t in (0.1, 0.5, 1.0, 2.0):
        assert (power < t).float().mean().item() == pytest.approx(1 - math.exp(-t), abs=0.005)
    phase = gains(0.0).angle()
    assert phase.mean().item() == pytest.approx(0.0, abs=0.02)  # uniform on (−π, π]


@pytest.mark.parametrize("k_factor", [1.0, 10.0, 100.0])
def test_rician_k_factor_recovered_from_samples(k_factor: float) -> None:
    """Moment estimator: with G = |h|², γ = Var G / (E G)² = (1 + 2K) / (1 + K)², so
    K = sqrt(1 − γ) / (1 − sqrt(1 − γ))."""
    power = gains(k_factor, seed=1).abs().double() ** 2
    gamma = power.var() / power.mean() ** 2
    root = torch.sqrt(1 - gamma)
    estimate = (root / (1 - root)).item()
    assert estimate == pytest.approx(k_factor, rel=0.05)


@pytest.mark.parametrize("channel", [Rayleigh(equalization="none"),
                                     Rician(k_factor=3.0, equalization="none")])
@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0])
def test_measured_snr_after_the_channel_matches_the_target(channel, snr_db: float) -> None:
    """Average received signal power over average noise power, E|h·s|² / σ², over many
    images (each with its own gain) equals the nominal SNR."""
    g = torch.Generator().manual_seed(2)
    z = power_normalize(torch.randn(32768, 8, 2, 2, generator=g))
    y, h, noise_var = channel(z, snr_db, generator=g, return_state=True)
    received = h.view(-1, 1, 1, 1) * real_to_complex(z)
    noise = real_to_complex(y) - received
    measured = 10 * math.log10(received.abs().pow(2).mean() / noise.abs().pow(2).mean())
    assert measured == pytest.approx(snr_db, abs=0.1)
    torch.testing.assert_close(noise_var, torch.full((32768,), 10 ** (-snr_db / 10)))


@pytest.mark.parametrize("fn", [lambda z, **kw: rayleigh(z, math.inf, **kw),
                                lambda z, **kw: rician(z, math.inf, k_factor=5.0, **kw)])
def test_zero_forcing_on_a_noiseless_channel_returns_the_input(fn) -> None:
    z = power_normalize(torch.randn(6, 8, 4, 4))
    out = fn(z, equalization="zf", generator=torch.Generator().manual_seed(0))
    assert out.y.shape == z.shape and out.y.dtype == z.dtype
    assert (out.y - z).abs().max().item() < 1e-5
    assert torch.equal(out.noise_var, torch.zeros(6))
    # without equalisation the decoder sees the rotated, scaled symbols h·s
    blind = fn(z, equalization="none", generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(real_to_complex(blind.y),
                               blind.h.view(-1, 1, 1, 1) * real_to_complex(z))


def test_mmse_shrinks_towards_zero_at_low_snr_and_matches_zf_at_high_snr() -> None:
    z = power_normalize(torch.randn(64, 8, 4, 4))
    high = [fn(z, 40.0, equalization=eq, generator=torch.Generator().manual_seed(3)).y
            for fn in (rayleigh,) for eq in ("zf", "mmse")]
    assert (high[0] - high[1]).abs().mean() < 0.01
    low_zf = rayleigh(z, -10.0, equalization="zf", generator=torch.Generator().manual_seed(3)).y
    low_mmse = rayleigh(z, -10.0, equalization="mmse",
                        generator=torch.Generator().manual_seed(3)).y
    assert low_mmse.pow(2).mean() < low_zf.pow(2).mean()


# σ² = 10^(−SNR/10) per complex symbol, written out by hand
NOISE_VAR = {-5.0: 3.1622776601683795, 0.0: 1.0, 10.0: 0.1, 20.0: 0.01}


@pytest.mark.parametrize("snr_db", sorted(NOISE_VAR))
def test_mmse_output_is_the_hand_computed_wiener_gain_times_the_received_symbols(
        snr_db: float) -> None:
    """y = w·r with w = h* / (|h|² + σ²) for three fixed gains (|h|² = 1, 0.25, 4): the
    received r = h·s + n is the ``none`` output of the same noise draw. Zero forcing
    (w = 1/h) misses by the factor |h|² / (|h|² + σ²), 4 % at 20 dB for |h|² = 0.25."""
    z = power_normalize(torch.randn(3, 8, 2, 2, generator=torch.Generator().manual_seed(0)))
    gains = [0.6 + 0.8j, 0.3 - 0.4j, 2j]
    h = torch.tensor(gains, dtype=torch.complex64)
    r = real_to_complex(apply_fading(z, h, snr_db, "none", torch.Generator().manual_seed(1)).y)
    out = apply_fading(z, h, snr_db, "mmse", torch.Generator().manual_seed(1))
    torch.testing.assert_close(out.noise_var, torch.full((3,), NOISE_VAR[snr_db]))
    y = real_to_complex(out.y)
    for b, gain in enumerate(gains):
        w = gain.conjugate() / (abs(gain) ** 2 + NOISE_VAR[snr_db])
        torch.testing.assert_close(y[b], w * r[b], rtol=1e-5, atol=1e-6)
    # the same through a channel module, per-symbol gains drawn by the channel
    noisy, mmse = (Rician(3.0, eq, block=False)(z, snr_db, generator=torch.Generator()
                                                .manual_seed(2), return_state=True)
                   for eq in ("none", "mmse"))
    torch.testing.assert_close(mmse.h, noisy.h, rtol=0, atol=0)
    w = noisy.h.conj() / (noisy.h.abs() ** 2 + NOISE_VAR[snr_db])
    torch.testing.assert_close(real_to_complex(mmse.y), w * real_to_complex(noisy.y),
                               rtol=1e-5, atol=1e-6)


def rician_phase_cdf(k_factor: float) -> Callable[[np.ndarray], np.ndarray]:
    """CDF on (−π, π] of the phase θ of a + CN(0, 2σ²) around its line-of-sight phase, with
    K = a²/(2σ²): p(θ) = e^{−K}/(2π) + √(πK)·cos θ·e^{−K sin²θ}·(1 + erf(√K cos θ))/(2π)."""
    theta = np.linspace(-np.pi, np.pi, 200_001)
    cos = np.cos(theta)
    pdf = (np.exp(-k_factor) + np.sqrt(np.pi * k_factor) * cos
           * np.exp(-k_factor * np.sin(theta) ** 2) * special.erfc(-np.sqrt(k_factor) * cos))
    cdf = integrate.cumulative_trapezoid(pdf / (2 * np.pi), theta, initial=0.0)
    assert cdf[-1] == pytest.approx(1.0, abs=1e-6)
    return lambda x: np.interp(x, theta, cdf)


@pytest.mark.parametrize("k_factor", [0.0, 1.0, 10.0, 100.0])
def test_rician_phase_follows_the_rician_phase_law(k_factor: float) -> None:
    """Kolmogorov–Smirnov on 20,000 gains: arg h is uniform (the line-of-sight phase φ is
    uniform), and arg(h·e^{−jφ}), with φ replayed from the generator in the documented draw
    order, follows the Rician phase law of K (spread ≈ 1/√(2K) rad at large K; uniform at
    K = 0). A missing or fixed LOS, a wrong K or scatter power fail one of the two."""
    n = 20_000
    h = sample_gains((n,), k_factor, torch.Generator().manual_seed(7))
    assert stats.kstest(h.angle().double().numpy(), stats.uniform(-np.pi, 2 * np.pi).cdf) \
        .pvalue > 1e-3
    replay = torch.Generator().manual_seed(7)
    torch.randn((2, n), generator=replay)
    phi = torch.rand(n, generator=replay) * (2 * math.pi) if k_factor else torch.zeros(n)
    relative = (h * torch.polar(torch.ones(n), -phi)).angle().double().numpy()
    assert stats.kstest(relative, rician_phase_cdf(k_factor)).pvalue > 1e-3
    if k_factor == 100.0:
        assert relative.std() == pytest.approx(1 / math.sqrt(2 * k_factor), rel=0.05)


def test_one_gain_per_image_by_default_or_per_symbol() -> None:
    z = power_normalize(torch.randn(3, 8, 4, 4))
    block = Rician(k_factor=1.0)(z, 0.0, generator=torch.Generator().manual_seed(0),
                                 return_state=True)
    assert block.h.shape == (3,) and block.h.dtype == torch.complex64
    fast = Rician(k_factor=1.0, block=False)(z, 0.0, generator=torch.Generator().manual_seed(0),
                                             return_state=True)
    assert fast.h.shape == (3, 4, 4, 4)


def test_generator_makes_draws_reproducible() -> None:
    z = power_normalize(torch.randn(2, 4, 2, 2))
    a = Rayleigh()(z, 0.0, generator=torch.Generator().manual_seed(5))
    b = Rayleigh()(z, 0.0, generator=torch.Generator().manual_seed(5))
    c = Rayleigh()(z, 0.0, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_awgn_module_equals_functional_and_reports_unit_gains() -> None:
    from semjscc.channels import awgn

    z = power_normalize(torch.randn(2, 4, 2, 2))
    out = AWGN()(z, 3.0, generator=torch.Generator().manual_seed(1), return_state=True)
    assert torch.equal(out.y, awgn(z, 3.0, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(out.h, torch.ones(2, dtype=torch.complex64))


def test_registry_config_and_labels() -> None:
    assert {"awgn", "rayleigh", "rician"} <= set(CHANNELS.names())
    assert isinstance(build_channel(None), AWGN)
    rice = build_channel({"name": "rician", "k_factor": 100, "equalization": "zf"})
    assert isinstance(rice, Rician) and rice.k_factor == 100.0
    assert rice.label == "rician_k100_zf" and build_channel({"name": "rayleigh"}).label == \
        "rayleigh_zf"
    assert rice.describe() == {"channel": "rician", "equalization": "zf", "k_factor": 100.0}
    with pytest.raises(ConfigError, match="unknown channel 'ricean'; choose one of: awgn"):
        build_channel({"name": "ricean"})
    with pytest.raises(ConfigError, match="rayleigh' has no option k_factor"):
        build_channel({"name": "rayleigh", "k_factor": 3})
    with pytest.raises(ConfigError, match="equalization='perfect'"):
        build_channel({"name": "rician", "equalization": "perfect"})
    with pytest.raises(ConfigError, match="k_factor=-1"):
        build_channel({"name": "rician", "k_factor": -1})


def reference_fading(z: torch.Tensor, snr_db: float, k_factor: float, equalization: str,
                     block: bool, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The Rayleigh/Rician channel by hand, in the draw order of finished runs: the scatter
    randn (2, *shape), the LOS phase rand (K > 0 only), then the real-packed noise randn."""
    g = torch.Generator().manual_seed(seed)
    b, m = z.shape[:2]
    shape = (b,) if block else (b, m // 2, *z.shape[2:])
    scatter = torch.randn((2, *shape), generator=g)
    h = torch.complex(scatter[0], scatter[1]) * math.sqrt(0.5 / (k_factor + 1.0))
    if k_factor > 0:
        phase = torch.rand(shape, generator=g) * (2 * math.pi)
        h = h + math.sqrt(k_factor / (k_factor + 1.0)) * torch.polar(torch.ones_like(phase), phase)
    noise_var = torch.pow(10.0, -torch.tensor(snr_db) / 10.0).expand(b)
    noise = torch.randn(z.shape, generator=g) * torch.sqrt(noise_var / 2.0).view(-1, 1, 1, 1)
    gain = h.view(-1, 1, 1, 1) if block else h
    r = (gain * torch.complex(z[:, : m // 2], z[:, m // 2:])
         + torch.complex(noise[:, : m // 2], noise[:, m // 2:]))
    if equalization == "zf":
        r = r / gain
    elif equalization == "mmse":
        r = gain.conj() * r / (gain.abs() ** 2 + noise_var.view(-1, 1, 1, 1))
    return torch.cat([r.real, r.imag], dim=1), h


@pytest.mark.parametrize("k_factor", [0.0, 3.0, 100.0])
@pytest.mark.parametrize("block", [True, False])
@pytest.mark.parametrize("equalization", ["none", "zf", "mmse"])
def test_rayleigh_and_rician_draws_are_bit_identical_to_the_reference(
        k_factor: float, block: bool, equalization: str) -> None:
    """Finished experiments must not change by one bit: same generator, same y and h."""
    z = power_normalize(torch.randn(5, 8, 3, 4, generator=torch.Generator().manual_seed(9)))
    y_ref, h_ref = reference_fading(z, 7.0, k_factor, equalization, block, seed=4)
    channel = (Rician(k_factor, equalization, block) if k_factor
               else Rayleigh(equalization, block))
    out = channel(z, 7.0, generator=torch.Generator().manual_seed(4), return_state=True)
    assert torch.equal(out.y, y_ref) and torch.equal(out.h, h_ref)
    fn = (rician(z, 7.0, k_factor, equalization, block, torch.Generator().manual_seed(4))
          if k_factor else rayleigh(z, 7.0, equalization, block, torch.Generator().manual_seed(4)))
    assert torch.equal(fn.y, y_ref) and torch.equal(fn.h, h_ref)


@pytest.mark.parametrize("channel", [Rayleigh(), Rician(k_factor=3.0)])
def test_gain_hook_takes_an_int_or_a_shape_and_matches_the_module_function(channel) -> None:
    k_factor = getattr(channel, "k_factor", 0.0)
    ref = sample_gains((7,), k_factor, torch.Generator().manual_seed(3))
    assert torch.equal(channel.sample_gains(7, torch.Generator().manual_seed(3)), ref)
    assert torch.equal(channel.sample_gains((7,), torch.Generator().manual_seed(3)), ref)
    assert channel.sample_gains((2, 3, 4)).shape == (2, 3, 4)


def test_awgn_gains_are_ones_and_draw_nothing() -> None:
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    assert torch.equal(AWGN().sample_gains(3, g), torch.ones(3, dtype=torch.complex64))
    assert AWGN().sample_gains((2, 5), g).shape == (2, 5)
    assert torch.equal(g.get_state(), state)


@pytest.mark.parametrize("name", CHANNELS.names())
def test_every_registered_channel_draws_unit_power_complex64_gains(name: str) -> None:
    h = build_channel({"name": name}).sample_gains(200_000, torch.Generator().manual_seed(1))
    assert h.shape == (200_000,) and h.dtype == torch.complex64
    assert (h.abs() ** 2).mean().item() == pytest.approx(1.0, abs=0.015)


class _Fixed(FadingChannel):
    """A fading law of constant gain 2j, recording the shapes it was asked for."""

    name = "fixed"

    def __init__(self, block: bool) -> None:
        super().__init__("none", block)
        self.shapes: list[tuple[int, ...]] = []

    def sample_gains(self, shape, generator=None, device="cpu") -> torch.Tensor:
        self.shapes.append(as_shape(shape))
        return torch.full(as_shape(shape), 2j, dtype=torch.complex64, device=device)


@pytest.mark.parametrize("block", [True, False])
def test_transmit_draws_its_gains_through_the_sample_gains_hook(block: bool) -> None:
    z = power_normalize(torch.randn(3, 8, 2, 5))
    channel = _Fixed(block)
    out = channel(z, math.inf, return_state=True)
    assert channel.shapes == [(3,) if block else (3, 4, 2, 5)]
    torch.testing.assert_close(real_to_complex(out.y), 2j * real_to_complex(z))
    assert channel.label == "fixed_none"
    assert channel.describe() == {"channel": "fixed", "equalization": "none", "k_factor": None}
