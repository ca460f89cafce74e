"""LPIPS (AlexNet, v0.1): equivalence with torchmetrics' computation, properties, freezing,
weight loading and the metric object. All backbones here are random stand-ins (tests only)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchmetrics.functional.image.lpips as tm_lpips
import torchvision.models as tvm
from conftest import alexnet_state
from torch import Tensor

from semjscc.metrics.lpips import LPIPS, LPIPS_MIN_SIZE, LPIPSMetric, load_lpips, lpips_available
from semjscc.models.pretrained import WeightsError

FILE = "alexnet-owt-7be5be79.pth"


def features_state() -> dict[str, Tensor]:
    return {k.removeprefix("features."): v for k, v in alexnet_state().items()
            if k.startswith("features.")}


@pytest.fixture(scope="module")
def lpips() -> LPIPS:
    return LPIPS(features_state())


def images(b: int = 2, size: int = 64, seed: int = 0) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, size, size, generator=g), torch.rand(b, 3, size, size, generator=g)


def torchmetrics_lpips(monkeypatch: pytest.MonkeyPatch, x: Tensor, y: Tensor) -> Tensor:
    """torchmetrics' functional LPIPS (its own network code and shipped lin weights) with
    the torchvision backbone given the same stand-in features."""
    def features(net: str, pretrained: bool = False) -> torch.nn.Sequential:
        assert net == "alexnet"
        model = tvm.alexnet().features
        model.load_state_dict(features_state())
        return model

    monkeypatch.setattr(tm_lpips, "_get_tv_model_features", features)
    return tm_lpips.learned_perceptual_image_patch_similarity(
        x, y, net_type="alex", reduction="none", normalize=True)


# float64: the two differ only in where the channel-norm's epsilon sits (lpips package:
# f / (|f| + 1e-10); torchmetrics: f / sqrt(|f|² + 1e-8)), about 1e-10 here.
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-6), (torch.float64, 1e-8)])
def test_equals_torchmetrics_lpips(monkeypatch: pytest.MonkeyPatch, dtype: torch.dtype,
                                   tol: float) -> None:
    x, y = (t.to(dtype) for t in images(2, 64))
    ours = LPIPS(features_state()).to(dtype)(x, y)
    theirs = torchmetrics_lpips(monkeypatch, x, y)
    assert ours.shape == theirs.shape == (2,)
    assert ours.dtype == theirs.dtype == dtype
    assert (ours > 0).all()
    assert (ours - theirs).abs().max().item() < tol


def test_identical_images_give_zero(lpips: LPIPS) -> None:
    x, _ = images(3, 32)
    d = lpips(x, x.clone())
    assert d.shape == (3,)
    assert d.abs().max().item() < 1e-7


def test_shape_nonnegative_and_grows_with_distortion(lpips: LPIPS) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, 48, 48, generator=g)
    noise = torch.randn(x.shape, generator=g)
    small = lpips(x, (x + 0.05 * noise).clamp(0, 1))
    large = lpips(x, (x + 0.3 * noise).clamp(0, 1))
    assert small.shape == large.shape == (3,)
    assert (small >= 0).all() and (large > small).all()


def test_single_image_keeps_batch_dim(lpips: LPIPS) -> None:
    x, y = images(1, LPIPS_MIN_SIZE)
    assert lpips(x, y).shape == (1,)


@pytest.mark.parametrize("x_shape, y_shape", [
    ((2, 3, 64, 64), (2, 3, 64, 60)),
    ((2, 1, 64, 64), (2, 1, 64, 64)),
    ((3, 64, 64), (3, 64, 64)),
    ((2, 3, 16, 16), (2, 3, 16, 16)),
])
def test_bad_shapes_raise(lpips: LPIPS, x_shape: tuple[int, ...],
                          y_shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="LPIPS"):
        lpips(torch.rand(x_shape), torch.rand(y_shape))


def test_out_of_range_raises_within_tolerance_passes(lpips: LPIPS) -> None:
    x, y = images(2, 64)
    lpips(x * (1 + 1e-5), y)  # rounding noise is tolerated
    with pytest.raises(ValueError, match=r"\[0, 1\].*clamp"):
        lpips(2 * x - 1, y)  # a [-1, 1] image
    with pytest.raises(ValueError, match="clamp"):
        lpips(x, y.masked_fill(y > 0.5, float("nan")))


def test_frozen_eval_mode_and_gradient_reaches_input(lpips: LPIPS) -> None:
    lpips.train(True)
    assert not lpips.training and not any(m.training for m in lpips.modules())
    assert not any(p.requires_grad for p in lpips.parameters())
    x, y = images(2, 32)
    x.requires_grad_(True)
    lpips(x, y).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and torch.isfinite(x.grad).all()
    assert all(p.grad is None for p in lpips.parameters())


# ------------------------------------------------------------ loading the ImageNet file


def test_missing_imagenet_file_is_one_clear_line(torch_home: Path) -> None:
    with pytest.raises(WeightsError) as err:
        load_lpips("imagenet")
    msg = str(err.value)
    assert "\n" not in msg
    cache = torch_home / "hub" / "checkpoints"
    for part in (FILE, str(cache), "TORCH_HOME", "network is unreachable", "LPIPS"):
        assert part in msg
    assert "pretrained: none" not in msg  # no advice to use random weights
    model, message = lpips_available("imagenet")
    assert model is None and message is not None
    assert "\n" not in message and FILE in message and str(cache) in message


@pytest.mark.parametrize("weights", [None, "none"])
def test_random_backbone_is_refused(torch_home: Path, weights: str | None) -> None:
    with pytest.raises(WeightsError, match=FILE):
        load_lpips(weights)
    assert lpips_available(weights)[0] is None


def test_missing_path_names_the_file(tmp_path: Path) -> None:
    model, message = lpips_available(tmp_path / "nowhere.pth")
    assert model is None and message is not None
    assert "nowhere.pth" in message and FILE in message and "\n" not in message


def test_imagenet_file_in_hub_cache_loads(alexnet_file: Path) -> None:
    model, message = lpips_available("imagenet", device="cpu")
    assert message is None and isinstance(model, LPIPS)
    x, y = images(2, 32)
    expected = LPIPS(features_state())(x, y)
    assert torch.equal(model(x, y), expected)
    assert torch.equal(load_lpips(alexnet_file)(x, y), expected)  # explicit path works too


def test_wrong_file_is_one_clear_line(torch_home: Path) -> None:
    bad = torch_home / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, bad)
    with pytest.raises(WeightsError) as err:
        load_lpips(bad)
    msg = str(err.value)
    assert "\n" not in msg and "bad.pth" in msg and FILE in msg



def test_truncated_file_names_the_file_and_reason(torch_home: Path) -> None:
    bad = torch_home / "cut.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 11, 11)}, bad)
    bad.write_bytes(bad.read_bytes()[:200])
    with pytest.raises(WeightsError) as err:
        load_lpips(bad)
    msg = str(err.value)
    assert msg.startswith(f"LPIPS unavailable: cannot read weights file {bad} (RuntimeError: ")
    assert "\n" not in msg and FILE in msg and "UnreadableFile" not in msg

def test_metric_mean_over_updates(lpips: LPIPS) -> None:
    metric = LPIPSMetric(lpips)
    assert metric.higher_is_better is False and metric.is_differentiable is True
    a, b = images(2, 32, seed=3), images(3, 32, seed=4)
    with torch.no_grad():
        metric.update(*a)
        metric.update(*b)
        per_image = torch.cat([lpips(*a), lpips(*b)])
        value = metric.compute()
    assert metric.total.item() == 5
    assert torch.allclose(value, per_image.mean(), rtol=0, atol=1e-7)
    metric.reset()
    assert metric.total.item() == 0 and metric.sum_scores.item() == 0
