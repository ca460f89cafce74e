"""Same seed, same command, twice: bit-identical checkpoints, configs and CSVs on CPU.

Only wall-clock values differ, and they are left out of every comparison: the
``train_seconds`` and ``train_images_per_s`` columns of log.csv (also in each checkpoint's
``metrics``), a codebook's ``fit_seconds`` and ``checkpoint_sha256`` (the hash of checkpoint
bytes that hold those timings), and the "Generated ..." line of report.md (date, run time).
Runs use one thread: CPU results are bit-identical at a fixed thread count (work, and so the
order of floating-point sums, is split by thread), and one thread is the fastest on a
shared machine.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import MICRO, MICRO_REPRODUCE, sets

from semjscc.channels.quantize import Codebook
from semjscc.checkpoint import load_checkpoint
from semjscc.cli import main

TIMING_COLUMNS = {"train_seconds", "train_images_per_s"}
TIMING_META = {"fit_seconds", "checkpoint_sha256"}
GENERATED = re.compile(r"Generated .*")

pytestmark = pytest.mark.usefixtures("one_thread")


def same(a: Any, b: Any) -> bool:
    """Deep equality with tensors compared bit for bit (dtype included) and NaN equal NaN."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def checkpoint_view(path: Path) -> dict[str, Any]:
    """A checkpoint without its wall-clock metrics."""
    ckpt = load_checkpoint(path)
    metrics = {k: v for k, v in ckpt["metrics"].items() if k not in TIMING_COLUMNS}
    return {**ckpt, "metrics": metrics}


def codebook_view(path: Path) -> dict[str, Any]:
    """A codebook without its fit time and checkpoint hash."""
    book = Codebook.load(path)
    return {"centres": book.centres, "n_q": book.n_q, "bits": book.bits,
            "snr_db": book.snr_db,
            "meta": {k: v for k, v in book.meta.items() if k not in TIMING_META}}


def log_rows(path: Path) -> list[dict[str, str]]:
    """log.csv rows (values as written) without the wall-clock columns."""
    with path.open() as fh:
        return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS}
                for row in csv.DictReader(fh)]


def files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def assert_same_outputs(a: Path, b: Path) -> None:
    """Directories ``a`` and ``b`` hold the same files with the same contents, tensors bit
    for bit, wall-clock values aside (see the module docstring)."""
    assert files(a) == files(b)
    for rel in files(a):
        x, y = a / rel, b / rel
        if rel.suffix == ".pt":
            assert same(checkpoint_view(x), checkpoint_view(y)), rel
        elif rel.suffix == ".safetensors":
            assert same(codebook_view(x), codebook_view(y)), rel
        elif rel.name == "log.csv":
            assert log_rows(x) == log_rows(y), rel
        elif rel.name == "report.md":
            assert GENERATED.sub("", x.read_text()) == GENERATED.sub("", y.read_text()), rel
        else:
            assert x.read_bytes() == y.read_bytes(), rel


def twice(tmp_path: Path, argv: list[str]) -> tuple[Path, Path]:
    """Run ``argv --out OUT`` twice with the same OUT (paths written into the outputs agree);
    returns the first run's outputs, moved aside, and the second's."""
    out, first = tmp_path / "out", tmp_path / "first"
    assert main([*argv, "--out", str(out)]) == 0
    out.rename(first)
    assert main([*argv, "--out", str(out)]) == 0
    return first, out


def test_train_twice_is_bit_identical(tmp_path: Path) -> None:
    first, second = twice(tmp_path, ["train", "--config", "tiny/df", *sets(MICRO)])
    assert {"config.yaml", "log.csv", "best.pt", "last.pt"} <= {p.name for p in files(first)}
    assert len(log_rows(first / "log.csv")) == 2
    assert_same_outputs(first, second)


def test_micro_reproduce_twice_is_bit_identical(tmp_path: Path) -> None:
    first, second = twice(tmp_path, ["reproduce", "--preset", "tiny", *sets(MICRO_REPRODUCE)])
    names = {str(p) for p in files(first)}
    assert {"results.csv", "report.md", "dhd/best.pt", "df/mse_dhd/r0/last.pt",
            "qf/mse_dhd/snr0/qf_nq2_b1.safetensors"} <= names
    assert_same_outputs(first, second)
