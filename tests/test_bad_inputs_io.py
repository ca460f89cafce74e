"""Bad inputs at the I/O boundary and in paths and parsers: FIFOs and devices given as files,
non-UTF-8 text, YAML alias bombs, deep nesting, ``extends:`` mistakes, ``--set`` values of the
wrong shape or size, foreign ``torch.save`` files, a classifier of another class count, and
a full disk. Each command must exit 2 with exactly one ``error:`` line, no traceback, no
"unexpected error", and write or overwrite nothing."""

from __future__ import annotations

import errno
import logging
import math
import os
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import fill, one_error_line, refused, sets
from PIL import Image

from semjscc.cli import explain, main
from semjscc.cli.common import setup_logging
from semjscc.config import ConfigError, load_config
from semjscc.errors import InputError
from semjscc.parsing import MAX_BYTES, MAX_DEPTH, parse_json, parse_yaml

MICRO = ["data.image_size=16", "data.num_images={train: 32, val: 16, test: 16, db: 32}",
         "model.num_features=8", "model.bandwidth_ratio=1/6", "train.epochs=1",
         "train.batch_size=16", "train.eval_batch_size=16", "train.device=cpu",
         "link.relays=0"]
TASK = MICRO + ["task.batch_size=16", "task.epochs=1"]


def bomb(levels: int = 9) -> str:
    """A YAML "billion laughs": each level holds nine aliases of the one before."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A trained micro model and classifier, a fit, and files that are wrong in every way a
    path or a parser can be."""
    root = tmp_path_factory.mktemp("io_world")
    w: dict[str, Path] = {"root": root}
    assert main(["train", "--config", "tiny/df", *sets(MICRO), "--out", str(root / "run")]) == 0
    w["ckpt"] = root / "run" / "best.pt"
    assert main(["train-task", "--config", "tiny/df", *sets(TASK),
                 "--out", str(root / "task")]) == 0
    w["task"] = root / "task" / "best.pt"
    w["grid"] = root / "grid.csv"
    w["grid"].write_text("realized_cr,snr_db,accuracy\n" + "".join(
        f"{cr},{snr},{0.1 + 0.8 / (1 + math.exp(-(snr + 10 * cr) / 3)):.4f}\n"
        for cr in (1 / 12, 1 / 6, 1 / 3) for snr in (-5, 0, 5, 10)))
    assert main(["fit-semloss", str(w["grid"]), "--metric", "accuracy", "--starts", "2",
                 "--out", str(root / "fit")]) == 0
    w["fit"] = root / "fit" / "fit.json"
    w["users"] = root / "users.yaml"
    w["users"].write_text("total_power: 1.0\nnoise_power: 1.0e-9\ntotal_channel_uses: 4096\n"
                          "source_dim: 12288\nratios: [1/12, 1/6, 1/3]\n"
                          "users:\n  - {name: u1, gain: 1.0e-8}\n")
    w["fifo"] = root / "pipe"
    os.mkfifo(w["fifo"])
    w["folder"] = root / "three"  # a folder dataset of 3 classes (the classifier knows 10)
    for name in "abc":
        (w["folder"] / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(
                w["folder"] / name / f"{i}.png")
    (root / "fifo_list.txt").write_text("pipe 0 1\npipe 1 0\n")  # images that are a FIFO
    w["latin1_yaml"] = root / "latin1.yaml"
    w["latin1_yaml"].write_bytes("name: caf\xe9\n".encode("latin-1"))
    w["latin1_list"] = root / "latin1.txt"
    w["latin1_list"].write_bytes("caf\xe9.png 0 1\n".encode("latin-1"))
    w["latin1_json"] = root / "latin1.json"
    w["latin1_json"].write_bytes('{"name": "caf\xe9"}'.encode("latin-1"))
    w["bomb_yaml"] = root / "bomb.yaml"
    w["bomb_yaml"].write_text(bomb())
    w["loop_yaml"] = root / "loop.yaml"
    w["loop_yaml"].write_text("train: &a [*a]\n")
    w["deep_yaml"] = root / "deep.yaml"
    w["deep_yaml"].write_text("train: " + nested_json(5000) + "\n")
    w["deep_json"] = root / "deep.json"
    w["deep_json"].write_text(nested_json(100_000))
    w["big_yaml"] = root / "big.yaml"
    w["big_yaml"].write_text("# " + "x" * MAX_BYTES + "\n")
    w["extends5"] = root / "extends5.yaml"
    w["extends5"].write_text("extends: 5\n")
    w["extends_map"] = root / "extends_map.yaml"
    w["extends_map"].write_text("extends: {a: 1}\n")
    w["extends_missing"] = root / "extends_missing.yaml"
    w["extends_missing"].write_text("extends: nowhere.yaml\n")
    (root / "cycle_a.yaml").write_text("extends: cycle_b.yaml\n")
    (root / "cycle_b.yaml").write_text("extends: cycle_a.yaml\n")
    w["cycle"] = root / "cycle_a.yaml"
    w["extends_fifo"] = root / "extends_fifo.yaml"
    w["extends_fifo"].write_text("extends: pipe\n")
    for name, value in {"list_pt": [1, 2, 3], "tensor_pt": torch.zeros(2, 3),
                        "dict_pt": {"weights": torch.zeros(2)}}.items():
        w[name] = root / f"{name}.pt"
        torch.save(value, w[name])
    state = torch.load(w["ckpt"], weights_only=True)
    state["config"]["train"]["epochz"] = 3  # an edited config
    w["edited_pt"] = root / "edited.pt"
    torch.save(state, w["edited_pt"])
    w["file"] = root / "afile"
    w["file"].write_text("x")
    return w


def S(*overrides: str) -> list[str]:
    return sets(list(overrides))


HUGE = "9" * 400
# (argv with {placeholders} for world files, a piece of the expected error line)
CASES: list[tuple[list[object], str]] = [
    # ------------------------------------------------------------ file types
    (["train", "--config", "{fifo}", "--out", "{new}"], "is a FIFO (named pipe)"),
    (["train", "--config", "/dev/zero", "--out", "{new}"], "is a character device"),
    (["info", "--config", "{extends_fifo}"], "is a FIFO"),
    (["eval", "--checkpoint", "{fifo}", "--out", "{new}.csv"], "is a FIFO"),
    (["eval", "--checkpoint", "/dev/zero", "--out", "{new}.csv"], "character device"),
    (["transmit", "{fifo}", "--checkpoint", "{ckpt}", "--snr-db", "0", "--relays", "0",
      "--out", "{new}"], "is a FIFO"),
    (["plot", "{fifo}", "--x", "relays", "--y", "psnr", "--out", "{new}.png"], "is a FIFO"),
    (["fit-semloss", "{fifo}", "--metric", "psnr", "--out", "{new}"], "is a FIFO"),
    (["allocate", "--model", "{fifo}", "--users", "{users}"], "is a FIFO"),
    (["allocate", "--model", "{fit}", "--users", "/dev/zero"], "character device"),
    (["eval-task", "--checkpoint", "{fifo}"], "is a FIFO"),
    (["train", "--config", "tiny/df", *S(*MICRO, "data.kind=list", "data.root={root}",
                                         "data.lists={train: pipe}"), "--out", "{new}"],
     "list file {root}/pipe is a FIFO"),
    (["train", "--config", "tiny/df", *S(*MICRO, "data.kind=list", "data.root={root}",
                                         "data.lists={train: fifo_list.txt, val: fifo_list.txt,"
                                         " test: fifo_list.txt, db: fifo_list.txt}"),
      "--out", "{new}"], "none of its 2 images can be read (first: {root}/pipe)"),
    (["train", "--config", "tiny/df", *S(*MICRO, "data.kind=folder", "data.root={file}"),
      "--out", "{new}"], "is not a directory"),
    (["train-dhd", "--config", "tiny/dhd", *S(*MICRO, "dhd.backbone=resnet18",
                                              "dhd.width=null", "dhd.pretrained={fifo}"),
      "--out", "{new}"], "is a FIFO"),
    # ------------------------------------------------------------ encodings
    (["train", "--config", "{latin1_yaml}", "--out", "{new}"], "is not UTF-8 text"),
    (["train", "--config", "tiny/df", *S(*MICRO, "data.kind=list", "data.root={root}",
                                         "data.lists={train: latin1.txt}"), "--out", "{new}"],
     "latin1.txt is not UTF-8 text"),
    (["allocate", "--model", "{latin1_json}", "--users", "{users}"], "is not UTF-8 text"),
    (["allocate", "--model", "{fit}", "--users", "{latin1_yaml}"], "is not UTF-8 text"),
    # ------------------------------------------------------------ parser limits
    (["train", "--config", "{bomb_yaml}", "--out", "{new}"], "aliases included"),
    (["info", "--config", "{loop_yaml}"], "(a loop)"),
    (["reproduce", "--preset", "{deep_yaml}", "--out", "{new}"], "nested deeper than"),
    (["info", "--config", "{big_yaml}"], "over the limit"),
    (["allocate", "--model", "{deep_json}", "--users", "{users}"], "nested deeper than"),
    (["allocate", "--model", "{fit}", "--users", "{bomb_yaml}"], "aliases included"),
    (["info", "--config", "tiny/df", "--set", "train.loss=" + nested_json(1000)],
     "--set train.loss is nested deeper"),
    (["info", "--config", "tiny/df", "--set", "seed=" + "9" * 5000], "too long"),
    (["bench", "--ofdm", "model=" + nested_json(200)], "nested deeper"),
    # ------------------------------------------------------------ extends
    (["train", "--config", "{extends5}", "--out", "{new}"], "extends must be"),
    (["info", "--config", "{extends_map}"], "extends must be"),
    (["info", "--config", "{extends_missing}"], "neither a file next to it"),
    (["reproduce", "--preset", "{cycle}", "--out", "{new}"], "circular 'extends'"),
    # ------------------------------------------------------------ --set shapes and sizes
    (["info", "--config", "tiny/df", "--set", "link.snr_db=abc"], "link.snr_db='abc'"),
    (["train", "--config", "tiny/df", *S(*MICRO, "link.snr_db={a: 1}"), "--out", "{new}"],
     "one per hop"),
    (["info", "--config", "tiny/df", "--set", "sweep.snr_db=five"], "sweep.snr_db must be"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--set", "sweep.snr_db={a: 1}"],
     "must be a list"),
    (["train", "--config", "tiny/df", *S(*MICRO, "seed=4294967296"), "--out", "{new}"],
     "0..4294967295"),
    (["train-task", "--config", "tiny/df", *S(*TASK, "data.seed=-1"), "--out", "{new}"],
     "data.seed"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--set", "sweep.seeds=[1, 5000000000]"],
     "sweep.seeds"),
    (["train", "--config", "tiny/df", *S(*MICRO, "data.image_size=100000"), "--out", "{new}"],
     "8..8192"),
    (["train-dhd", "--config", "tiny/dhd", *S(*MICRO, "dhd.crop_size=20000"), "--out",
      "{new}"], "dhd.crop_size"),
    (["train", "--config", "tiny/df", *S(*MICRO, f"train.epochs={HUGE}"), "--out", "{new}"],
     "train.epochs is too large"),
    (["eval", "--checkpoint", "{ckpt}", "--set", f"train.lr={HUGE}", "--out", "{new}.csv"],
     "train.lr is too large"),
    (["eval", "--checkpoint", "{ckpt}", "--set", f"eval.seed={HUGE}", "--out", "{new}.csv"],
     "eval.seed is too large"),
    (["train", "--config", "tiny/df", *S(*MICRO, f"train.batch_size={HUGE}"), "--out",
      "{new}"], "train.batch_size is not a finite number within"),
    (["info", "--config", "tiny/df", "--set", f"train.loss={{mse: {HUGE}}}"],
     "train.loss.mse is not a finite number within"),
    # ------------------------------------------------------------ checkpoints of other things
    (["eval", "--checkpoint", "{list_pt}", "--out", "{new}.csv"], "holds a list of 3 items"),
    (["eval", "--checkpoint", "{tensor_pt}", "--out", "{new}.csv"],
     "holds a tensor of shape (2, 3)"),
    (["eval-task", "--checkpoint", "{dict_pt}"], "holds a dict with keys weights"),
    (["transmit", "{folder}/a/0.png", "--checkpoint", "{tensor_pt}", "--snr-db", "0",
      "--relays", "0", "--out", "{new}"], "not a semjscc checkpoint"),
    (["eval", "--checkpoint", "{edited_pt}", "--out", "{new}.csv"],
     "stored config is not valid (unknown config key 'train.epochz'"),
    # ------------------------------------------------------------ class counts
    (["eval-task", "--checkpoint", "{task}", "--set", "data.kind=folder",
      "--set", "data.root={folder}"], "classifier of 10 classes, but the split 'test'"),
]




def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 25
    assert len({argv[0] for argv, _ in CASES}) >= 10  # spread over the commands


@pytest.mark.parametrize("index", range(len(CASES)))
def test_bad_input_is_one_clean_line(index: int, world: dict[str, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    argv, expect = CASES[index]
    new = tmp_path / "new"
    start = time.perf_counter()
    error, err = refused(argv, world, new, capsys)
    assert time.perf_counter() - start < 60  # nothing hangs (a FIFO, an alias bomb)
    assert "does not exist" not in error, err
    expect = fill([expect], world, new)[0]
    assert expect in error, (expect, error)
    assert not new.exists() or not any(new.rglob("*.pt"))


# ---------------------------------------------------------------- the bounded parsers

def test_alias_bomb_fails_fast() -> None:
    start = time.perf_counter()
    with pytest.raises(InputError, match="aliases included"):
        parse_yaml(bomb(), "bomb.yaml")
    assert time.perf_counter() - start < 1.0
    assert len(parse_yaml(bomb(2), "small.yaml")["l2"]) == 9  # a few aliases are fine


def test_depth_limit_of_yaml_and_json() -> None:
    ok, deep = MAX_DEPTH - 1, MAX_DEPTH + 1
    for parse in (parse_json, parse_yaml):
        value, depth = parse(nested_json(ok), "ok"), 1
        while value:
            value, depth = value[0], depth + 1
        assert depth == ok
    for parse in (parse_json, parse_yaml):
        with pytest.raises(InputError, match=f"nested deeper than {MAX_DEPTH}"):
            parse(nested_json(deep), "deep")
        with pytest.raises(InputError, match="nested deeper"):
            parse(nested_json(200_000), "very deep")  # never a RecursionError
    # brackets inside strings are text, not nesting
    assert parse_json(f'{{"a": "{"[" * 500}"}}', "strings") == {"a": "[" * 500}


def test_size_limit_and_syntax_errors() -> None:
    with pytest.raises(InputError, match="over the limit"):
        parse_yaml("#" * (MAX_BYTES + 1), "big")
    with pytest.raises(InputError, match="over the limit"):
        parse_json(" " * (MAX_BYTES + 1), "big")
    with pytest.raises(InputError, match="not valid YAML"):
        parse_yaml("a: [unclosed", "bad")
    with pytest.raises(InputError, match="not valid YAML"):
        parse_yaml("a: !!python/object/apply:os.system ['true']", "code")
    with pytest.raises(InputError, match="not valid JSON"):
        parse_json("{bad", "bad")


# ---------------------------------------------------------------- extends

def test_extends_resolves_against_the_file_not_the_cwd(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for folder in ("base", "exp", "work/base", "work/run"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "base" / "parent.yaml").write_text("extends: tiny/df\ntrain:\n  epochs: 7\n")
    (tmp_path / "exp" / "child.yaml").write_text(
        "extends: [../base/parent.yaml]\ntrain:\n  lr: 0.002\n")
    # a decoy at the same relative path from the current directory
    (tmp_path / "work" / "base" / "parent.yaml").write_text("train:\n  epochs: 99\n")
    monkeypatch.chdir(tmp_path / "work" / "run")
    cfg = load_config(tmp_path / "exp" / "child.yaml")
    assert cfg.train.epochs == 7 and cfg.train.lr == 0.002
    assert cfg.data.image_size == load_config("tiny/df").data.image_size  # the preset


def test_extends_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    for value in ("5", "[tiny/df, 3]", "{a: b}", "''"):
        bad.write_text(f"extends: {value}\n")
        with pytest.raises(ConfigError, match=re.escape(f"{bad}: extends must be")):
            load_config(bad)
    (tmp_path / "a.yaml").write_text("extends: ./b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ConfigError, match="circular 'extends'"):
        load_config(tmp_path / "a.yaml")


# ---------------------------------------------------------------- messages

def test_warnings_are_one_line_that_says_warning(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging()
    logging.getLogger("semjscc.test").warning("first line\n  second line")
    logging.getLogger("semjscc.test").info("plain")
    err = capsys.readouterr().err.splitlines()
    assert err == ["warning: first line second line", "plain"]


def test_python_warnings_are_one_warning_line(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("a library\n  complains", UserWarning)
    finally:
        warnings.showwarning = warnings._showwarning_orig  # type: ignore[attr-defined]
    err = capsys.readouterr().err.splitlines()
    assert err == ["warning: a library complains (UserWarning from test_bad_inputs_io.py)"]


def test_no_warning_prefix_is_written_by_hand() -> None:
    src = Path(__file__).parents[1] / "src" / "semjscc"
    doubled = [str(p) for p in src.rglob("*.py")
               if re.search(r"log\w*\.warning\(\s*f?[\"']warning", p.read_text())]
    assert not doubled


@pytest.mark.parametrize("exc, expect", [
    (OSError(errno.ENOSPC, "No space left on device", "/o/best.pt"),
     "cannot write /o/best.pt: No space left on device; free disk space and rerun "
     "(finished work is kept)"),
    (OSError(errno.EACCES, "Permission denied", "/o/r.csv"), "cannot access /o/r.csv: "
     "Permission denied; fix the permissions"),
    (OSError(errno.EISDIR, "Is a directory", "/o"), "cannot access /o: Is a directory; it is "
     "a directory: give a file"),
    (OSError(errno.ENXIO, "No such device or address", "/o/p"), "cannot access /o/p: No such "
     "device or address; it is a FIFO or device"),
    (UnicodeDecodeError("utf-8", b"\xe9", 0, 1, "invalid continuation byte"),
     "is not UTF-8"),
    (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
    (OverflowError("int too large to convert to float"), "too large"),
])
def test_the_boundary_explains_each_error_in_one_line(exc: BaseException, expect: str) -> None:
    line = explain(exc)
    assert expect in line and "\n" not in line


# ---------------------------------------------------------------- a full disk

class _FillingDisk:
    """Patches the files ``atomic_write`` opens so that writes fail with ENOSPC once
    ``free`` bytes have been written, as on a disk that fills up."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, free: int) -> None:
        import semjscc.files as files

        self.free = free
        real = os.fdopen

        def fdopen(fd: int, *args: object, **kwargs: object) -> object:
            return _Full(real(fd, *args, **kwargs), self)

        monkeypatch.setattr(files.os, "fdopen", fdopen)


class _Full:
    def __init__(self, fh: object, disk: _FillingDisk) -> None:
        self._fh, self._disk = fh, disk

    def write(self, data: bytes) -> int:
        if len(data) > self._disk.free:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._disk.free -= len(data)
        return self._fh.write(data)

    def __enter__(self) -> _Full:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self._fh, name)


def test_full_disk_during_a_checkpoint_save_names_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """torch.save may turn the write's OSError into a RuntimeError without errno or file
    name; the error line still names the checkpoint, the cause and that work is kept."""
    real_save = torch.save

    def save(obj: object, f: object, *args: object, **kwargs: object) -> None:
        try:
            real_save(obj, f, *args, **kwargs)
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc] . PytorchStreamWriter "
                               "failed writing file data/0: file write failed") from None

    monkeypatch.setattr(torch, "save", save)
    _FillingDisk(monkeypatch, free=32_768)  # room for config.yaml, not for a checkpoint
    out = tmp_path / "run"
    code = main(["train", "--config", "tiny/df", *sets(MICRO), "--out", str(out)])
    err = capsys.readouterr().err
    error = one_error_line(code, err, [])
    assert re.search(rf"cannot write {re.escape(str(out))}/\w+\.pt: No space left on device",
                     error)
    assert "finished work is kept" in error
    assert (out / "config.yaml").is_file()
    assert not list(out.glob(".*.tmp")) and not list(out.glob("*.pt"))


def test_full_disk_at_fsync_names_the_output(tmp_path: Path, world: dict[str, Path],
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    import semjscc.files as files

    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", fsync)
    out = tmp_path / "metrics.csv"
    code = main(["eval-task", "--checkpoint", str(world["task"]), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and f"error: cannot write {out}: No space left on device" in err, err
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
