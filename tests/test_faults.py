"""``kill -9`` at random (seeded) moments of ``train``, ``train-dhd``, ``fit-codebook`` and
``reproduce`` on micro settings, 21 kills or more (slow: run with ``pytest -m slow``).

A kill comes once the process has used a random amount of CPU time between what its imports
take and what an uninterrupted run takes before shutting down: CPU time, unlike wall time,
does not stretch on a busy machine, so the kills land in the work. After every kill what is
on disk is whole: each checkpoint and codebook loads, each CSV reads, and log.csv holds
epochs 1..n once each, at most one epoch ahead of last.pt. Then ``--resume`` (train,
train-dhd; a plain re-run while there is no last.pt yet) or the same command again
(fit-codebook, reproduce) finishes, and its outputs equal an uninterrupted run's bit for
bit, wall-clock values aside (see test_determinism).
"""
from __future__ import annotations

import contextlib
import csv
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import MICRO, MICRO_REPRODUCE, sets
from test_determinism import assert_same_outputs

from semjscc.channels.quantize import Codebook
from semjscc.checkpoint import load_checkpoint
from semjscc.config import load_config
from semjscc.evaluation.results import read_results
from semjscc.training.jscc import train_jscc

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads CPU times from Linux's /proc")]

SEED = 13
# One thread for every run: the killed and the uninterrupted runs compute identically (CPU
# results are bit-identical at a fixed thread count), and fast on a shared machine.
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
# Kills of one run before it is left to finish: a resumed run redoes its set-up, so repeated
# kills would pile up there; fresh runs spread their kills over all of the work.
MAX_KILLS_PER_RUN = 2
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Case:
    argv: list[str]  # the command line after `python -m semjscc`, without --out
    resumable: bool  # continued with --resume (else re-run as it is)


def semjscc(argv: list[str], log: Path) -> subprocess.Popen:
    """``python -m semjscc ARGV`` in its own process group, output appended to ``log``."""
    with log.open("a") as fh:
        return subprocess.Popen([sys.executable, "-m", "semjscc", *argv], env=ENV,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def command(case: Case, out: Path) -> list[str]:
    resume = case.resumable and (out / "last.pt").exists()
    return [*case.argv, "--out", str(out), *(["--resume"] if resume else [])]


def children_cpu() -> float:
    """CPU seconds of the finished child processes of this one."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def finish(argv: list[str], log: Path) -> float:
    """Run ``python -m semjscc ARGV`` to the end (exit 0); returns its CPU seconds."""
    before = children_cpu()
    assert semjscc(argv, log).wait() == 0, log.read_text()[-3000:]
    return children_cpu() - before


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run_until(argv: list[str], log: Path, cpu: float) -> int:
    """Run ``python -m semjscc ARGV`` and SIGKILL it once it has used ``cpu`` CPU seconds;
    returns its exit code (``-SIGKILL`` when killed)."""
    proc = semjscc(argv, log)
    while proc.poll() is None:
        if cpu_seconds(proc.pid) >= cpu:  # until reaped, an exited process still has a stat
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    return proc.wait()


def assert_whole(out: Path) -> None:
    """Everything a kill left in ``out`` loads (see the module docstring)."""
    for path in out.rglob("*.pt"):
        load_checkpoint(path)
    for path in out.rglob("*.safetensors"):
        Codebook.load(path)
    for path in out.rglob("*.yaml"):
        yaml.safe_load(path.read_text())
    for path in out.rglob("*.csv"):
        if path.name != "log.csv":
            read_results(path)
            continue
        with path.open() as fh:
            epochs = [int(row["epoch"]) for row in csv.DictReader(fh)]
        last = path.parent / "last.pt"
        done = int(load_checkpoint(last)["epoch"]) if last.exists() else 0
        assert epochs == list(range(1, len(epochs) + 1)), (path, epochs)
        assert done <= len(epochs) <= done + 1, (path, epochs, done)


def kill_until_done(case: Case, out: Path, rng: random.Random, window: tuple[float, float],
                    log: Path) -> int:
    """Start the command, SIGKILL it after a random ``window`` of CPU seconds, check what it
    left, and start it again until a run finishes; returns the number of kills."""
    for kills in range(MAX_KILLS_PER_RUN):
        code = run_until(command(case, out), log, rng.uniform(*window))
        if code != -signal.SIGKILL:
            assert code == 0, log.read_text()[-3000:]
            return kills
        assert_whole(out)
    finish(command(case, out), log)
    return MAX_KILLS_PER_RUN


@pytest.fixture(scope="module")
def overhead() -> tuple[float, float]:
    """CPU seconds that ``python -m semjscc`` spends before it can work (imports) and after
    it (interpreter shutdown), measured on ``--help``."""
    before = children_cpu()
    proc = subprocess.Popen([sys.executable, "-m", "semjscc", "--help"], env=ENV,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()  # printed once everything is imported
    started = cpu_seconds(proc.pid)
    proc.communicate()
    return started, children_cpu() - before - started


@pytest.fixture
def r0_checkpoint(tmp_path: Path, one_thread: None) -> Path:
    """A micro r = 0 model with 256 validation images, for fit-codebook."""
    cfg = load_config("tiny/df", [*MICRO, "link.relays=0", "train.eval_batch_size=64",
                                  "data.num_images={train: 48, val: 256, test: 16, db: 32}"])
    return train_jscc(cfg, tmp_path / "r0") / "best.pt"


def arguments(name: str, request: pytest.FixtureRequest) -> list[str]:
    """The micro command line of ``name``, without --out."""
    if name == "train":
        return ["train", "--config", "tiny/df", *sets(
            [*MICRO, "data.num_images={train: 96, val: 16, test: 16, db: 32}",
             "train.epochs=5"])]
    if name == "train-dhd":
        return ["train-dhd", "--config", "tiny/dhd", *sets(
            [*MICRO, "data.num_images={train: 192, val: 32, test: 16, db: 32}",
             "train.eval_batch_size=32", "dhd.width=8", "dhd.num_bits=8", "dhd.epochs=5",
             "dhd.batch_size=32"])]
    if name == "fit-codebook":
        return ["fit-codebook", "--checkpoint", str(request.getfixturevalue("r0_checkpoint")),
                "--nq-b", "2:1,2:2,2:3,2:4,4:1", "--max-blocks", "20000"]
    return ["reproduce", "--preset", "tiny", *sets(
        [*MICRO_REPRODUCE, "train.epochs=2", "dhd.epochs=2", "sweep.relays=[0, 1]",
         "sweep.separation=[webp]"])]


@pytest.mark.parametrize("name, kills", [("train", 6), ("train-dhd", 5), ("fit-codebook", 4),
                                         ("reproduce", 6)])  # 21 kills in all
def test_killed_runs_resume_to_the_uninterrupted_result(
        name: str, kills: int, tmp_path: Path, overhead: tuple[float, float],
        request: pytest.FixtureRequest) -> None:
    case = Case(arguments(name, request), resumable=name in ("train", "train-dhd"))
    out, reference, log = tmp_path / "out", tmp_path / "reference", tmp_path / "log.txt"
    imports, shutdown = overhead
    window = (imports, finish(command(case, out), log) - shutdown)
    out.rename(reference)
    rng = random.Random(f"{SEED} {name}")
    survived = runs = 0
    while survived < kills:
        survived += kill_until_done(case, out, rng, window, log)
        runs += 1
        assert_same_outputs(reference, out)
        shutil.rmtree(out)
    print(f"{name}: {survived} kills survived in {runs} runs from scratch, each kill after "
          f"{window[0]:.1f} to {window[1]:.1f} CPU seconds")
