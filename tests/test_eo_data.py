"""The Earth-observation dataset kinds: ``eurosat`` (files on disk) and ``synthetic-eo``."""

from __future__ import annotations

import logging
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from timm.models.resnet import BasicBlock, ResNet
from torchvision.transforms.functional import gaussian_blur

from semjscc.config import DataConfig
from semjscc.data import (
    DataError,
    EuroSAT,
    SyntheticEO,
    build_dataset,
    num_classes_of,
    split_manifest,
)
from semjscc.data.eurosat import CLASS_NAMES, URL
from semjscc.data.landcover import RENDERERS
from semjscc.data.synthetic_eo import patch_for

PER_CLASS = 6
LAYOUTS = ("", "2750", "eurosat/2750")  # archive class folders, unzipped archive, torchvision


def red_of(class_id: int) -> int:
    """The red value that encodes the class of a test image."""
    return 20 + 20 * class_id


def write_eurosat(root: Path, per_class: int = PER_CLASS) -> Path:
    """``root/<ClassName>/<ClassName>_<n>.jpg``: 64x64 solid JPEGs, red channel = class."""
    for class_id, name in enumerate(CLASS_NAMES):
        folder = root / name
        folder.mkdir(parents=True)
        for n in range(1, per_class + 1):
            colour = (red_of(class_id), 200 - 10 * n, 128)
            Image.new("RGB", (64, 64), colour).save(folder / f"{name}_{n}.jpg")
    return root


def eurosat_config(root: Path | None, **changes) -> DataConfig:
    cfg = DataConfig(kind="eurosat", root=root and str(root), image_size=32, val_fraction=0.2)
    return replace(cfg, **changes)


@pytest.fixture
def eurosat_root(tmp_path: Path) -> Path:
    return write_eurosat(tmp_path / "EuroSAT")


# ----------------------------------------------------------------------------- eurosat


def test_eurosat_splits_are_stratified_disjoint_and_match_the_manifest(eurosat_root) -> None:
    cfg = eurosat_config(eurosat_root)
    assert num_classes_of(cfg) == 10
    manifest = split_manifest(cfg)
    assert sorted(manifest) == ["test", "train", "val"]
    parts = {s: build_dataset(cfg, s) for s in ("train", "val", "test", "db", "query")}
    for split, per_class in (("train", 4), ("val", 1), ("test", 1)):
        ds = parts[split]
        assert isinstance(ds, EuroSAT) and ds.class_names == CLASS_NAMES
        assert ds.labels.sum(0).tolist() == [per_class] * 10
        assert ds.relative_paths == manifest[split]
        assert all(p == str(eurosat_root / r) for p, r in zip(ds.paths, ds.relative_paths))
    assert parts["db"].relative_paths == manifest["train"]
    assert parts["query"].relative_paths == manifest["test"]
    files = [set(manifest[s]) for s in ("train", "val", "test")]
    assert not (files[0] & files[1] or files[0] & files[2] or files[1] & files[2])
    assert len(set.union(*files)) == 10 * PER_CLASS
    assert split_manifest(cfg) == manifest  # deterministic
    assert split_manifest(replace(cfg, seed=1)) != manifest


def test_eurosat_items_are_resized_one_hot_and_match_their_folder(eurosat_root) -> None:
    ds = build_dataset(eurosat_config(eurosat_root), "train")
    for i in range(0, len(ds), 7):
        item = ds[i]
        image, label = item["image"], item["label"]
        assert image.shape == (3, 32, 32) and image.dtype == torch.float32
        assert label.shape == (10,) and label.sum() == 1 and set(label.tolist()) <= {0.0, 1.0}
        class_id = int(label.argmax())
        assert ds.relative_paths[i].split("/")[0] == CLASS_NAMES[class_id]
        assert abs(float(image[0].mean()) * 255 - red_of(class_id)) < 4
        assert item["index"] == i


def test_eurosat_reads_every_layout_with_the_same_split(tmp_path: Path) -> None:
    reference = None
    for layout in LAYOUTS:
        root = tmp_path / f"root{len(layout)}"
        write_eurosat(root / layout)
        manifest = split_manifest(eurosat_config(root))
        reference = reference or manifest
        assert manifest == reference
        test = build_dataset(eurosat_config(root), "test")
        assert test.folder == root / layout and test.relative_paths == manifest["test"]


@pytest.mark.parametrize(
    ("damage", "needles"),
    [
        (lambda root: shutil.rmtree(root), ["does not exist", URL]),
        (lambda root: shutil.rmtree(root / "River"), ["River", "partial download", URL]),
        (lambda root: [shutil.rmtree(root / n) for n in CLASS_NAMES], ["AnnualCrop", "SeaLake"]),
        (lambda root: [p.unlink() for p in (root / "Forest").iterdir()], ["Forest", "no images"]),
        (lambda root: [p.rename(p.with_suffix(".txt")) for p in (root / "Pasture").iterdir()],
         ["Pasture", "no images", URL]),
    ],
)
def test_eurosat_missing_data_is_a_one_line_error_naming_it(eurosat_root, damage, needles) -> None:
    damage(eurosat_root)
    with pytest.raises(DataError) as info:
        build_dataset(eurosat_config(eurosat_root), "train")
    message = str(info.value)
    assert "\n" not in message and "torchvision.datasets.EuroSAT" in message
    for needle in needles:
        assert needle in message


def test_eurosat_config_errors(eurosat_root) -> None:
    with pytest.raises(DataError, match=f"data.root is not set.*{re.escape(URL)}"):
        build_dataset(eurosat_config(None), "val")
    with pytest.raises(DataError, match=r"data\.num_classes=5 .* has 10 classes"):
        build_dataset(eurosat_config(eurosat_root, num_classes=5), "train")
    with pytest.raises(DataError, match=r"split 'val' .* is empty .*data\.val_fraction=0\.01"):
        build_dataset(eurosat_config(eurosat_root, val_fraction=0.01), "val")


def test_eurosat_warns_once_about_an_unusual_image_count(
    eurosat_root, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="semjscc.data"):
        for split in ("train", "val", "test"):
            build_dataset(eurosat_config(eurosat_root), split)
    warnings = [r.getMessage() for r in caplog.records if r.name == "semjscc.data"]
    assert len(warnings) == 1 and "60 EuroSAT images, not 27000" in warnings[0]


def test_eurosat_skips_an_unreadable_file(eurosat_root) -> None:
    (eurosat_root / "Highway" / "Highway_1.jpg").write_bytes(b"not a jpeg")
    cfg = eurosat_config(eurosat_root, val_fraction=0.0, test_fraction=0.0)
    ds = build_dataset(cfg, "train")
    assert len(ds) == 10 * PER_CLASS - 1 and "Highway/Highway_1.jpg" not in ds.relative_paths
    assert len(split_manifest(cfg)["train"]) == 10 * PER_CLASS  # the manifest lists the files


# ----------------------------------------------------------------------------- synthetic-eo


def eo_config(**changes) -> DataConfig:
    counts = {"train": 40, "val": 20, "test": 30, "db": 5}
    return replace(DataConfig(kind="synthetic-eo", image_size=64, num_images=counts), **changes)


def test_synthetic_eo_is_deterministic_and_splits_are_distinct_streams() -> None:
    a, b = build_dataset(eo_config(), "train"), build_dataset(eo_config(), "train")
    for i in (0, 13, 39):
        assert torch.equal(a[i]["image"], b[i]["image"])
        assert torch.equal(a[i]["image"], a[i]["image"])  # cached copy
        expected = torch.from_numpy(patch_for(0, "train", i, 64)).permute(2, 0, 1) / 255
        assert torch.equal(a[i]["image"], expected)
    images = {
        (seed, split): torch.stack([build_dataset(eo_config(seed=seed), split)[i]["image"]
                                    for i in range(10)])
        for seed, split in ((0, "train"), (0, "val"), (0, "test"), (1, "train"))
    }
    keys = list(images)
    for i, first in enumerate(keys):
        for second in keys[i + 1:]:
            assert (images[first] - images[second]).abs().mean(dim=(1, 2, 3)).min() > 0.01
    assert torch.equal(build_dataset(eo_config(), "query")[3]["image"], images[0, "test"][3])
    db = build_dataset(eo_config(), "db")
    assert len(db) == 40 and torch.equal(db[5]["image"], a[5]["image"])  # db = train


@pytest.mark.parametrize("size", [24, 64])
def test_synthetic_eo_items_have_documented_shapes_ranges_and_labels(size: int) -> None:
    ds = build_dataset(eo_config(image_size=size), "val")
    assert len(ds) == 20 and isinstance(ds, SyntheticEO) and ds.class_names == CLASS_NAMES
    labels = []
    for i in range(len(ds)):
        item = ds[i]
        image, label = item["image"], item["label"]
        assert image.shape == (3, size, size) and image.dtype == torch.float32
        assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.01
        assert torch.equal((image * 255).round() / 255, image)  # 8-bit pixels
        assert label.dtype == torch.float32 and set(label.tolist()) == {0.0, 1.0}
        assert label.sum() == 1 and int(label.argmax()) == i % 10 and item["index"] == i
        labels.append(label)
    assert torch.stack(labels).sum(0).tolist() == [2.0] * 10
    with pytest.raises(IndexError):
        ds[20]


def test_synthetic_eo_classes_look_like_their_names() -> None:
    """Coarse colour statistics per class over 12 images each (EuroSAT order)."""
    stats = {}
    for name in CLASS_NAMES:
        images = np.stack([patch_for(3, "train", 10 * k + CLASS_NAMES.index(name), 32)
                           for k in range(12)]).astype(np.float32) / 255
        r, g, b = images.mean(axis=(0, 1, 2))
        stats[name] = {"bright": (r + g + b) / 3, "blue": b - (r + g) / 2, "green": g - (r + b) / 2}
    water = ("River", "SeaLake")
    assert stats["SeaLake"]["blue"] > max(stats[n]["blue"] for n in CLASS_NAMES if n not in water)
    assert stats["Forest"]["bright"] == min(s["bright"] for s in stats.values())
    assert stats["Industrial"]["bright"] == max(s["bright"] for s in stats.values())
    for name in ("Forest", "HerbaceousVegetation", "Pasture", "PermanentCrop"):
        assert stats[name]["green"] > 0.02, name


def test_synthetic_eo_blur_removes_the_fine_cues() -> None:
    """Crop rows, orchard crowns and lane marks are fine structure; pasture is smooth."""
    def detail(name: str) -> float:
        images = torch.stack([
            torch.from_numpy(patch_for(0, "train", 10 * k + CLASS_NAMES.index(name), 64))
            .permute(2, 0, 1).float() / 255 for k in range(8)
        ])
        return float((images - gaussian_blur(images, kernel_size=11, sigma=1.5)).abs().mean())

    smooth = detail("Pasture")
    assert detail("HerbaceousVegetation") > smooth  # close: a deliberately confusable pair
    for name in ("AnnualCrop", "Highway", "Industrial", "PermanentCrop", "Residential"):
        assert detail(name) > 1.5 * smooth, name


def test_synthetic_eo_config_and_errors() -> None:
    assert num_classes_of(eo_config()) == 10
    sizes = {s: len(build_dataset(eo_config(), s)) for s in ("train", "val", "test", "db")}
    assert sizes == {"train": 40, "val": 20, "test": 30, "db": 40}
    with pytest.raises(DataError, match=r"data\.num_images has no 'val' entry"):
        build_dataset(eo_config(num_images={"train": 5}), "val")
    with pytest.raises(DataError, match=r"data\.num_images\.train=0.*positive"):
        build_dataset(eo_config(num_images={"train": 0}), "db")
    with pytest.raises(DataError, match=r"data\.num_classes=3 .* has 10 classes"):
        build_dataset(eo_config(num_classes=3), "train")


def test_synthetic_eo_renders_fast() -> None:
    assert list(RENDERERS) == list(CLASS_NAMES)
    start = time.perf_counter()
    for i in range(200):
        patch_for(0, "test", i, 64)
    rate = 200 / (time.perf_counter() - start)
    assert rate > 150, f"{rate:.0f} images/s"  # about 900/s on one idle core


# ----------------------------------------------------------------------------- calibration


def train_calibration_classifier(seed: int = 0) -> dict[str, float]:
    """Train the small ResNet on 4,000 clean synthetic-eo images (64 px, 5 epochs, AdamW
    3e-3 with cosine decay, batch 64); -> test accuracy on 1,000 clean, blurred (sigma 1.5 px)
    and noisy (std 0.1) images, and the training seconds."""
    torch.set_num_threads(2)

    def tensors(split: str, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        ds = SyntheticEO(count, 64, split, seed)
        return torch.stack([ds[i]["image"] for i in range(count)]), torch.arange(count) % 10

    x_train, y_train = tensors("train", 4000)
    x_test, y_test = tensors("test", 1000)
    torch.manual_seed(seed)
    model = ResNet(BasicBlock, (1, 1, 1, 1), num_classes=10, channels=(16, 32, 64, 128),
                   stem_width=16)
    epochs, batch = 5, 64
    steps = epochs * (len(x_train) // batch)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    order = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x_train), generator=order)
        for first in range(0, steps // epochs * batch, batch):
            idx = perm[first:first + batch]
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    seconds = time.perf_counter() - start
    model.eval()

    @torch.no_grad()
    def accuracy(x: torch.Tensor) -> float:
        pred = torch.cat([model(chunk).argmax(1) for chunk in x.split(250)])
        return float((pred == y_test).float().mean())

    noise = torch.randn(x_test.shape, generator=torch.Generator().manual_seed(seed + 1))
    return {
        "clean": accuracy(x_test),
        "blur": accuracy(gaussian_blur(x_test, kernel_size=11, sigma=1.5)),
        "noise": accuracy((x_test + 0.1 * noise).clamp(0, 1)),
        "seconds": seconds,
    }


@pytest.mark.slow
def test_synthetic_eo_is_learnable_but_not_trivial_and_degradations_hurt() -> None:
    result = train_calibration_classifier()
    assert 0.85 <= result["clean"] <= 0.99, result
    assert result["blur"] <= result["clean"] - 0.10, result
    assert result["noise"] <= result["clean"] - 0.10, result
