"""Architecture checks against the reference (parameter counts, MACs, shapes)."""

import pytest
import torch

from semjscc.config import ConfigError, ModelConfig
from semjscc.models import DeepJSCC, MultiHopDF, create_model
from semjscc.models.complexity import count_macs, num_parameters, parameter_bytes
from semjscc.models.layers import GDN, AFModule, AttentionBlock, ResidualBlockUpsample


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
    macs = count_macs(DeepJSCC(256, 32), 256)
    assert macs["encode"] / 1e9 == pytest.approx(101.5, rel=0.01)
    assert macs["decode"] / 1e9 == pytest.approx(123.5, rel=0.01)


def test_bandwidth_ratio_sets_latent_width():
    assert ModelConfig(bandwidth_ratio="1/6").num_latent == 16
    assert ModelConfig(bandwidth_ratio="0.25").num_latent == 24
    with pytest.raises(ConfigError, match="even integer"):
        _ = ModelConfig(bandwidth_ratio="1/5").num_latent


def test_gdn_initial_state_and_nonnegative_reparam():
    gdn = GDN(4)
    x = torch.randn(2, 4, 3, 3)
    # at init beta = 1, gamma = 0.1 I: y = x / sqrt(1 + 0.1 x^2)
    torch.testing.assert_close(gdn(x), x / torch.sqrt(1 + 0.1 * x**2), atol=1e-5, rtol=1e-5)
    igdn = GDN(4, inverse=True)
    torch.testing.assert_close(igdn(x), x * torch.sqrt(1 + 0.1 * x**2), atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        gdn.gamma.fill_(-5.0)  # stored value below the bound: effective gamma clamps to 0
    torch.testing.assert_close(gdn(x), x, atol=1e-5, rtol=1e-5)


def test_shapes_and_any_size_through_multihop():
    torch.manual_seed(0)
    model = DeepJSCC(16, 8)
    x = torch.rand(2, 3, 32, 32)
    z = model.encode(x, torch.zeros(2))
    assert z.shape == (2, 8, 8, 8)
    link = MultiHopDF(model)
    out = link(torch.rand(2, 3, 30, 21), [0.0, 5.0, 10.0])
    assert out["x_hat"].shape == (2, 3, 30, 21)
    assert len(out["hop_images"]) == 3
    with pytest.raises(ValueError, match="divisible by 4"):
        model.encode(torch.rand(1, 3, 30, 30), torch.zeros(1))


def test_af_module_uses_snr():
    af = AFModule(8)
    x = torch.rand(2, 8, 4, 4)
    assert not torch.allclose(af(x, torch.tensor([-10.0, -10.0])), af(x, torch.tensor([10.0, 10.0])))


def test_each_hop_draws_its_own_noise_and_relays_clamp():
    torch.manual_seed(0)
    model = DeepJSCC(16, 8).eval()
    x = torch.rand(1, 3, 16, 16)
    link = MultiHopDF(model, relay_clamp=True)
    with torch.no_grad():
        out = link(x, [0.0, 0.0], generator=torch.Generator().manual_seed(3))
        # replay by hand: hop 1, clamp, hop 2 with the same generator stream
        g = torch.Generator().manual_seed(3)
        h1 = link.hop(x, torch.zeros(1), g)
        h2 = link.hop(h1.clamp(0, 1), torch.zeros(1), g)
    torch.testing.assert_close(out["hop_images"][0], h1)
    torch.testing.assert_close(out["x_hat"], h2)


def test_strided_skip_equals_strided_conv_and_survives_channels_last():
    from semjscc.models.layers import ResidualBlockWithStride

    block = ResidualBlockWithStride(3, 256).to(memory_format=torch.channels_last)
    x = torch.rand(2, 3, 16, 16).contiguous(memory_format=torch.channels_last).requires_grad_()
    ref = torch.nn.functional.conv2d(x, block.skip.weight, block.skip.bias, stride=2)
    torch.testing.assert_close(block.skip(x[..., ::2, ::2]), ref)
    block(x).sum().backward()  # crashed torch's CPU kernel when done as a strided 1x1 conv
    assert x.grad is not None and torch.isfinite(x.grad).all()
