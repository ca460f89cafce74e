"""Backbones from torchvision/timm and ImageNet weights through torchvision's weights API:
resolution (hub cache, download, path), strict loading and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision.models as tvm
from torch import nn

from semjscc.models.backbones import narrow_resnet
from semjscc.models.pretrained import (
    WeightsError,
    imagenet_weights,
    load_pretrained,
    resolve_weights,
)
from semjscc.registry import BACKBONES


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("arch, dim, params", [
    ("resnet18", 512, 11_689_512 - 513_000),   # torchvision's count minus fc
    ("resnet50", 2048, 25_557_032 - 2_049_000),
    ("alexnet", 4096, 61_100_840 - 4_097_000),
])
def test_torchvision_backbones_drop_only_the_last_layer(arch: str, dim: int, params: int) -> None:
    model = BACKBONES.build(arch)
    assert model.feature_dim == dim
    assert num_parameters(model) == params
    size = 64 if arch == "alexnet" else 32
    assert model.eval()(torch.rand(2, 3, size, size)).shape == (2, dim)


def test_resnet_tiny_is_narrow_with_a_small_input_stem() -> None:
    model = BACKBONES.build("resnet-tiny", width=16)
    assert model.feature_dim == 128
    assert model.conv1.stride == (1, 1) and isinstance(model.maxpool, nn.Identity)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 128)
    with pytest.raises(WeightsError, match="resnet-tiny has no ImageNet weights"):
        BACKBONES.build("resnet-tiny", weights="imagenet")


def test_registry_names() -> None:
    assert {"resnet18", "resnet50", "resnet-tiny", "alexnet"} <= set(BACKBONES.names())


# ---------------------------------------------------------------- weights


def assert_same_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_none_spec_means_random_init() -> None:
    for spec in (None, "none", "None"):
        assert resolve_weights("resnet50", spec) is None


def test_imagenet_resolves_from_hub_cache_and_loads_bit_identically(torch_home: Path) -> None:
    source = tvm.resnet18()
    source.layer1[0].bn1.running_mean.uniform_()  # buffers must round-trip too
    cached = torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    torch.save(source.state_dict(), cached)

    assert resolve_weights("resnet18", "imagenet") == cached
    assert_same_state(load_pretrained(tvm.resnet18(), cached), source)
    backbone = BACKBONES.build("resnet18", weights="imagenet")
    source.fc = nn.Identity()
    assert_same_state(backbone, source)


def test_imagenet_downloads_into_hub_cache_from_torchvision_url(
        torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_download(url: str, dst: str, hash_prefix: str | None = None,
                      progress: bool = True) -> None:
        calls.append((url, hash_prefix))
        Path(dst).write_bytes(b"stub")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    path = resolve_weights("alexnet", "imagenet")
    assert path == torch_home / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert calls == [(tvm.AlexNet_Weights.IMAGENET1K_V1.url, "7be5be79")]


def test_imagenet_not_cached_and_offline_is_one_clear_line(torch_home: Path) -> None:
    with pytest.raises(WeightsError) as err:
        resolve_weights("resnet50", "imagenet")
    msg = str(err.value)
    assert "\n" not in msg
    cache = torch_home / "hub" / "checkpoints"
    for part in ("resnet50-0676ba61.pth", str(cache), imagenet_weights("resnet50").url,
                 "network is unreachable", "pretrained: none"):
        assert part in msg
    assert not any(cache.iterdir())


def test_imagenet_for_unknown_arch_is_rejected(torch_home: Path) -> None:
    with pytest.raises(WeightsError, match="no ImageNet weights for 'resnet-tiny'"):
        resolve_weights("resnet-tiny", "imagenet")


def test_explicit_path_and_wrapped_checkpoints(tmp_path: Path) -> None:
    source = narrow_resnet(8)
    raw, wrapped = tmp_path / "raw.pt", tmp_path / "wrapped.ckpt"
    torch.save(source.state_dict(), raw)
    torch.save({"epoch": 3, "model": source.state_dict()}, wrapped)
    for path in (raw, wrapped):
        assert resolve_weights("resnet-tiny", str(path)) == path
        assert_same_state(load_pretrained(narrow_resnet(8), path), source)


def test_file_without_num_batches_tracked_loads(tmp_path: Path) -> None:
    source = narrow_resnet(8)
    path = tmp_path / "old.pth"
    torch.save({k: v for k, v in source.state_dict().items()
                if not k.endswith("num_batches_tracked")}, path)
    assert_same_state(load_pretrained(narrow_resnet(8), path), source)


def test_missing_file_error(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"weights file .*nope\.pth for 'resnet50' not found"):
        resolve_weights("resnet50", str(tmp_path / "nope.pth"))


def test_truncated_file_error(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pth"
    torch.save(narrow_resnet(8).state_dict(), path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(WeightsError) as err:
        load_pretrained(narrow_resnet(8), path)
    msg = str(err.value)
    assert "\n" not in msg
    assert f"cannot read weights file {path}" in msg and "truncated" in msg
    assert "download it again" in msg


def test_mismatched_architecture_error_leaves_model_untouched(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pth"
    torch.save(narrow_resnet(16).state_dict(), path)
    target = narrow_resnet(32)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(WeightsError) as err:
        load_pretrained(target, path)
    msg = str(err.value)
    assert "\n" not in msg and f"weights file {path} does not fit ResNet" in msg
    assert "shape mismatches" in msg and "conv1.weight (16, 3, 3, 3) vs (32, 3, 3, 3)" in msg
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())
    with pytest.raises(WeightsError, match=r"missing keys \(layer1\.1\.conv1\.weight"):
        load_pretrained(tvm.resnet18(), path)


def test_non_state_dict_file_error(tmp_path: Path) -> None:
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(WeightsError, match="holds a list, not a state_dict"):
        load_pretrained(narrow_resnet(8), path)


def test_pickled_module_is_refused_by_weights_only(tmp_path: Path) -> None:
    path = tmp_path / "module.pt"
    torch.save(narrow_resnet(8), path)
    with pytest.raises(WeightsError) as err:
        load_pretrained(narrow_resnet(8), path)
    msg = str(err.value)
    assert "\n" not in msg and "\x1b" not in msg
    assert "safe loading (weights_only=True) refuses" in msg
    assert "ResNet" in msg and "torch.save(model.state_dict()" in msg
