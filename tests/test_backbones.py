"""ResNet/AlexNet backbones: torchvision-identical layouts, feature interfaces, weight loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from semjscc.models.backbones import (
    AlexNet,
    FeatureBackbone,
    ResNet,
    alexnet,
    resnet18,
    resnet50,
    resnet_tiny,
)
from semjscc.models.pretrained import (
    OFFICIAL_WEIGHTS,
    WeightsError,
    build_backbone,
    load_pretrained,
    resolve_weights,
)
from semjscc.registry import BACKBONES

BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


@pytest.fixture(scope="module")
def r50() -> ResNet:
    return resnet50().eval()


@pytest.fixture(scope="module")
def alex() -> AlexNet:
    return alexnet().eval()


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def torchvision_resnet_keys(convs_per_block: int, layers: tuple[int, ...]) -> set[str]:
    """torchvision's ResNet key names, spelled out independently of the implementation."""
    keys = {"conv1.weight", "fc.weight", "fc.bias"} | {f"bn1.{k}" for k in BN_KEYS}
    for stage, num_blocks in enumerate(layers, start=1):
        for b in range(num_blocks):
            prefix = f"layer{stage}.{b}"
            for c in range(1, convs_per_block + 1):
                keys |= {f"{prefix}.conv{c}.weight"} | {f"{prefix}.bn{c}.{k}" for k in BN_KEYS}
            if b == 0 and (stage > 1 or convs_per_block == 3):
                keys |= {f"{prefix}.downsample.0.weight"}
                keys |= {f"{prefix}.downsample.1.{k}" for k in BN_KEYS}
    return keys


def test_parameter_counts_match_torchvision(r50: ResNet, alex: AlexNet) -> None:
    assert n_params(resnet18()) == 11_689_512
    assert n_params(r50) == 25_557_032
    assert n_params(alex) == 61_100_840


def test_resnet_state_dict_keys_match_torchvision(r50: ResNet) -> None:
    # ResNet-50: 53 convs (1 stem + 16 blocks × 3 + 4 downsample), each followed by a BN
    # with 5 entries, plus fc weight/bias: 53 + 53·5 + 2 = 320.
    state = r50.state_dict()
    assert len(state) == 320
    assert set(state) == torchvision_resnet_keys(3, (3, 4, 6, 3))
    assert set(resnet18().state_dict()) == torchvision_resnet_keys(2, (2, 2, 2, 2))
    assert state["layer4.2.conv3.weight"].shape == (2048, 512, 1, 1)
    assert state["layer2.0.conv2.weight"].shape == (128, 128, 3, 3)  # v1.5: stride on 3×3
    assert r50.layer2[0].conv2.stride == (2, 2) and r50.layer2[0].conv1.stride == (1, 1)
    assert state["layer1.0.downsample.1.running_var"].shape == (256,)
    assert state["conv1.weight"].shape == (64, 3, 7, 7)
    assert state["fc.weight"].shape == (1000, 2048)


def test_alexnet_state_dict_keys_match_torchvision(alex: AlexNet) -> None:
    shapes = {k: tuple(v.shape) for k, v in alex.state_dict().items()}
    assert shapes == {
        "features.0.weight": (64, 3, 11, 11), "features.0.bias": (64,),
        "features.3.weight": (192, 64, 5, 5), "features.3.bias": (192,),
        "features.6.weight": (384, 192, 3, 3), "features.6.bias": (384,),
        "features.8.weight": (256, 384, 3, 3), "features.8.bias": (256,),
        "features.10.weight": (256, 256, 3, 3), "features.10.bias": (256,),
        "classifier.1.weight": (4096, 9216), "classifier.1.bias": (4096,),
        "classifier.4.weight": (4096, 4096), "classifier.4.bias": (4096,),
        "classifier.6.weight": (1000, 4096), "classifier.6.bias": (1000,),
    }


@torch.no_grad()
def test_feature_dims_and_output_shapes(r50: ResNet, alex: AlexNet) -> None:
    x224, x32 = torch.randn(1, 3, 224, 224), torch.randn(2, 3, 32, 32)
    cases = [(r50, x224, 2048, 1000), (resnet18().eval(), x224, 512, 1000),
             (resnet18(small_input=True).eval(), x32, 512, 1000),
             (resnet_tiny().eval(), x32, 256, 10), (resnet_tiny(width=16).eval(), x32, 128, 10),
             (alex, x224, 4096, 1000)]
    for model, x, dim, classes in cases:
        assert isinstance(model, FeatureBackbone)
        assert model.feature_dim == dim
        assert model.forward_features(x).shape == (len(x), dim)
        assert model(x).shape == (len(x), classes)


@torch.no_grad()
def test_small_input_stem_keeps_resolution_and_keys() -> None:
    model = resnet18(small_input=True)
    assert model.conv1.weight.shape == (64, 3, 3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, nn.Identity)
    assert set(model.state_dict()) == set(resnet18().state_dict())
    stem = model.relu(model.bn1(model.conv1(torch.randn(1, 3, 32, 32))))
    assert model.layer4(model.layer3(model.layer2(model.layer1(stem)))).shape == (1, 512, 4, 4)


def test_zero_init_residual_starts_blocks_at_identity() -> None:
    for model in (resnet18(zero_init_residual=True), resnet50(zero_init_residual=True)):
        blocks = [b for stage in (model.layer1, model.layer2, model.layer3, model.layer4)
                  for b in stage]
        assert all(torch.all(b.last_bn.weight == 0) for b in blocks)
    assert torch.all(resnet18().layer1[0].bn2.weight == 1)


@torch.no_grad()
def test_alexnet_lpips_features(alex: AlexNet) -> None:
    for size, spatial in ((64, (15, 7, 3, 3, 3)), (32, (7, 3, 1, 1, 1))):
        taps = alex.lpips_features(torch.randn(2, 3, size, size))
        assert [t.shape for t in taps] == [
            (2, c, s, s) for c, s in zip((64, 192, 384, 256, 256), spatial)]
        assert all(torch.all(t >= 0) for t in taps)  # taken after the ReLUs


@torch.no_grad()
def test_alexnet_forward_features_is_penultimate(alex: AlexNet) -> None:
    x = torch.randn(2, 3, 64, 64)
    assert torch.allclose(alex.classifier[6](alex.forward_features(x)), alex(x))


def test_registry_names() -> None:
    assert {"resnet18", "resnet50", "resnet-tiny", "alexnet"} <= set(BACKBONES.names())
    assert isinstance(BACKBONES.build("resnet-tiny", width=16), ResNet)


# ---------------------------------------------------------------- weights


def assert_same_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_none_spec_means_random_init() -> None:
    assert resolve_weights("resnet50", None) is None
    assert resolve_weights("resnet50", "none") is None
    assert resolve_weights("resnet50", "None") is None


def test_imagenet_resolves_from_hub_cache_and_loads_bit_identically(torch_home: Path) -> None:
    source = resnet18()
    source.layer1[0].bn1.running_mean.uniform_()  # buffers must round-trip too
    source.layer1[0].bn1.num_batches_tracked += 7
    cached = torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    torch.save(source.state_dict(), cached)

    assert resolve_weights("resnet18", "imagenet") == cached
    assert_same_state(load_pretrained(resnet18(), cached), source)
    assert_same_state(build_backbone("resnet18", "imagenet"), source)


def test_imagenet_downloads_into_hub_cache(torch_home: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_download(url: str, dst: str, hash_prefix: str | None = None,
                      progress: bool = True) -> None:
        calls.append((url, hash_prefix))
        Path(dst).write_bytes(b"stub")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    path = resolve_weights("alexnet", "imagenet")
    assert path == torch_home / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert calls == [("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", "7be5be79")]


def test_imagenet_not_cached_and_offline_is_one_clear_line(torch_home: Path) -> None:
    with pytest.raises(WeightsError) as err:
        resolve_weights("resnet50", "imagenet")
    msg = str(err.value)
    assert "\n" not in msg
    cache = torch_home / "hub" / "checkpoints"
    for part in ("resnet50-0676ba61.pth", str(cache), OFFICIAL_WEIGHTS["resnet50"].url,
                 "network is unreachable", "pretrained: none"):
        assert part in msg
    assert not any(cache.iterdir())


def test_imagenet_for_unknown_arch_is_rejected(torch_home: Path) -> None:
    with pytest.raises(WeightsError, match="no official ImageNet weights for 'resnet-tiny'"):
        resolve_weights("resnet-tiny", "imagenet")


def test_explicit_path_and_wrapped_checkpoints(tmp_path: Path) -> None:
    source = resnet_tiny()
    raw, wrapped = tmp_path / "raw.pt", tmp_path / "wrapped.ckpt"
    torch.save(source.state_dict(), raw)
    torch.save({"epoch": 3, "model": source.state_dict()}, wrapped)
    for path in (raw, wrapped):
        assert resolve_weights("resnet-tiny", str(path)) == path
        assert_same_state(load_pretrained(resnet_tiny(), path), source)


def test_file_without_num_batches_tracked_loads(tmp_path: Path) -> None:
    source = resnet_tiny()
    path = tmp_path / "old.pth"
    torch.save({k: v for k, v in source.state_dict().items()
                if not k.endswith("num_batches_tracked")}, path)
    assert_same_state(load_pretrained(resnet_tiny(), path), source)


def test_missing_file_error(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"weights file .*nope\.pth for 'resnet50' not found"):
        resolve_weights("resnet50", str(tmp_path / "nope.pth"))


def test_truncated_file_error(tmp_path: Path) -> None:
    path = tmp_path / "resnet-tiny.pth"
    torch.save(resnet_tiny().state_dict(), path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(WeightsError) as err:
        load_pretrained(resnet_tiny(), path)
    msg = str(err.value)
    assert "\n" not in msg
    assert f"cannot read weights file {path}" in msg and "truncated" in msg
    assert "download it again" in msg


def test_mismatched_architecture_error_leaves_model_untouched(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pth"
    torch.save(resnet_tiny(width=16).state_dict(), path)
    target = resnet_tiny(num_classes=7)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(WeightsError) as err:
        load_pretrained(target, path)
    msg = str(err.value)
    assert "\n" not in msg and f"weights file {path} does not fit ResNet" in msg
    assert "shape mismatches" in msg and "conv1.weight (16, 3, 3, 3) vs (32, 3, 3, 3)" in msg
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())

    with pytest.raises(WeightsError, match=r"missing keys \(layer1\.1\.conv1\.weight"):
        load_pretrained(resnet18(), path)


def test_non_state_dict_file_error(tmp_path: Path) -> None:
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(WeightsError, match="holds a list, not a state_dict"):
        load_pretrained(resnet_tiny(), path)


def test_pickled_module_is_refused_by_weights_only(tmp_path: Path) -> None:
    path = tmp_path / "module.pt"
    torch.save(resnet_tiny(), path)
    with pytest.raises(WeightsError) as err:
        load_pretrained(resnet_tiny(), path)
    msg = str(err.value)
    assert "\n" not in msg and "\x1b" not in msg
    assert "safe loading (weights_only=True) refuses" in msg
    assert "semjscc.models.backbones.ResNet" in msg and "torch.save(model.state_dict()" in msg

