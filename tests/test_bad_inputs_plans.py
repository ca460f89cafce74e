"""Bad inputs of two kinds: sweeps whose values name one unit twice (caught when the plan is
checked), and artefacts trained on different datasets combined by a command (refused, or
warned about when only their files differ); plus CIFAR-10 batches with labels out of range.
Each refusal exits 2 with exactly one error line, no traceback, and writes nothing."""

from __future__ import annotations

import json
import logging
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import fill, refused, sets
from PIL import Image

from semjscc.channels.quantize import Codebook
from semjscc.cli import main
from semjscc.config import ConfigError, load_config, parse_ratio
from semjscc.data.errors import DataError
from semjscc.data.fingerprint import KEY, check_same_data, data_fingerprint
from semjscc.experiments.executor import LocalExecutor, Unit
from semjscc.experiments.units import (
    check_distinct_names,
    check_distinct_ratios,
    check_distinct_values,
)

MICRO = [
    "data.image_size=16",
    "data.num_images={train: 32, val: 16, test: 16, db: 32}",
    "model.num_features=8",
    "model.bandwidth_ratio=1/6",
    "train.epochs=1",
    "train.batch_size=16",
    "train.eval_batch_size=16",
    "train.device=cpu",
    "link.relays=0",
]
DHD = ["dhd.width=8", "dhd.num_bits=8", "dhd.epochs=1", "dhd.batch_size=16"]
TASK = ["task.batch_size=16", "task.epochs=1", "task.model=resnet-tiny", "task.width=8",
        "task.pretrained=none"]
EO = ["data.kind=synthetic-eo"]


def write_cifar(folder: Path, bad_label: object = None) -> Path:
    """CIFAR-10 batch files in the python-version layout (ROOT/cifar-10-batches-py/), 10
    images each; with ``bad_label`` the third image of data_batch_2 carries it."""
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels: list[object] = [i % 10 for i in range(10)]
        if bad_label is not None and name == "data_batch_2":
            labels[2] = bad_label
        with (batches / name).open("wb") as fh:
            pickle.dump({"batch_label": name, "labels": labels,
                         "data": rng.integers(0, 256, (10, 3072), dtype=np.uint8)}, fh)
    with (batches / "batches.meta").open("wb") as fh:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, fh)
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Micro artefacts trained on ``synthetic`` (run, dhd, books), on ``synthetic-eo`` (run_eo,
    dhd_eo, cls_eo), on other files of ``synthetic`` (dhd_other), a DHD from before
    fingerprints (dhd_old), a results CSV naming checkpoints of both datasets, and CIFAR-10
    roots with bad labels."""
    root = tmp_path_factory.mktemp("world")
    w: dict[str, Path] = {"root": root}

    def train(name: str, command: str, config: str, extra: list[str]) -> None:
        assert main([command, "--config", config, *sets(MICRO + extra),
                     "--out", str(root / name)]) == 0
        w[name] = root / name / "best.pt"

    train("run", "train", "tiny/df", [])
    train("run_eo", "train", "tiny/df", EO)
    train("dhd", "train-dhd", "tiny/dhd", DHD)
    train("dhd_eo", "train-dhd", "tiny/dhd", DHD + EO)
    train("dhd_other", "train-dhd", "tiny/dhd",
          DHD + ["data.num_images={train: 48, val: 16, test: 16, db: 48}"])
    train("cls_eo", "train-task", "tiny/df", TASK + EO)
    w["books"] = root / "books"
    assert main(["fit-codebook", "--checkpoint", str(w["run"]), "--nq-b", "2:1",
                 "--out", str(w["books"]), "--max-blocks", "500"]) == 0
    w["books_eo"] = root / "books_eo"  # the run's codebook, its fingerprint made synthetic-eo
    w["books_eo"].mkdir()
    book_file = next(w["books"].glob("qf_*.safetensors"))
    book = Codebook.load(book_file)
    eo_print = torch.load(w["run_eo"], weights_only=True)[KEY]
    book.meta[KEY] = eo_print
    book.save(w["books_eo"] / book_file.name)
    state = torch.load(w["dhd"], weights_only=True)
    del state[KEY]
    w["dhd_old"] = root / "dhd_old.pt"
    torch.save(state, w["dhd_old"])
    w["mixed_results"] = root / "mixed.csv"
    lines = ["method,realized_cr,snr_db,psnr,checkpoint"]
    for i, (cr, snr) in enumerate((c, s) for c in (1 / 6, 1 / 12, 1 / 24) for s in range(5)):
        ckpt = w["run"] if i % 2 else w["run_eo"]
        lines.append(f"djscc,{cr:.6g},{snr},{20 + 2 * snr - 10 * (1 / 6 - cr):.3f},{ckpt}")
    w["mixed_results"].write_text("\n".join(lines) + "\n")
    for name, label in (("cifar_15", 15), ("cifar_neg", -1), ("cifar_half", 1.5)):
        w[name] = write_cifar(root / name, label)
    return w


def R(preset: str, *overrides: str) -> list[object]:
    """``reproduce`` of ``preset`` into a fresh folder with ``overrides``."""
    return ["reproduce", "--preset", preset, "--out", "{new}", *sets(list(overrides))]


def T(*extra: str) -> list[object]:
    """``train`` of the micro DeepJSCC (on ``synthetic``) with ``extra`` overrides."""
    return ["train", "--config", "tiny/df", *sets(MICRO + list(extra)), "--out", "{new}"]


CIFAR = ["data.kind=cifar10", "data.val_fraction=0.2"]

# (argv with {placeholders} for world files, a piece of the expected error line)
CASES: list[tuple[list[object], str]] = [
    # ------------------------------------------------------------ plan-time unit collisions
    (R("eo-tiny", "eo.ratios=['2/12', '1/6']"), "'2/12' and '1/6' are the same compression"),
    (R("eo-tiny", "eo.snr_db=[0, 5, 5.000001]"), "eo.snr_db: 5.0 and 5.000001 dB"),
    (R("eo-tiny", "eo.channels=[{name: awgn}, {name: awgn}]"), "eo.channels: 'awgn'"),
    (R("importance-tiny", "importance.ratios=['1/6', '2/12']"), "importance.ratios"),
    (R("importance-tiny", "importance.train_snr_db=[0, 0.0004]"),
     "importance.train_snr_db: 0.0 and 0.0004 dB"),
    (R("importance-tiny", "importance.test_snr_db=[1, 2, 1]"), "importance.test_snr_db"),
    (R("tiny", "sweep.snr_db=[5, 5.000001]"), "sweep.snr_db: 5.0 and 5.000001 dB"),
    (R("tiny", "sweep.relays=[0, 1, 1]"), "sweep.relays: 1 is listed twice"),
    (R("tiny", "sweep.methods=[{mse: 1}, {mse: 2}]"), "sweep.methods: 'mse'"),
    (R("ofdm-tiny", "ofdm.speeds=[3, 3.0000001]"), "ofdm.speeds: 3.0 and 3.0000001 m/s"),
    (R("ofdm-tiny", "ofdm.test_snr_db=[0, 0.0001]"), "ofdm.test_snr_db"),
    # ------------------------------------------------------------ artefacts of other datasets
    (T("train.loss={mse: 1, dhd: 0.1}", "dhd.checkpoint={dhd_eo}"), "dataset mismatch"),
    (T("train.loss={mse: 1, dhd: {weight: 0.1, checkpoint: '{dhd_eo}'}}"), "synthetic-eo"),
    (T("train.init_from={run_eo}"), "train.init_from="),
    (T("train.loss={mse: 1, pixel-importance: 0.1}", "task.checkpoint={cls_eo}"),
     "pixel-importance loss term's network"),
    (T(*EO, "train.loss={mse: 1, dhd: 0.1}", "dhd.checkpoint={dhd}"),
     "this run on data.kind=synthetic-eo"),
    (["eval", "--checkpoint", "{run}", "--dhd", "{dhd_eo}", "--out", "{new}.csv"],
     "dataset mismatch: the DHD"),
    (["eval", "--checkpoint", "{run_eo}", "--dhd", "{dhd}", "--out", "{new}.csv"],
     "data.kind=synthetic (10 classes"),
    (["eval", "--checkpoint", "{run}", "--protocol", "qf", "--codebooks", "{books}",
      "--dhd", "{dhd_eo}", "--out", "{new}.csv"], "dataset mismatch"),
    (["eval", "--checkpoint", "{run}", "--protocol", "qf", "--codebooks", "{books_eo}",
      "--out", "{new}.csv"], "dataset mismatch: codebook"),
    (["authenticate", "--dhd", "{dhd_eo}", "--checkpoint", "{run}", "--out", "{new}"],
     "dataset mismatch: the DHD"),
    (["fit-semloss", "{mixed_results}", "--metric", "psnr", "--family", "U1",
      "--out", "{new}"], "dataset mismatch: checkpoint"),
    # ------------------------------------------------------------ labels out of range
    (T(*CIFAR, "data.root={cifar_15}"), "has label 15, outside CIFAR-10's class range 0..9"),
    (T(*CIFAR, "data.root={cifar_neg}"), "has label -1, outside"),
    (T(*CIFAR, "data.root={cifar_half}"), "has label 1.5"),
    (["train-dhd", "--config", "tiny/dhd", *sets(MICRO + DHD + CIFAR + ["data.root={cifar_neg}"]),
      "--out", "{new}"], "data_batch_2: image 2 has label -1"),
    (["train-task", "--config", "tiny/df", *sets(MICRO + TASK + CIFAR + ["data.root={cifar_15}"]),
      "--out", "{new}"], "label 15"),
    (["eval", "--checkpoint", "{run}", "--set", "data.kind=cifar10", "--set",
      "data.root={cifar_neg}", "--set", "eval.split=train", "--out", "{new}.csv"],
     "label -1"),
]


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("index", range(len(CASES)))
def test_bad_input_is_one_clean_line(index: int, world: dict[str, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    argv, expect = CASES[index]
    new = tmp_path / "new"
    error, _ = refused(argv, world, new, capsys)
    assert expect in error, (expect, error)
    assert not new.exists() or not any(new.iterdir())
    assert not Path(f"{new}.csv").exists()


WARNINGS: list[list[object]] = [
    T("train.loss={mse: 1, dhd: 0.1}", "dhd.checkpoint={dhd_other}"),
    ["eval", "--checkpoint", "{run}", "--dhd", "{dhd_other}", "--out", "{new}.csv"],
]


@pytest.mark.parametrize("index", range(len(WARNINGS)))
def test_other_files_of_the_same_dataset_are_one_warning(
        index: int, world: dict[str, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(fill(WARNINGS[index], world, tmp_path / "new")) == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if "were trained on different data" in line]
    assert len(warned) == 1 and "error:" not in err, err
    assert re.search(r"train/val images (32/16 vs 48/16|48/16 vs 32/16)", warned[0])
    assert str(world["dhd_other"]) in warned[0]


def test_artefacts_of_the_same_data_and_old_ones_pass_silently(
        world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for dhd in ("dhd", "dhd_old"):
        capsys.readouterr()
        assert main(["eval", "--checkpoint", str(world["run"]), "--dhd", str(world[dhd]),
                     "--snr-db", "0", "--out", str(tmp_path / f"{dhd}.csv")]) == 0
        err = capsys.readouterr().err
        assert "different data" not in err and "mismatch" not in err, err


def test_fingerprints_are_recorded_where_artefacts_are_written(world: dict[str, Path]) -> None:
    run = torch.load(world["run"], weights_only=True)[KEY]
    assert run == torch.load(world["dhd"], weights_only=True)[KEY]
    assert run["kind"] == "synthetic" and run["root"] is None and len(run["classes"]) == 10
    assert run["splits"] == {"train": 32, "val": 16} and len(run["files"]) == 16
    assert torch.load(world["cls_eo"], weights_only=True)[KEY]["kind"] == "synthetic-eo"
    book = Codebook.load(next(world["books"].glob("qf_*.safetensors")))
    assert book.meta[KEY] == run


def test_fit_json_records_the_fingerprint_of_the_rows_checkpoints(
        world: dict[str, Path], tmp_path: Path) -> None:
    lines = world["mixed_results"].read_text().replace(str(world["run_eo"]), str(world["run"]))
    results = tmp_path / "results.csv"
    results.write_text(lines)
    assert main(["fit-semloss", str(results), "--metric", "psnr", "--family", "U1",
                 "--out", str(tmp_path / "fit")]) == 0
    document = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert document[KEY] == torch.load(world["run"], weights_only=True)[KEY]


# ------------------------------------------------------------------------------ unit tests


def folder_config(root: Path, seed: int = 0) -> object:
    return load_config(None, ["data.kind=folder", f"data.root={root}", "data.val_fraction=0.25",
                              "data.test_fraction=0.25", f"data.seed={seed}"]).data


def write_folder(root: Path) -> Path:
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(root / name / f"{i}.png")
    return root


def test_fingerprint_is_the_same_for_the_same_files_anywhere(tmp_path: Path) -> None:
    first = data_fingerprint(folder_config(write_folder(tmp_path / "a")))
    assert first == data_fingerprint(folder_config(tmp_path / "a"))
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    moved = data_fingerprint(folder_config(tmp_path / "b"))
    assert moved["files"] == first["files"] and moved["root"] != first["root"]
    assert first["classes"] == ["cat", "dog"] and first["splits"] == {"train": 4, "val": 2}
    check_same_data(("a", first), ("b", moved))  # no error, no warning needed


def test_fingerprint_changes_with_one_file_name_and_is_warned_about(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = write_folder(tmp_path / "a")
    first = data_fingerprint(folder_config(root))
    (root / "dog" / "3.png").rename(root / "dog" / "3b.png")
    renamed = data_fingerprint(folder_config(root))
    assert renamed["files"] != first["files"]
    assert {k: v for k, v in renamed.items() if k != "files"} == \
        {k: v for k, v in first.items() if k != "files"}
    with caplog.at_level(logging.WARNING, "semjscc.data"):
        assert not check_same_data(("x.pt", first), ("y.pt", renamed))
    assert "the same sizes but other files" in caplog.text
    reseeded = data_fingerprint(folder_config(root, seed=1))
    assert reseeded["files"] != renamed["files"]  # other images in train and val


def test_other_class_names_or_kind_are_refused_naming_both() -> None:
    base = {"kind": "folder", "root": "/d", "splits": {"train": 4}, "files": "0" * 16,
            "classes": ["cat", "dog", "eel", "fox", "gnu"]}
    other = {**base, "classes": ["cat", "dog", "eel", "fox", "hen"]}
    with pytest.raises(DataError, match=r"a.pt was trained on data.kind=folder \(5 classes: "
                       r"\.\.\., gnu\) and b.pt on data.kind=folder \(5 classes: \.\.\., hen\)"):
        check_same_data(("a.pt", base), ("b.pt", other))
    with pytest.raises(DataError, match="data.kind=list"):
        check_same_data(("a.pt", base), ("b.pt", {**base, "kind": "list"}))
    assert check_same_data(("a.pt", base), ("old.pt", None))


def test_synthetic_fingerprints_follow_the_generator_parameters() -> None:
    def fp(*overrides: str) -> dict:
        return data_fingerprint(load_config(None, ["data.num_images={train: 8, val: 4}",
                                                   *overrides]).data)
    assert fp() == fp()
    assert fp("data.seed=1")["files"] != fp()["files"]
    assert fp("data.kind=synthetic-eo")["classes"] != fp()["classes"]


def test_ratios_are_keyed_by_their_fraction() -> None:
    assert parse_ratio("2/12") == parse_ratio("1/6") != parse_ratio("1/12")
    check_distinct_ratios("eo.ratios", ["1/6", "1/12", "1/20"])
    with pytest.raises(ConfigError, match=r"eo.ratios: '1/6' and '2/12' .* \(1/6\)"):
        check_distinct_ratios("eo.ratios", ["1/6", "1/12", "2/12"])


def test_snrs_are_keyed_within_the_tolerance_and_their_names() -> None:
    check_distinct_values("x", [5.0, 5.0011, -5.0])
    with pytest.raises(ConfigError, match=r"x: 5.0 and 5.0009 dB .*within 0.001 dB"):
        check_distinct_values("x", [5.0, 5.0009])
    with pytest.raises(ConfigError, match="both named 12345.7 in run directories"):
        check_distinct_values("x", [12345.67, 12345.68])
    with pytest.raises(ConfigError, match="'a' is listed twice"):
        check_distinct_names("x", ["a", "b", "a"])


def test_executor_refuses_repeated_unit_keys_before_any_work() -> None:
    ran: list[str] = []
    unit = Unit("df/mse/r0_snr5", "u", lambda state: ran.append(state), lambda: "new")
    with pytest.raises(ConfigError, match="'df/mse/r0_snr5'"):
        LocalExecutor().run([unit, unit])
    assert ran == []
