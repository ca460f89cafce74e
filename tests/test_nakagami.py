"""Nakagami-m fading: the gain law (KS tests with shown power), reproducibility, the
equalised link end to end, config errors, labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from semjscc.channels import Nakagami, Rayleigh, build_channel, power_normalize, real_to_complex
from semjscc.config import ConfigError
from semjscc.registry import CHANNELS

N = 200_000


def gains(m: float, seed: int, n: int = N) -> torch.Tensor:
    return Nakagami(m).sample_gains(n, torch.Generator().manual_seed(seed))


def power(h: torch.Tensor) -> np.ndarray:
    return (h.abs().double() ** 2).numpy()


@pytest.mark.parametrize("m", [0.5, 1.0, 2.5, 6.0])
def test_gain_power_is_gamma_m_over_m_and_the_phase_uniform(m: float) -> None:
    h = gains(m, seed=int(10 * m))
    assert h.shape == (N,) and h.dtype == torch.complex64
    g = power(h)
    assert stats.kstest(g, "gamma", args=(m, 0, 1 / m)).pvalue > 1e-3
    # Var |h|² = 1/m: the mean is 1 within 4 standard errors
    assert abs(g.mean() - 1.0) < 4 * math.sqrt(1 / m / N)
    # power of the test: Gamma(m + 1) with the same unit mean is rejected
    assert stats.kstest(g, "gamma", args=(m + 1, 0, 1 / (m + 1))).pvalue < 1e-6
    phase = np.mod(h.angle().double().numpy(), 2 * math.pi)
    assert stats.kstest(phase, "uniform", args=(0, 2 * math.pi)).pvalue > 1e-3
    assert stats.kstest(phase, "uniform", args=(0, 1.9 * math.pi)).pvalue < 1e-6
    # amplitude and phase independent: rank correlation 0 within 4 standard errors
    assert abs(stats.spearmanr(g, phase).statistic) < 4 / math.sqrt(N)


def test_m_one_is_rayleigh_and_m_two_is_not() -> None:
    rayleigh = power(Rayleigh().sample_gains(N, torch.Generator().manual_seed(1)))
    assert stats.ks_2samp(power(gains(1.0, seed=2)), rayleigh).pvalue > 1e-3
    assert stats.ks_2samp(power(gains(2.0, seed=2)), rayleigh).pvalue < 1e-6


def test_same_seed_same_gains_other_seed_other_gains() -> None:
    assert torch.equal(gains(2.0, seed=5, n=1000), gains(2.0, seed=5, n=1000))
    assert not torch.equal(gains(2.0, seed=5, n=1000), gains(2.0, seed=6, n=1000))
    g = torch.Generator().manual_seed(5)
    first, second = Nakagami(2.0).sample_gains(1000, g), Nakagami(2.0).sample_gains(1000, g)
    assert not torch.equal(first, second)  # the generator advances


@pytest.mark.parametrize("block", [True, False])
def test_zero_forcing_leaves_the_input_plus_noise_over_h(block: bool) -> None:
    """y = s + n/h with n ~ CN(0, σ²): (y − s)·h has power σ², split evenly over Re and Im."""
    snr_db = 30.0
    z = power_normalize(torch.randn(4096, 8, 2, 2, generator=torch.Generator().manual_seed(0)))
    out = Nakagami(2.0, block=block)(z, snr_db, generator=torch.Generator().manual_seed(1),
                                     return_state=True)
    assert out.h.shape == ((4096,) if block else (4096, 4, 2, 2))
    gain = out.h.view(-1, 1, 1, 1) if block else out.h
    noise = (real_to_complex(out.y) - real_to_complex(z)) * gain
    sigma2 = 10 ** (-snr_db / 10)
    assert noise.abs().pow(2).mean().item() == pytest.approx(sigma2, rel=0.03)
    assert noise.real.var().item() == pytest.approx(sigma2 / 2, rel=0.03)
    assert noise.imag.var().item() == pytest.approx(sigma2 / 2, rel=0.03)
    # the residual is noise / |h|, so it scales with 1/|h|² image by image or symbol by symbol
    post = (real_to_complex(out.y) - real_to_complex(z)).abs().pow(2)
    weak = (gain.abs() ** 2 < 0.3).expand_as(post)
    assert post[weak].mean() > 3 * post[~weak].mean()
    torch.testing.assert_close(out.noise_var, torch.full((4096,), sigma2))


@pytest.mark.parametrize("block", [True, False])
def test_one_gain_per_image_or_per_symbol(block: bool) -> None:
    z = power_normalize(torch.randn(3, 8, 4, 4))
    out = Nakagami(1.5, equalization="none", block=block)(
        z, math.inf, generator=torch.Generator().manual_seed(0), return_state=True)
    ratio = real_to_complex(out.y) / real_to_complex(z)
    expected = out.h.view(-1, 1, 1, 1).expand_as(ratio) if block else out.h
    torch.testing.assert_close(ratio, expected)
    per_image = ratio.flatten(1)
    spread = (per_image - per_image[:, :1]).abs().amax(1)
    assert (spread < 1e-4).all() if block else (spread > 1e-2).all()
    zf = Nakagami(1.5, block=block)(z, math.inf, generator=torch.Generator().manual_seed(0))
    assert (zf - z).abs().max().item() < 1e-4


@pytest.mark.parametrize("m", [0.3, 0.0, -1.0, math.nan, math.inf])
def test_bad_m_is_a_one_line_config_error(m: float) -> None:
    with pytest.raises(ConfigError, match=r"link\.channel\.m=") as info:
        build_channel({"name": "nakagami", "m": m})
    assert "\n" not in str(info.value) and "m >= 0.5" in str(info.value)
    with pytest.raises(ConfigError, match=r"link\.channel\.m="):
        Nakagami(m)


def test_registry_config_label_and_describe() -> None:
    assert "nakagami" in CHANNELS.names()
    channel = build_channel({"name": "nakagami", "m": 2})
    assert isinstance(channel, Nakagami) and channel.m == 2.0 and channel.block
    assert channel.label == "nakagami_m2_zf"
    assert channel.describe() == {"channel": "nakagami", "equalization": "zf", "k_factor": None,
                                  "nakagami_m": 2.0}
    assert build_channel({"name": "nakagami", "m": 3}).label == "nakagami_m3_zf"
    assert build_channel({"name": "nakagami", "m": 0.5, "equalization": "mmse"}).label == \
        "nakagami_m0.5_mmse"
    assert build_channel({"name": "nakagami"}).describe()["nakagami_m"] == 2.0
    with pytest.raises(ConfigError, match="'nakagami' has no option k_factor"):
        build_channel({"name": "nakagami", "k_factor": 3})
    with pytest.raises(ConfigError, match="equalization='perfect'"):
        build_channel({"name": "nakagami", "equalization": "perfect"})


def test_an_experiment_runs_over_nakagami_with_its_parameter_in_the_results(tmp_path) -> None:
    """The EO study over Nakagami m = 2 and Rician: rows carry ``nakagami_m`` (empty for
    Rician), run folders and the fit groups tell the channels apart."""
    from test_eo import _args

    from semjscc.cli import main
    from semjscc.evaluation.results import read_results

    out = tmp_path / "out"
    channels = ("eo.channels=[{name: nakagami, m: 2}, "
                "{name: rician, k_factor: 100, equalization: zf}]")
    assert main(_args(out, [channels, "eo.separation=[]", "eo.protocols=[mismatched]",
                           "eo.fit_metrics=[accuracy_mismatched]"])) == 0
    rows = [r for r in read_results(out / "results.csv") if r["method"] == "djscc"]
    assert sorted((r["channel"], r["nakagami_m"], r["k_factor"], r["snr_db"]) for r in rows) == [
        ("nakagami", 2.0, None, 0), ("nakagami", 2.0, None, 10),
        ("rician", None, 100.0, 0), ("rician", None, 100.0, 10)]
    assert sorted(p.name for p in (out / "djscc").iterdir()) == ["nakagami_m2_zf", "rician_k100_zf"]
