"""Fading channels: gain statistics, the SNR convention, equalisers, the registry and config."""

from __future__ import annotations

import math

import pytest
import torch

from semjscc.channels import (
    AWGN,
    Rayleigh,
    Rician,
    build_channel,
    power_normalize,
    rayleigh,
    real_to_complex,
    rician,
    sample_gains,
)
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
