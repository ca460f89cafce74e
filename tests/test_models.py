"""Architecture checks against the reference (parameter counts, MACs, shapes), equivalence
with kaira's reimplementation, and rebuilding models from their weights alone."""

import subprocess
import sys

import pytest
import torch
from compressai.layers import GDN, AttentionBlock, ResidualBlockUpsample, ResidualBlockWithStride

from semjscc.channels import AWGN
from semjscc.config import ConfigError, ModelConfig
from semjscc.models import MultiHopDF, Yilmaz2023DeepJSCC, create_model, hop
from semjscc.models.complexity import count_macs, num_parameters, parameter_bytes
from semjscc.models.layers import AFModule, StridedResidualBlock
from semjscc.models.yilmaz2023 import to_kaira_state_dicts


def test_paper_model_has_exact_reference_parameter_count():
    model = create_model(ModelConfig(num_features=256, bandwidth_ratio="1/3"))
    assert model.num_latent == 32
    assert num_parameters(model.encoder) == 8_553_568
    assert num_parameters(model.decoder) == 13_769_011
    assert num_parameters(model) == 22_322_579
    assert round(parameter_bytes(model) / 1e6, 2) == 89.29


def test_block_parameter_counts():
    assert num_parameters(GDN(256)) == 256 + 256**2
    assert num_parameters(AFModule(256)) == 131_840
    assert num_parameters(AttentionBlock(32)) == 21_408
    assert num_parameters(ResidualBlockUpsample(256, 3)) == 55_416


def test_macs_match_reference_at_256():
    macs = count_macs(Yilmaz2023DeepJSCC(256, 32), 256)
    assert macs["encode"] / 1e9 == pytest.approx(101.5, rel=0.01)
    assert macs["decode"] / 1e9 == pytest.approx(123.5, rel=0.01)


def test_bandwidth_ratio_sets_latent_width_and_the_rate_formula():
    assert create_model(ModelConfig(bandwidth_ratio="1/6", num_features=8)).num_latent == 16
    model = create_model(ModelConfig(bandwidth_ratio="0.25", num_features=8))
    assert model.num_latent == 24
    assert model.num_symbols(32, 32) == 24 // 2 * 8 * 8 == 768
    assert model.num_symbols(30, 21) == 12 * 8 * 6  # padded to 32 x 24
    assert model.num_symbols(32, 32) / (3 * 32 * 32) == float(model.bandwidth_ratio()) == 0.25
    with pytest.raises(ConfigError, match="even integer"):
        create_model(ModelConfig(bandwidth_ratio="1/5"))


def test_compressai_gdn_initial_state():
    gdn = GDN(4)
    x = torch.randn(2, 4, 3, 3)
    # at init beta = 1, gamma = 0.1 I: y = x / sqrt(1 + 0.1 x^2)
    torch.testing.assert_close(gdn(x), x / torch.sqrt(1 + 0.1 * x**2), atol=1e-5, rtol=1e-5)


def test_shapes_and_any_size_through_multihop():
    model = Yilmaz2023DeepJSCC(16, 8)
    x = torch.rand(2, 3, 32, 32)
    assert model.encode(x, torch.zeros(2)).shape == (2, 8, 8, 8)
    out = MultiHopDF(model)(torch.rand(2, 3, 30, 21), [0.0, 5.0, 10.0])
    assert out["x_hat"].shape == (2, 3, 30, 21)
    assert len(out["hop_images"]) == 3
    with pytest.raises(ValueError, match="divisible by 4"):
        model.encode(torch.rand(1, 3, 30, 30), torch.zeros(1))


def test_af_module_uses_snr():
    af = AFModule(8)
    x = torch.rand(2, 8, 4, 4)
    assert not torch.allclose(af(x, torch.tensor([-10.0, -10.0])), af(x, torch.tensor([10.0, 10.0])))


def test_each_hop_draws_its_own_noise_and_relays_clamp():
    model = Yilmaz2023DeepJSCC(16, 8).eval()
    x = torch.rand(1, 3, 16, 16)
    link = MultiHopDF(model, AWGN(), relay_clamp=True)
    with torch.no_grad():
        out = link(x, [0.0, 0.0], generator=torch.Generator().manual_seed(3))
        g = torch.Generator().manual_seed(3)  # replay by hand: hop 1, clamp, hop 2
        h1 = hop(model, x, AWGN(), torch.zeros(1), g)
        h2 = hop(model, h1.clamp(0, 1), AWGN(), torch.zeros(1), g)
    torch.testing.assert_close(out["hop_images"][0], h1)
    torch.testing.assert_close(out["x_hat"], h2)


STRIDED_BLOCK_BACKWARD = """
import sys, torch
from compressai.layers import ResidualBlockWithStride
from semjscc.models.layers import StridedResidualBlock
block = {"ours": StridedResidualBlock, "compressai": ResidualBlockWithStride}[sys.argv[1]]
torch.manual_seed(0)
net = block(3, 256).to(memory_format=torch.channels_last)
x = torch.rand(4, 3, 64, 64).contiguous(memory_format=torch.channels_last).requires_grad_()
for _ in range(3):
    net(x).square().sum().backward()
print("survived")
"""


def test_strided_block_channels_last_backward_survives_where_compressai_crashes():
    """torch 2.14.1's CPU channels-last backward of CompressAI's strided 1x1 skip (3 -> 256
    channels, 64x64, batch 4) corrupts the heap and kills the process; ours survives. Each
    runs in a child process, so a crash fails this test instead of the whole run."""
    def run(which: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", STRIDED_BLOCK_BACKWARD, which],
                              capture_output=True, text=True, timeout=120)

    ours = run("ours")
    assert ours.returncode == 0 and "survived" in ours.stdout, ours.stderr[-500:]
    if torch.__version__.startswith("2.14.1"):  # the pinned torch: the bug is still there
        assert run("compressai").returncode != 0


def test_strided_block_equals_compressai_in_both_layouts():
    """Same state-dict keys and initial weights as CompressAI's block, and the same output and
    gradients in NCHW and channels-last (odd sizes included)."""
    torch.manual_seed(0)
    reference = ResidualBlockWithStride(3, 64)
    torch.manual_seed(0)
    block = StridedResidualBlock(3, 64)
    assert list(block.state_dict()) == list(reference.state_dict())
    for k, v in reference.state_dict().items():
        assert torch.equal(block.state_dict()[k], v), k
    x = torch.rand(2, 3, 17, 17)
    results = []
    for net, fmt in ((reference, torch.contiguous_format), (block, torch.contiguous_format),
                     (block, torch.channels_last)):
        net.to(memory_format=fmt).zero_grad()
        xx = x.clone().contiguous(memory_format=fmt).requires_grad_()
        out = net(xx)
        out.square().sum().backward()
        results.append((out.detach().clone(), xx.grad, net.skip.weight.grad.clone()))
    for got in results[1:]:
        for a, b in zip(results[0], got):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n, m", [(32, 16), (64, 24)])
def test_equivalent_to_kaira_q2_pair(n: int, m: int):
    tung = pytest.importorskip("kaira.models.image.tung2022_deepjscc_q")
    torch.manual_seed(0)
    ours = Yilmaz2023DeepJSCC(n, m).eval()
    enc, dec = tung.Tung2022DeepJSCCQ2Encoder(n, m).eval(), tung.Tung2022DeepJSCCQ2Decoder(n, m).eval()
    enc_state, dec_state = to_kaira_state_dicts(ours.state_dict())
    enc.load_state_dict(enc_state, strict=True)
    dec.load_state_dict(dec_state, strict=True)
    x, snr = torch.rand(3, 3, 32, 32), torch.tensor([-5.0, 0.0, 12.0])
    y = torch.randn(3, m, 8, 8)
    with torch.no_grad():
        assert (ours.encode(x, snr) - enc(x, snr)).abs().max() <= 1e-5
        assert (ours.decode(y, snr) - dec(y, snr)).abs().max() <= 1e-5
    assert sum(p.numel() for p in (*enc.parameters(), *dec.parameters())) == num_parameters(ours)


def test_from_state_dict_reads_the_sizes_from_the_weights():
    model = Yilmaz2023DeepJSCC(24, 12)
    rebuilt = Yilmaz2023DeepJSCC.from_state_dict(model.state_dict())
    assert (rebuilt.num_features, rebuilt.num_latent) == (24, 12)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 rebuilt.state_dict().values()))


@pytest.mark.parametrize("ratio, c, realised", [("1/4", 12, "1/4"), ("1/6", 8, "1/6"),
                                                ("1/12", 4, "1/12"), ("1/20", 2, "1/24"),
                                                ("1/40", 1, "1/48")])
def test_bourtsoulatze_ratio_and_parameter_count(ratio: str, c: int, realised: str):
    from fractions import Fraction

    from semjscc.models import Bourtsoulatze2019DJSCC

    model = create_model(ModelConfig(name="bourtsoulatze2019-djscc", bandwidth_ratio=ratio))
    assert isinstance(model, Bourtsoulatze2019DJSCC) and model.num_latent == 2 * c
    assert model.bandwidth_ratio() == Fraction(realised)
    assert model.num_symbols(64, 64) == c * 16 * 16
    conv = lambda i, o: i * o * 25 + o  # noqa: E731  (5x5 kernel + bias)
    encoder = conv(3, 16) + conv(16, 32) + 2 * conv(32, 32) + conv(32, 2 * c) + 5  # 5 PReLU
    decoder = conv(2 * c, 32) + 2 * conv(32, 32) + conv(32, 16) + conv(16, 3) + 4
    assert num_parameters(model.encoder) == encoder
    assert num_parameters(model.decoder) == decoder
    x = torch.rand(2, 3, 64, 64)
    z = model.encode(x, torch.zeros(2))
    assert z.shape == (2, 2 * c, 16, 16)
    out = model.decode(z, torch.zeros(2))
    assert out.shape == x.shape and 0 < out.min() and out.max() < 1  # sigmoid
    rebuilt = Bourtsoulatze2019DJSCC.from_state_dict(model.state_dict())
    assert rebuilt.num_latent == 2 * c


def test_bourtsoulatze_rejects_too_small_ratio_and_a_width():
    with pytest.raises(ConfigError, match="smallest ratio this model realises is 1/48"):
        create_model(ModelConfig(name="bourtsoulatze2019-djscc", bandwidth_ratio="1/60"))
    with pytest.raises(ConfigError, match="fixed widths"):
        create_model(ModelConfig(name="bourtsoulatze2019-djscc", num_features=32))
