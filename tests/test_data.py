"""Behaviour of semjscc.data: synthetic shapes, list files, image folders, loaders, errors."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset, DistributedSampler

from semjscc.config import DataConfig
from semjscc.data import (
    CLASS_NAMES,
    DataError,
    SyntheticShapes,
    build_dataset,
    collate_items,
    make_loader,
    num_classes_of,
)
from semjscc.errors import SemjsccError
from semjscc.registry import DATASETS

# ----------------------------------------------------------------------------- helpers


def write_image(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (20, 12)) -> Path:
    """A solid-colour image; the format follows the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def write_list(path: Path, rows: list[tuple[str, list[int]]]) -> Path:
    path.write_text("".join(f"{name} {' '.join(map(str, labels))}\n" for name, labels in rows))
    return path


def list_config(root: Path, **lists: str) -> DataConfig:
    return DataConfig(kind="list", root=str(root), image_size=16, lists=dict(lists))


@pytest.fixture
def nus(tmp_path: Path) -> Path:
    """A tiny NUS-WIDE style layout: 20 train images (PNG and JPEG), 4 test images, 4 labels."""
    rows = []
    for i in range(20):
        name = f"images/train_{i:02d}.{'png' if i % 2 else 'jpg'}"
        write_image(tmp_path / name, (10 * i, 255 - 10 * i, 128))
        rows.append((name, [int(b) for b in np.binary_repr(i % 15 + 1, width=4)]))
    write_list(tmp_path / "train.txt", rows)
    tests = [(f"images/test_{i}.png", [1, 0, 0, i % 2]) for i in range(4)]
    for name, _ in tests:
        write_image(tmp_path / name, (0, 0, 255))
    write_list(tmp_path / "test.txt", tests)
    return tmp_path


@pytest.fixture
def eurosat(tmp_path: Path) -> Path:
    """root/<class>/*.png with 3 classes of 10 images each."""
    for name in ("Forest", "AnnualCrop", "River"):
        for i in range(10):
            write_image(tmp_path / name / f"{name}_{i}.png", (i, 2 * i, 3 * i), size=(8, 8))
    return tmp_path


# ----------------------------------------------------------------------------- synthetic


def test_synthetic_is_deterministic_across_instances() -> None:
    a, b = SyntheticShapes(50, 32, "train", seed=3), SyntheticShapes(50, 32, "train", seed=3)
    for i in (0, 7, 49):
        assert torch.equal(a[i]["image"], b[i]["image"])
        assert torch.equal(a[i]["label"], b[i]["label"])


def test_synthetic_split_built_again_renders_nothing_twice(monkeypatch) -> None:
    """Every epoch's validation and every run of a sweep builds its splits again: they share
    the process's renders, and what they serve equals a fresh render with its labels."""
    import semjscc.data.synthetic as synthetic

    calls: list[int] = []
    render = synthetic.render_scene
    monkeypatch.setattr(synthetic, "render_scene",
                        lambda scene, size: calls.append(size) or render(scene, size))
    a = SyntheticShapes(20, 32, "val", seed=11)
    first = [a[i] for i in range(20)]
    b = SyntheticShapes(20, 32, "val", seed=11)
    again = [b[i] for i in range(20)]
    assert len(calls) == 20
    for i, (x, y) in enumerate(zip(first, again)):
        scene = synthetic.scene_for(11, "val", i)
        assert torch.equal(y["image"], torch.from_numpy(render(scene, 32)).permute(2, 0, 1))
        assert torch.equal(y["label"], torch.from_numpy(scene.labels(10)))
        assert torch.equal(x["label"], y["label"])
    SyntheticShapes(20, 32, "val", seed=12)[0]
    assert len(calls) == 21  # another seed is another split


def test_synthetic_seeds_and_splits_differ_and_query_aliases_test() -> None:
    base = SyntheticShapes(5, 32, "train", seed=0)[2]["image"]
    for other in (SyntheticShapes(5, 32, "train", seed=1), SyntheticShapes(5, 32, "val", seed=0)):
        assert not torch.equal(base, other[2]["image"])
    assert torch.equal(
        SyntheticShapes(5, 32, "test")[4]["image"], SyntheticShapes(5, 32, "query")[4]["image"]
    )


@pytest.mark.parametrize("size", [32, 64])
def test_synthetic_items_have_documented_shapes_and_ranges(size: int) -> None:
    ds = SyntheticShapes(40, size)
    assert len(ds) == 40
    for i in range(len(ds)):
        item = ds[i]
        image, label = item["image"], item["label"]
        assert image.shape == (3, size, size) and image.dtype == torch.float32
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert image.std() > 0.05  # not a flat picture
        assert label.shape == (len(CLASS_NAMES),) and label.dtype == torch.float32
        assert set(label.tolist()) <= {0.0, 1.0} and 1 <= label.sum() <= 3
        assert item["index"] == i
    with pytest.raises(IndexError):
        ds[40]


def test_synthetic_classes_all_appear_in_a_few_hundred_images() -> None:
    assert len(set(CLASS_NAMES)) == len(CLASS_NAMES) >= 8
    assert SyntheticShapes.class_names == CLASS_NAMES
    ds = SyntheticShapes(300, 8)
    counts = torch.stack([ds[i]["label"] for i in range(len(ds))]).sum(0)
    assert counts.min() >= 20, dict(zip(CLASS_NAMES, counts.tolist()))
    assert 1.3 < counts.sum() / len(ds) < 2.5  # 1-3 objects per image


def test_synthetic_splits_are_disjoint() -> None:
    def fingerprints(split: str) -> set[bytes]:
        ds = SyntheticShapes(150, 8, split)
        return {ds[i]["image"].numpy().tobytes() for i in range(len(ds))}

    train, val, test, db = (fingerprints(s) for s in ("train", "val", "test", "db"))
    assert len(train) == 150
    assert not (train & val or train & test or train & db or test & db or val & test)


def test_synthetic_scene_agrees_across_resolutions() -> None:
    small, large = SyntheticShapes(12, 32), SyntheticShapes(12, 128)
    for i in range(len(small)):
        down = F.avg_pool2d(large[i]["image"][None], 4)[0]
        assert (small[i]["image"] - down).abs().mean() < 0.03
        assert torch.equal(small[i]["label"], large[i]["label"])


def test_build_synthetic_from_config_uses_num_images_per_split() -> None:
    cfg = DataConfig(num_images={"train": 7, "val": 3, "query": 4, "db": 5}, image_size=16)
    sizes = {split: len(build_dataset(cfg, split)) for split in ("train", "val", "test", "db")}
    assert sizes == {"train": 7, "val": 3, "test": 4, "db": 5}
    assert build_dataset(cfg, "query")[0]["image"].shape == (3, 16, 16)
    assert num_classes_of(cfg) == len(CLASS_NAMES)
    assert {"folder", "list", "synthetic"} <= set(DATASETS.names())


@pytest.mark.parametrize(
    ("cfg", "split", "needles"),
    [
        (DataConfig(num_images={"train": 5}), "val", ["data.num_images", "'val'"]),
        (DataConfig(num_images={"train": 0}), "train", ["data.num_images.train=0", "positive"]),
        (DataConfig(), "validation", ["'validation'", "train, val, test, db"]),
        (DataConfig(num_classes=21), "train", ["data.num_classes=21", "set it to 10"]),
        (DataConfig(image_size=0), "train", ["data.image_size=0", "positive"]),
    ],
)
def test_config_errors_name_key_and_fix(cfg: DataConfig, split: str, needles: list[str]) -> None:
    with pytest.raises(DataError) as info:
        build_dataset(cfg, split)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


def test_unknown_kind_lists_the_registered_kinds() -> None:
    with pytest.raises(SemjsccError, match="'nuswide'; choose one of: .*folder, list, synthetic"):
        build_dataset(DataConfig(kind="nuswide"), "train")


# ----------------------------------------------------------------------------- list kind


def test_list_round_trip(nus: Path) -> None:
    cfg = list_config(nus, train="train.txt", query=str(nus / "test.txt"))
    assert num_classes_of(cfg) == 4
    test = build_dataset(cfg, "test")
    assert len(test) == 4 and test.class_names == ("label0", "label1", "label2", "label3")
    item = test[3]
    assert item["image"].shape == (3, 16, 16) and item["image"].dtype == torch.float32
    assert torch.allclose(item["image"][:, 5, 5], torch.tensor([0.0, 0.0, 1.0]))
    assert item["label"].tolist() == [1.0, 0.0, 0.0, 1.0] and item["index"] == 3
    jpeg = build_dataset(cfg, "db")[0]["image"]  # solid (0, 255, 128), lossy
    assert torch.allclose(jpeg[:, 8, 8], torch.tensor([0.0, 1.0, 128 / 255]), atol=0.03)


def test_list_val_is_carved_from_train_and_db_defaults_to_full_train(nus: Path) -> None:
    cfg = replace(list_config(nus, train="train.txt", test="test.txt"), val_fraction=0.25)
    parts = {s: build_dataset(cfg, s) for s in ("train", "val", "db")}
    names = {s: {Path(p).name for p in ds.paths} for s, ds in parts.items()}
    assert (len(parts["train"]), len(parts["val"]), len(parts["db"])) == (15, 5, 20)
    assert not names["train"] & names["val"] and names["train"] | names["val"] == names["db"]
    assert build_dataset(cfg, "val").paths == parts["val"].paths  # deterministic
    assert build_dataset(replace(cfg, seed=1), "val").paths != parts["val"].paths
    by_name = {Path(p).name: parts["db"].labels[i] for i, p in enumerate(parts["db"].paths)}
    for i, path in enumerate(parts["val"].paths):
        assert torch.equal(parts["val"].labels[i], by_name[Path(path).name])


def test_list_explicit_val_list_leaves_train_whole(nus: Path) -> None:
    cfg = list_config(nus, train="train.txt", val="test.txt", test="test.txt")
    assert (len(build_dataset(cfg, "train")), len(build_dataset(cfg, "val"))) == (20, 4)


@pytest.mark.parametrize(
    ("line", "num_classes", "needles"),
    [
        ("images/test_0.png 1 0 1", None, [":3:", "found 3 labels, expected 4"]),
        ("images/test_0.png 1 0 1 1 1", 4, [":3:", "found 5 labels, expected 4"]),
        ("images/test_0.png 1 0 2 1", None, [":3:", "'2' is not 0 or 1"]),
        ("images/test_0.png", None, [":3:", "found 0 labels"]),
    ],
)
def test_list_bad_lines_name_file_and_line(
    nus: Path, line: str, num_classes: int | None, needles: list[str]
) -> None:
    lines = (nus / "test.txt").read_text().splitlines()
    lines[2] = line
    (nus / "bad.txt").write_text("\n".join(lines) + "\n")
    cfg = replace(list_config(nus, train="train.txt", test="bad.txt"), num_classes=num_classes)
    with pytest.raises(DataError) as info:
        build_dataset(cfg, "test")
    assert str(nus / "bad.txt") in str(info.value)
    for needle in needles:
        assert needle in str(info.value)


def test_list_num_classes_given_must_match_first_line(nus: Path) -> None:
    cfg = replace(list_config(nus, train="train.txt", test="test.txt"), num_classes=21)
    assert num_classes_of(cfg) == 21
    with pytest.raises(DataError, match=r"train\.txt:1: found 4 labels, expected 21"):
        build_dataset(cfg, "train")


@pytest.mark.parametrize(
    ("make_cfg", "split", "needles"),
    [
        (lambda r: list_config(r, train="train.txt", test="nope.txt"), "test",
         ["nope.txt not found", "data.lists.test"]),
        (lambda r: list_config(r, train="train.txt"), "query",
         ["no 'test' list", "data.lists.test="]),
        (lambda r: list_config(r, test="test.txt"), "val",
         ["no 'train' list", "data.lists.train="]),
        (lambda r: list_config(r / "missing", train="train.txt"), "train",
         ["missing does not exist", "data.root"]),
        (lambda r: replace(list_config(r, train="train.txt"), root=None), "train",
         ["data.root is not set"]),
        (lambda r: replace(list_config(r, train="train.txt"), val_fraction=0.01), "val",
         ["empty", "data.val_fraction=0.01", "data.lists.val"]),
        (lambda r: replace(list_config(r, train="train.txt"), val_fraction=1.0), "val",
         ["data.val_fraction=1.0", "less than 1"]),
        (lambda r: replace(list_config(r, train="train.txt"), on_bad_image="ignore"), "train",
         ["data.on_bad_image='ignore'", "skip, error"]),
    ],
)
def test_list_config_errors_name_path_and_fix(nus: Path, make_cfg, split: str, needles) -> None:
    with pytest.raises(DataError) as info:
        build_dataset(make_cfg(nus), split)
    assert "\n" not in str(info.value)
    for needle in needles:
        assert needle in str(info.value)


def test_empty_or_unlabelled_list_file_is_an_error(nus: Path) -> None:
    (nus / "empty.txt").write_text("\n")
    with pytest.raises(DataError, match="empty.txt is empty"):
        build_dataset(list_config(nus, train="train.txt", test="empty.txt"), "test")
    (nus / "bare.txt").write_text("\nimages/test_0.png\n")
    with pytest.raises(DataError, match=r"bare\.txt:2: no labels after the image path"):
        num_classes_of(list_config(nus, train="bare.txt"))


def test_skip_mode_drops_missing_and_corrupt_images_with_one_warning(
    nus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (nus / "images/train_03.png").unlink()
    (nus / "images/train_06.jpg").write_bytes(b"this is not a jpeg" * 20)
    cfg = list_config(nus, train="train.txt", test="test.txt")
    with caplog.at_level(logging.WARNING, logger="semjscc.data"):
        ds = build_dataset(cfg, "db")
    assert len(ds) == 18
    assert not any(p.endswith(("train_03.png", "train_06.jpg")) for p in ds.paths)
    warnings = [r for r in caplog.records if r.name == "semjscc.data"]
    assert len(warnings) == 1
    assert "skipping 2 of 20" in warnings[0].getMessage()
    assert "train_03.png" in warnings[0].getMessage()
    assert all(ds[i] is not None for i in range(len(ds)))


def test_skip_mode_with_no_readable_image_is_an_error(nus: Path) -> None:
    for path in (nus / "images").glob("test_*.png"):
        path.write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"none of its 4 images can be read .*test_0\.png"):
        build_dataset(list_config(nus, train="train.txt", test="test.txt"), "test")


def test_error_mode_raises_naming_the_bad_file(nus: Path) -> None:
    (nus / "images/test_2.png").write_bytes(b"garbage")
    cfg = replace(list_config(nus, train="train.txt", test="test.txt"), on_bad_image="error")
    ds = build_dataset(cfg, "test")
    assert len(ds) == 4 and ds[1] is not None
    with pytest.raises(DataError) as info:
        ds[2]
    assert str(nus / "images/test_2.png") in str(info.value)
    assert "data.on_bad_image=skip" in str(info.value)


def test_skip_mode_returns_none_for_an_image_that_fails_to_decode(nus: Path) -> None:
    path = nus / "images/test_1.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:1000])  # header intact, scan data cut short
    rows = [("images/test_0.png", [1, 0, 0, 0]), ("images/test_1.jpg", [0, 1, 0, 0])]
    write_list(nus / "q.txt", rows)
    ds = build_dataset(list_config(nus, train="train.txt", test="q.txt"), "test")
    assert len(ds) == 2 and ds[0] is not None and ds[1] is None
    batches = list(make_loader(ds, 2, shuffle=False, seed=0))
    assert len(batches) == 1 and batches[0]["index"].tolist() == [0]


# ----------------------------------------------------------------------------- folder kind


def test_folder_split_is_stratified_deterministic_and_one_hot(eurosat: Path) -> None:
    cfg = DataConfig(kind="folder", root=str(eurosat), image_size=8, val_fraction=0.2)
    assert num_classes_of(cfg) == 3
    parts = {s: build_dataset(cfg, s) for s in ("train", "val", "test", "db")}
    assert parts["train"].class_names == ("AnnualCrop", "Forest", "River")
    for split, per_class in (("train", 6), ("val", 2), ("test", 2)):
        assert parts[split].labels.sum(0).tolist() == [per_class] * 3
    assert parts["db"].paths == parts["train"].paths
    files = [set(parts[s].paths) for s in ("train", "val", "test")]
    assert not (files[0] & files[1] or files[0] & files[2] or files[1] & files[2])
    assert len(set.union(*files)) == 30
    assert build_dataset(cfg, "val").paths == parts["val"].paths
    assert build_dataset(replace(cfg, seed=5), "val").paths != parts["val"].paths
    item = parts["test"][0]
    assert item["image"].shape == (3, 8, 8) and item["label"].sum() == 1
    assert Path(parts["test"].paths[0]).parent.name == "AnnualCrop" and item["label"][0] == 1


def test_folder_errors_name_path_and_fix(eurosat: Path, tmp_path_factory) -> None:
    (eurosat / "Empty").mkdir()
    cfg = DataConfig(kind="folder", root=str(eurosat))
    with pytest.raises(DataError, match=r"class folder .*Empty has no images.*remove the folder"):
        build_dataset(cfg, "train")
    bare = tmp_path_factory.mktemp("bare")
    with pytest.raises(DataError, match=r"bare0? has no class sub-folders.*data\.root/<class"):
        num_classes_of(replace(cfg, root=str(bare)))
    (eurosat / "Empty").rmdir()
    with pytest.raises(DataError, match=r"split 'val' .* is empty .*data\.val_fraction=0\.01"):
        build_dataset(replace(cfg, val_fraction=0.01), "val")
    with pytest.raises(DataError, match=r"data\.num_classes=4 .* has 3 classes"):
        build_dataset(replace(cfg, num_classes=4), "train")


# ----------------------------------------------------------------------------- loaders


class _Holes(Dataset):
    """Synthetic items, with None at the given indices (like undecodable images)."""

    def __init__(self, size: int, holes: set[int]) -> None:
        self.base, self.holes, self.size = SyntheticShapes(size, 8), holes, size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int):
        return None if index in self.holes else self.base[index]


def test_make_loader_batches_dicts_with_seeded_shuffle() -> None:
    ds = SyntheticShapes(10, 16)
    batch = next(iter(make_loader(ds, 4, shuffle=False, seed=0)))
    assert batch["image"].shape == (4, 3, 16, 16) and batch["label"].shape == (4, 10)
    assert batch["index"].tolist() == [0, 1, 2, 3]

    def order(seed: int) -> list[int]:
        return [i for b in make_loader(ds, 4, shuffle=True, seed=seed) for i in b["index"].tolist()]

    assert order(1) == order(1) and sorted(order(1)) == list(range(10)) and order(1) != order(2)
    dropped = make_loader(ds, 4, shuffle=True, seed=0, drop_last=True)
    assert [len(b["index"]) for b in dropped] == [4, 4]


def test_make_loader_drops_none_items_and_skips_empty_batches() -> None:
    ds = _Holes(8, {1, 4, 5, 6, 7})
    batches = list(make_loader(ds, 2, shuffle=False, seed=0))
    assert [b["index"].tolist() for b in batches] == [[0], [2, 3]]
    assert collate_items([None, None]) is None


def test_make_loader_passes_a_sampler_through() -> None:
    ds = SyntheticShapes(10, 8)
    sampler = DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False)
    loader = make_loader(ds, 3, shuffle=True, seed=0, sampler=sampler)
    assert [i for b in loader for i in b["index"].tolist()] == [1, 3, 5, 7, 9]
