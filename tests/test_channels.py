"""Statistical and exact checks of the channel conventions."""

import math

import pytest
import torch

from semjscc.channels import (
    awgn,
    complex_to_real,
    measured_snr_db,
    num_complex_symbols,
    per_image_power,
    power_normalize,
    real_to_complex,
    snr_db_to_noise_var,
)


def test_power_normalize_exact_unit_power_per_image():
    z = torch.randn(5, 16, 8, 8) * torch.tensor([0.1, 1, 10, 100, 3]).view(-1, 1, 1, 1)
    zn = power_normalize(z)
    k = 16 * 8 * 8 // 2
    power = zn.flatten(1).pow(2).sum(1) / k
    torch.testing.assert_close(power, torch.ones(5), atol=1e-5, rtol=0)
    # it is a per-image positive rescaling: direction unchanged
    cos = torch.nn.functional.cosine_similarity(zn.flatten(1), z.flatten(1))
    torch.testing.assert_close(cos, torch.ones(5))


def test_power_normalize_complex_view_matches_convention():
    z = power_normalize(torch.randn(3, 8, 4, 4))
    zc = real_to_complex(z)
    assert zc.shape == (3, 4, 4, 4)
    k = num_complex_symbols(z)
    assert k == 64
    torch.testing.assert_close(zc.abs().pow(2).flatten(1).sum(1) / k, torch.ones(3))
    torch.testing.assert_close(complex_to_real(zc), z)
    # channels [0, M/2) are the real parts
    torch.testing.assert_close(zc.real, z[:, :4])


@pytest.mark.parametrize("snr_db", [-15.0, -5.0, 0.0, 10.0, 20.0])
def test_awgn_measured_snr_matches_target(snr_db):
    g = torch.Generator().manual_seed(0)
    z = power_normalize(torch.randn(8, 32, 32, 32, generator=g))  # k = 16384 per image
    y = awgn(z, snr_db, generator=g)
    measured = measured_snr_db(z, y)
    # per-image noise power estimate over 16k complex symbols: std ~ 10*log10(1 + 1/sqrt(k))
    assert measured.mean().item() == pytest.approx(snr_db, abs=0.05)
    assert measured.sub(snr_db).abs().max().item() < 0.1


def test_awgn_noise_is_circular_with_half_variance_per_real():
    g = torch.Generator().manual_seed(1)
    z = torch.zeros(4, 64, 32, 32)
    n = awgn(z, 3.0, generator=g)
    sigma2 = 10 ** (-3.0 / 10)
    re, im = n[:, :32], n[:, 32:]
    assert re.var().item() == pytest.approx(sigma2 / 2, rel=0.02)
    assert im.var().item() == pytest.approx(sigma2 / 2, rel=0.02)
    assert abs(torch.corrcoef(torch.stack([re.flatten(), im.flatten()]))[0, 1].item()) < 0.01
    assert per_image_power(n).mean().item() == pytest.approx(sigma2, rel=0.02)


def test_awgn_per_image_snr_tensor():
    g = torch.Generator().manual_seed(2)
    z = power_normalize(torch.randn(3, 32, 32, 32, generator=g))
    snrs = torch.tensor([-10.0, 0.0, 10.0])
    measured = measured_snr_db(z, awgn(z, snrs, generator=g))
    torch.testing.assert_close(measured, snrs, atol=0.1, rtol=0)


def test_awgn_generator_reproducible_and_shape_errors():
    z = torch.randn(2, 4, 2, 2)
    a = awgn(z, 0.0, generator=torch.Generator().manual_seed(5))
    b = awgn(z, 0.0, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert not torch.equal(a, awgn(z, 0.0, generator=torch.Generator().manual_seed(6)))
    with pytest.raises(ValueError):
        awgn(z, torch.zeros(3))


def test_noise_var_formula():
    assert snr_db_to_noise_var(-10.0).item() == pytest.approx(10.0)
    assert snr_db_to_noise_var(20.0).item() == pytest.approx(0.01)
    assert math.isclose(snr_db_to_noise_var(0.0).item(), 1.0)
