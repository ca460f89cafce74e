"""The ofdm channel: Sionna's resource grid, TDL/CDL bank, LS/perfect CSI and LMMSE."""

from __future__ import annotations

import pytest
import torch

from semjscc.baselines.digital import AbstractLink, TBLink, coherent
from semjscc.channels import OFDM, build_channel, measured_snr_db, power_normalize
from semjscc.channels.functional import real_to_complex
from semjscc.cli import main
from semjscc.errors import ConfigError


def latent(batch: int = 4, seed: int = 0) -> torch.Tensor:
    """(B, 16, 8, 8) unit-power real-packed latent: k = 512 complex symbols."""
    return power_normalize(torch.randn(batch, 16, 8, 8, generator=gen(seed)))


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("csi", ["perfect", "ls"])
def test_flat_noiseless_returns_input(csi: str) -> None:
    channel = OFDM(model="awgn", csi=csi, bank_size=4)
    z = latent()
    out = channel.transmit(z, 300.0, gen())
    assert out.y.shape == z.shape
    assert torch.allclose(out.y, z, atol=1e-5)


def test_equalised_snr_matches_stated_snr() -> None:
    channel = OFDM(model="awgn", csi="perfect", bank_size=4)
    z = latent(64)
    for snr in (0.0, 10.0):
        out = channel.transmit(z, snr, gen(1))
        assert abs(float(measured_snr_db(z, out.y).mean()) - snr) < 0.1
        assert torch.allclose(out.noise_var, torch.full_like(out.noise_var, 10 ** (-snr / 10)),
                              rtol=1e-3)
        assert out.noise_var.shape == out.h.shape == real_to_complex(z).shape


def test_ls_estimate_mse_falls_with_snr() -> None:
    channel = OFDM(model="tdl-c", csi="ls", bank_size=32)
    s = real_to_complex(latent(16)).flatten(1)
    mse = []
    for snr in (0.0, 10.0, 20.0):
        y, h, no = channel.receive(s, snr, gen(2))
        h_hat, _ = channel.estimate(y, h, no)
        mse.append(float((h_hat.reshape(h.shape) - h).abs().pow(2).mean()))
    assert mse[0] > mse[1] > mse[2]
    assert mse[0] > 3 * mse[2]


@pytest.mark.parametrize("csi", ["ls", "perfect"])
def test_gradients_finite_and_nonzero(csi: str) -> None:
    channel = OFDM(model="tdl-a", speed_mps=30.0, csi=csi, bank_size=16)
    z = latent(2).requires_grad_()
    (channel(z, 5.0, gen()) - 1.0).pow(2).sum().backward()
    assert torch.isfinite(z.grad).all()
    assert (z.grad.abs() > 0).float().mean() > 0.99


def test_randomness_from_the_generator() -> None:
    channel = OFDM(model="tdl-c", bank_size=16)
    z = latent(2)
    a, b = channel(z, 5.0, gen(3)), channel(z, 5.0, gen(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, channel(z, 5.0, gen(4)))
    # the bank is seeded: a new channel with the same options draws the same responses
    assert torch.equal(OFDM(model="tdl-c", bank_size=16)(z, 5.0, gen(3)), a)


def test_pilot_overhead_and_slots() -> None:
    channel = OFDM(fft_size=72, num_ofdm_symbols=14, pilot_symbols=[2, 11], bank_size=4,
                   model="awgn")
    assert (channel.num_pilots, channel.num_data) == (144, 864)
    assert channel.pilot_overhead == pytest.approx(1 / 6)
    grid = channel.blocks(torch.device("cpu"))["grid"]
    assert grid.num_pilot_symbols == 144 and grid.num_data_symbols == 864
    assert channel.num_slots(864) == 1 and channel.num_slots(865) == 2
    assert channel.channel_uses(1000) == 2 * 1008
    # a partial last slot: the padding does not leak into the output
    z = power_normalize(torch.randn(3, 10, 10, 10))  # k = 500
    assert channel(z, 20.0, gen()).shape == z.shape


def test_registry_round_trip_and_columns() -> None:
    channel = build_channel({"name": "ofdm", "model": "tdl-a", "speed_mps": 30, "csi": "perfect",
                             "bank_size": 8, "pilot_symbols": [3]})
    assert isinstance(channel, OFDM)
    assert channel.describe() == {
        "channel": "ofdm", "equalization": "lmmse", "k_factor": None, "tdl_model": "tdl-a",
        "speed_mps": 30.0, "csi": "perfect", "pilot_overhead": round(1 / 13, 6)}
    assert channel.label == "ofdm_tdl-a_v30_perfect"


@pytest.mark.parametrize("options, words", [
    ({"model": "tdl-z"}, "link.channel.model"),
    ({"csi": "lmmse"}, "ls or perfect"),
    ({"pilot_symbols": [14]}, "pilot_symbols"),
    ({"speed_mps": -1}, "speed_mps"),
    ({"interpolation": "cubic"}, "interpolation"),
    ({"bank_size": 0}, "bank_size"),
])
def test_bad_options_one_line_errors(options: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as info:
        build_channel({"name": "ofdm", **options})
    assert "\n" not in str(info.value)


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ConfigError, match="fft"):
        build_channel({"name": "ofdm", "fft": 64})


def test_tdl_and_cdl_banks_have_unit_average_power() -> None:
    for model in ("tdl-c", "cdl-c"):
        bank = OFDM(model=model, bank_size=256, bank_seed=1).bank
        assert bank.shape == (256, 14, 72)
        assert abs(float(bank.abs().pow(2).mean()) - 1.0) < 0.15
        # frequency selective: the response varies across the subcarriers of one slot
        assert float(bank.abs().std(dim=-1).mean()) > 0.1


@pytest.mark.slow  # the config table's matmul peak alone takes ~20 s on 2 cores
def test_bench_prints_the_ofdm_to_awgn_ratio(capsys) -> None:
    assert main(["bench", "--configs", "importance-tiny/reproduce", "--repeats", "1",
                 "--batch", "4", "--qf", "", "--ofdm", "model=tdl-a,bank_size=8"]) == 0
    out = capsys.readouterr().out
    assert "ofdm channel (model=tdl-a" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.strip().startswith(("awgn ", "ofdm-ls", "ofdm-perfect"))}
    assert set(rows) == {"awgn", "ofdm-ls", "ofdm-perfect"}
    assert rows["awgn"][3] == "1.00x" and float(rows["ofdm-ls"][1]) > 0


def test_bench_bad_ofdm_spec_is_one_line(capsys) -> None:
    assert main(["bench", "--configs", "", "--qf", "", "--ofdm", "tdl-a"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "argument --ofdm" in err and "KEY=VALUE" in err


def test_digital_chain_over_ofdm_delivers_at_high_snr_and_loses_at_low() -> None:
    channel = OFDM(model="tdl-c", csi="ls", bank_size=16)
    link = TBLink(9, 1024, channel)
    bits = torch.randint(0, 2, (6, link.tb.tb_bits), generator=gen(5)).float()
    received, ok = link.send(bits, 30.0, gen(6))
    assert ok.all() and torch.equal(received, bits)
    assert not link.send(bits, -5.0, gen(6))[1].any()


def test_digital_demapper_takes_the_per_re_noise_variance() -> None:
    channel = OFDM(model="tdl-c", csi="ls", bank_size=16)
    link = TBLink(9, 1024, channel)
    seen: dict[str, torch.Tensor] = {}
    transmit, demapper = channel.transmit, link.demapper

    def record_transmit(*args, **kwargs):
        seen["out"] = transmit(*args, **kwargs)
        return seen["out"]

    def record_demapper(y, no):
        seen["no"] = no
        return demapper(y, no)

    channel.transmit, link.demapper = record_transmit, record_demapper
    link.send(torch.zeros(2, link.tb.tb_bits), 10.0, gen(7))
    no = seen["no"]
    assert no.shape == (2, 1024)
    assert torch.equal(no, seen["out"].noise_var.reshape(no.shape))
    assert float(no.std()) > 0.01 * float(no.mean())  # varies over the resource elements
    assert torch.equal(coherent(seen["out"], "lmmse")[1], seen["out"].noise_var)


def test_link_abstraction_refuses_ofdm() -> None:
    with pytest.raises(ConfigError, match="use digital.link=bit-true"):
        AbstractLink(9, 1024, OFDM(model="awgn", bank_size=2))


def test_speed_sets_the_time_variation_and_ls_follows_slow_channels() -> None:
    slow, fast = (OFDM(model="tdl-c", speed_mps=v, bank_size=64, fft_size=48) for v in (3, 120))
    drift = [float((c.bank[:, -1] - c.bank[:, 0]).abs().pow(2).mean()) for c in (slow, fast)]
    assert drift[0] < 0.01 < 0.5 < drift[1]
    z = latent(16)
    error = [float((c(z, 30.0, gen(8)) - z).pow(2).mean()) for c in (slow, fast)]
    assert error[1] > 10 * error[0]  # two pilot symbols per slot cannot follow 120 m/s
