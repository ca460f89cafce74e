"""The practical digital chain (codec + 5G NR TB + QAM, on Sionna) over semjscc channels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semjscc.baselines.digital import (
    ADAPTIVE_BACKOFF_DB,
    MAX_MCS,
    MIN_MCS,
    AbstractLink,
    DigitalSystem,
    TBLink,
    abstract_bler,
    adaptive_mcs,
    coherent,
    table_bler,
    transport_block,
)
from semjscc.baselines.separation import code_to_budget, decode_file
from semjscc.channels import build_channel
from semjscc.config import load_config
from semjscc.data import build_dataset
from semjscc.errors import ConfigError


def images(n: int) -> torch.Tensor:
    test = build_dataset(load_config("tiny/df").data, "test")
    return torch.stack([test[i]["image"] for i in range(n)])


@pytest.mark.parametrize("k", [256, 1024])
def test_every_tb_fits_its_channel_budget(k: int) -> None:
    previous = 0
    for mcs in range(MIN_MCS, MAX_MCS + 1):
        tb = transport_block(mcs, k)
        assert tb.coded_bits == k * tb.modulation_order
        # the TB and its CRC fit the coded bits; its size is the target rate's to within the
        # quantisation of 38.214 §5.1.3.2
        assert 0 < tb.tb_bits + 16 <= tb.coded_bits
        assert abs(tb.tb_bits / (tb.coded_bits * tb.code_rate) - 1) < 0.1
        assert tb.tb_bits >= previous  # table 1 rises in spectral efficiency
        previous = tb.tb_bits
        link = TBLink(mcs, k) if mcs in (MIN_MCS, 9, 16, 27) else None
        if link is not None:
            assert link.encoder(torch.zeros(2, tb.tb_bits)).shape == (2, tb.coded_bits)
    for bad in (MIN_MCS - 1, MAX_MCS + 1):
        with pytest.raises(ConfigError, match=f"mcs={bad}"):
            transport_block(bad, k)


def test_crc_detects_flipped_bits_and_passes_clean_ones() -> None:
    link = TBLink(9, 256)
    bits = torch.randint(0, 2, (8, link.tb.tb_bits), generator=torch.Generator().manual_seed(0))
    coded = link.encoder(bits.float())
    llr = 20.0 * (2 * coded - 1)  # confident and right (Sionna: positive LLR = bit 1)
    decoded, ok = link.decoder(llr)
    assert ok.all() and torch.equal(decoded, bits.float())
    flipped = llr.clone()
    flipped[:4, ::2] *= -1  # half the coded bits of the first four TBs confidently wrong
    decoded, ok = link.decoder(flipped)
    assert ok.tolist() == [False] * 4 + [True] * 4


def bit_true_bler(mcs: int, k: int, snr_db: float, n: int = 96) -> float:
    link = TBLink(mcs, k)
    g = torch.Generator().manual_seed(int(10 * snr_db) + 1000 * mcs)
    bits = torch.randint(0, 2, (n, link.tb.tb_bits), generator=g).float()
    _, ok = link.send(bits, snr_db, g)
    return 1.0 - ok.float().mean().item()


def crossing(snrs: np.ndarray, bler: np.ndarray, level: float = 0.1) -> float:
    """The SNR where a falling BLER curve crosses ``level`` (linear interpolation)."""
    i = int(np.argmax(bler <= level))
    assert i > 0, "the curve must start above the level"
    return float(np.interp(level, bler[i - 1:i + 1][::-1], snrs[i - 1:i + 1][::-1]))


@pytest.mark.parametrize("mcs", [9, pytest.param(4, marks=pytest.mark.slow),
                                 pytest.param(16, marks=pytest.mark.slow)])
def test_bit_true_bler_is_monotone_and_crosses_10_percent_near_the_table(mcs: int) -> None:
    """The abstraction (Sionna's BLER tables) against bit-true simulation: the 10 % crossing
    within ±1 dB, both curves falling from 1 to 0 over the same window."""
    k = 256
    table = table_bler(mcs, k, torch.arange(-10.0, 30.0, 0.25))
    centre = float(torch.arange(-10.0, 30.0, 0.25)[int(torch.argmax((table <= 0.1).int()))])
    snrs = np.arange(centre - 2.0, centre + 2.01, 0.5)
    measured = np.array([bit_true_bler(mcs, k, s) for s in snrs])
    assert measured[0] == 1.0 and measured[-1] == 0.0
    assert np.all(np.diff(measured) <= 0.05)  # monotone up to the noise of 96 TBs
    tabled = table_bler(mcs, k, torch.tensor(snrs, dtype=torch.float32)).numpy()
    assert abs(crossing(snrs, measured) - crossing(snrs, tabled)) <= 1.0
    # calibrated per modulation order, the abstraction crosses within 0.35 dB of bit-true
    calibrated = abstract_bler(mcs, k, torch.tensor(snrs, dtype=torch.float32)).numpy()
    assert abs(crossing(snrs, measured) - crossing(snrs, calibrated)) <= 0.35


def test_adaptive_mcs_rises_with_snr_and_meets_the_target() -> None:
    chosen = [adaptive_mcs(1024, s) for s in (-5.0, 0.0, 5.0, 10.0, 20.0, 30.0)]
    assert chosen == sorted(chosen) and chosen[0] == MIN_MCS and chosen[-1] >= MAX_MCS - 1
    for snr, mcs in zip((0.0, 5.0, 10.0), chosen[1:4], strict=True):
        backed_off = snr - ADAPTIVE_BACKOFF_DB
        assert float(table_bler(mcs, 1024, backed_off)) <= 0.1
        if mcs < MAX_MCS:
            assert float(table_bler(mcs + 1, 1024, backed_off)) > 0.1


def test_adaptive_mcs_meets_the_target_bit_true() -> None:
    """With the back-off, the bit-true chain at the adaptive MCS loses at most ~10 % (at
    5 dB, k = 1,024, the table alone would pick MCS 12, which loses 34 % bit-true)."""
    system = DigitalSystem("webp", "adaptive", 5.0, 1024)
    system(images(100), torch.Generator().manual_seed(0))
    assert system.tb.mcs < 12 and system.n_lost <= 15


def test_the_cliff_and_exact_files_when_delivered() -> None:
    x = images(16)
    lost = []
    for snr in (-2.0, 2.0, 6.0, 12.0):
        system = DigitalSystem("webp", 9, snr, 1024)
        x_hat = system(x, torch.Generator().manual_seed(0))
        lost.append(system.n_lost)
        row = system.row_fields()
        assert row["tb_bits"] == 1352 and row["mcs"] == 9 and row["codec"] == "webp"
        assert max(system.used_bits) <= row["tb_bits"]  # never a file above the payload
    assert lost[0] == 16 and lost[-1] == 0 and lost == sorted(lost, reverse=True)
    # delivered: exactly the codec's decoded file; lost: mid-gray
    assert torch.all(DigitalSystem("webp", 9, -2.0, 1024)(x[:2]) == 0.5)
    for i in range(2):
        image = (x[i].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
        coded = code_to_budget(image, "webp", 1352)
        expected = torch.from_numpy(decode_file(coded.data)).permute(2, 0, 1).float() / 255
        assert torch.equal(x_hat[i], expected)


def test_relays_lose_more_and_every_hop_count_comes_from_one_chain() -> None:
    x = images(32)
    one = DigitalSystem("webp", 9, 3.5, 1024)
    three = DigitalSystem("webp", 9, 3.5, 1024, hops=3)
    single = one(x, torch.Generator().manual_seed(1))
    after = three.outputs(x, torch.Generator().manual_seed(1))
    # hop 1 of the three-hop chain is the one-hop chain, draw for draw
    assert torch.equal(after[0], single) and three.n_lost_after[0] == one.n_lost
    assert three.n_lost_after == sorted(three.n_lost_after) and three.n_lost_after[2] > 0
    assert three.row_fields(hops=1)["n_lost"] == one.n_lost
    assert three.row_fields()["n_lost"] == three.n_lost == three.n_lost_after[2]
    for j in range(2):  # an image lost at a hop stays lost
        lost = (after[j] == 0.5).flatten(1).all(1)
        assert torch.all((after[j + 1] == 0.5).flatten(1).all(1)[lost])


def test_fading_loses_gradually() -> None:
    x = images(32)
    rayleigh = build_channel({"name": "rayleigh"})
    fading = [DigitalSystem("webp", 9, s, 1024, rayleigh) for s in (5.0, 25.0)]
    for system in fading:
        system(x, torch.Generator().manual_seed(2))
    assert 0 < fading[0].n_lost < 32 and fading[1].n_lost < fading[0].n_lost


@pytest.mark.parametrize("snr_db", [5.0, pytest.param(10.0, marks=pytest.mark.slow), 15.0])
def test_abstraction_matches_bit_true_over_rayleigh(snr_db: float) -> None:
    """The link abstraction against bit-true simulation over Rayleigh block fading (MCS 9,
    k = 256): the loss rates agree to 0.08 (300 bit-true TBs: ±0.06 at 2σ; measured
    differences 0.01-0.06, the abstraction slightly optimistic at low SNR)."""
    rayleigh = build_channel({"name": "rayleigh"})
    bit_true, abstract = TBLink(9, 256, rayleigh), AbstractLink(9, 256, rayleigh)
    bits = torch.randint(0, 2, (300, bit_true.tb.tb_bits),
                         generator=torch.Generator().manual_seed(0)).float()
    _, ok = bit_true.send(bits, snr_db, torch.Generator().manual_seed(1))
    _, ok_abstract = abstract.send(torch.zeros(20000, 1), snr_db,
                                   torch.Generator().manual_seed(2))
    measured, modelled = 1 - ok.float().mean().item(), 1 - ok_abstract.float().mean().item()
    assert 0 < modelled < 1 and abs(measured - modelled) <= 0.08


def test_abstraction_over_awgn_is_the_calibrated_table_and_delivers_exact_files() -> None:
    x = images(8)
    link = AbstractLink(9, 1024, hops=2)
    _, ok = link.send(torch.zeros(4000, 1), 3.2, torch.Generator().manual_seed(0))
    p = float(abstract_bler(9, 1024, 3.2))
    assert 0.05 < p < 0.95
    assert abs((1 - ok[:, 0].float().mean().item()) - p) < 0.03  # 4000 draws: 2σ ≤ 0.016
    assert abs((1 - ok[:, 1].float().mean().item()) - (1 - (1 - p) ** 2)) < 0.03
    bit_true = DigitalSystem("webp", 9, 12.0, 1024)(x, torch.Generator().manual_seed(0))
    abstract = DigitalSystem("webp", 9, 12.0, 1024, link="abstraction")
    assert torch.equal(abstract(x, torch.Generator().manual_seed(0)), bit_true)
    assert abstract.row_fields()["link"] == "abstraction"
    with pytest.raises(ConfigError, match="block=false"):
        AbstractLink(9, 256, build_channel({"name": "rayleigh", "block": False}))
    with pytest.raises(ConfigError, match="digital.link.*bit-true, abstraction"):
        load_config("tiny/df", ["digital.link=genie"])


@pytest.mark.parametrize("equalization", ["none", "zf", "mmse"])
def test_the_receiver_sees_x_plus_noise_over_h_whatever_the_equaliser(equalization) -> None:
    channel = build_channel({"name": "rayleigh", "equalization": equalization})
    z = torch.randn(64, 2, 1, 8, generator=torch.Generator().manual_seed(3))
    out = channel.transmit(z, 60.0, torch.Generator().manual_seed(4))
    y, noise_var = coherent(out, equalization)
    x = torch.complex(z[:, :1], z[:, 1:])
    assert torch.allclose(y, x, atol=2e-2)
    h2 = out.h.abs().view(-1, 1, 1, 1) ** 2
    assert torch.allclose(noise_var, out.noise_var.view(-1, 1, 1, 1) / h2 * torch.ones_like(
        noise_var))
