"""Shared fixtures: a very small synthetic configuration that trains in seconds."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.error import URLError

import pytest
import torch
import torchvision.models as tvm

from semjscc.cli import main
from semjscc.config import Config, load_config

MICRO = [
    "data.image_size=16",
    "data.num_images={train: 48, val: 16, test: 16, db: 32}",
    "model.num_features=8",
    "model.bandwidth_ratio=1/6",
    "train.epochs=2",
    "train.batch_size=16",
    "train.eval_batch_size=16",
    "train.device=cpu",
    "link.relays=1",
    # the tests' own schedule (Adam 1e-3, x0.95 per epoch, SNRs over [-10, 10] dB), kept
    # apart from the preset's recipe so that these micro runs stay what they measure
    "train.schedule=decay",
    "train.lr=1.0e-3",
    "train.snr_db_range=[-10.0, 10.0]",
]

# --set overrides turning `reproduce --preset tiny` into a seconds-long run: one method
# (mse+dhd), r = 0, one SNR, one QF setting, no judges, no separation baselines, no LPIPS.
MICRO_REPRODUCE = [
    "data.image_size=16",
    "data.num_images={train: 32, val: 16, test: 16, db: 32}",
    "model.num_features=8",
    "model.bandwidth_ratio=1/6",
    "train.epochs=1",
    "train.epoch_images=null",
    "train.batch_size=16",
    "train.eval_batch_size=16",
    "train.device=cpu",
    "dhd.width=8",
    "dhd.num_bits=16",
    "dhd.epochs=1",
    "dhd.batch_size=16",
    "sweep.relays=[0]",
    "sweep.snr_db=[0]",
    "sweep.base_set=[train.epochs=1]",
    "sweep.base_finetune_set=[]",
    "sweep.methods=[{mse: 1.0, dhd: 0.06}]",
    "sweep.qf=['2:1']",
    "sweep.qf_max_blocks=500",
    "sweep.separation=[]",
    "sweep.figure_snr_db=[]",
    "judges.dhd_seed=null",
    "judges.dhd_backbone=null",
    "judges.classifier=false",
    "eval.alexnet_weights=none",
]


def fill(argv: list[object], w: dict[str, Path], new: Path) -> list[str]:
    """A bad-input corpus case's argv: ``{name}`` -> the world file ``name``, ``{new}`` -> a
    fresh path, ``{missing}`` -> a path that does not exist."""
    names = {**{k: str(v) for k, v in w.items()}, "new": str(new)}
    if "root" in w:
        names["missing"] = str(w["root"] / "does-not-exist")
    return [re.sub(r"\{(\w+)\}", lambda m: names.get(m[1], m[0]), str(a)) for a in argv]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file and folder under ``root``: equal snapshots, nothing
    written, created or removed."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def one_error_line(code: int, err: str, argv: list[str]) -> str:
    """The single ``error:`` line of a refused command (exit 2, no traceback, never the
    catch-all "unexpected error")."""
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2, (argv, err)
    assert len(errors) == 1 and "Traceback" not in err and "unexpected error" not in err, err
    return errors[0]


def refused(argv: list[object], world: dict[str, Path], new: Path,
            capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """Run a bad-input corpus case (``fill``-ed against ``world``, ``{new}`` -> ``new``):
    it must be refused in one error line (:func:`one_error_line`) and leave every file and
    folder under ``world["root"]`` as it was. Returns (the error line, all of stderr)."""
    before = snapshot(world["root"])
    capsys.readouterr()
    argv = fill(argv, world, new)
    code = main(argv)
    err = capsys.readouterr().err
    error = one_error_line(code, err, argv)
    assert snapshot(world["root"]) == before  # nothing written or overwritten
    return error, err


def sets(overrides: list[str]) -> list[str]:
    """``--set`` arguments for ``overrides``."""
    return [a for o in overrides for a in ("--set", o)]


@pytest.fixture
def local_ray() -> Iterator[object]:
    """A local Ray instance with 2 CPUs for the test (skipped where Ray is not installed)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def sharded_run(capsys: pytest.CaptureFixture) -> Callable[[list[str], Path], str]:
    """``run(args, out)``: ``semjscc`` with ``args`` (writing to ``out``) as shards 1/2 and
    2/2, each twice (as a re-submitted array job would: the second pass runs the units that
    waited on the other shard's), then once un-sharded; checks that only the last writes
    ``results.csv`` and that it finds nothing left to train or evaluate; returns its log."""
    from semjscc.cli import main

    def run(args: list[str], out: Path) -> str:
        for shard in ("1/2", "2/2", "1/2", "2/2"):
            assert main([*args, "--shard", shard]) == 0
            assert not (out / "results.csv").exists()
        capsys.readouterr()
        assert main(args) == 0
        log = capsys.readouterr().err
        assert ": training" not in log and ": evaluating" not in log
        return log

    return run


@pytest.fixture
def micro_overrides() -> list[str]:
    """--set overrides turning tiny/df into a seconds-long run."""
    return list(MICRO)


@pytest.fixture
def micro_cfg() -> Config:
    return load_config("tiny/df", MICRO)


@pytest.fixture(autouse=True)
def _reseed():
    torch.manual_seed(0)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """torch on one CPU thread during the test: CPU results are bit-identical only at a
    fixed thread count, and one thread is the fastest on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TORCH_HOME in tmp_path; any download attempt fails at once (no network)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(url: str, dst: str, *args: object, **kwargs: object) -> None:
        raise URLError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    return tmp_path


def alexnet_state(seed: int = 7) -> dict[str, torch.Tensor]:
    """A complete torchvision AlexNet state_dict with random features and an all-zero
    classifier stored as stride-0 views (~10 MB instead of 233 MB): a stand-in for
    ``alexnet-owt-7be5be79.pth`` that tests the loading paths only."""
    torch.manual_seed(seed)
    state = dict(tvm.alexnet().features.state_dict(prefix="features."))
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in tvm.alexnet().state_dict().items()}
    state.update({k: torch.zeros(1).expand(s) for k, s in shapes.items()
                  if k.startswith("classifier.")})
    return state


@pytest.fixture
def alexnet_file(torch_home: Path) -> Path:
    """The stand-in AlexNet file where the ImageNet file is looked up; its LPIPS values mean
    nothing."""
    path = torch_home / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    path.parent.mkdir(parents=True)
    torch.save(alexnet_state(), path)
    return path
