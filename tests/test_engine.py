"""Training runs, resume, checkpoints and evaluation on micro synthetic data."""

import csv
import errno
import os

import pytest
import torch
from conftest import sets

from semjscc.checkpoint import load_checkpoint, save_checkpoint
from semjscc.cli import main
from semjscc.config import ConfigError, load_config
from semjscc.errors import CheckpointError
from semjscc.evaluation.evaluate import evaluate_df_checkpoint
from semjscc.evaluation.results import RESULT_COLUMNS, write_results
from semjscc.training.jscc import train_jscc


def _weights(path):
    return load_checkpoint(path, kind="deepjscc")["model"]


def test_train_writes_run_dir_and_learns(tmp_path, micro_cfg):
    run = train_jscc(micro_cfg, tmp_path / "run")
    for name in ("config.yaml", "log.csv", "best.pt", "last.pt"):
        assert (run / name).is_file()
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    ckpt = load_checkpoint(run / "last.pt", kind="deepjscc")
    assert ckpt["config"]["link"]["relays"] == 1
    assert ckpt["versions"]["torch"] == torch.__version__
    assert load_config(run / "config.yaml") == micro_cfg


def test_resume_is_bit_faithful(tmp_path, micro_overrides):
    straight = train_jscc(load_config("tiny/df", micro_overrides), tmp_path / "a")
    half = load_config("tiny/df", micro_overrides + ["train.epochs=1"])
    train_jscc(half, tmp_path / "b")
    resumed = train_jscc(load_config("tiny/df", micro_overrides), tmp_path / "b", resume=True)
    a, b = _weights(straight / "last.pt"), _weights(resumed / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert len(list(csv.DictReader((resumed / "log.csv").open()))) == 2


def test_existing_run_is_never_overwritten(tmp_path, micro_cfg, micro_overrides):
    run = train_jscc(micro_cfg, tmp_path / "run")
    before = (run / "last.pt").read_bytes()
    with pytest.raises(ConfigError, match="--resume"):
        train_jscc(micro_cfg, run)
    changed = load_config("tiny/df", micro_overrides + ["train.lr=0.5"])
    with pytest.raises(ConfigError, match="train.lr"):
        train_jscc(changed, run, resume=True)
    assert (run / "last.pt").read_bytes() == before
    with pytest.raises(ConfigError, match="nothing to resume"):
        train_jscc(micro_cfg, tmp_path / "empty", resume=True)


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint({"kind": "x", "model": {"w": torch.ones(2)}}, path)
    good = path.read_bytes()

    def crash(obj, fh, *a, **k):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        save_checkpoint({"kind": "x", "model": {"w": torch.zeros(2)}}, path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_next_write_removes_what_a_killed_writer_left(tmp_path):
    (tmp_path / ".c.pt.k1lled_9.tmp").write_bytes(b"partial")  # kill -9 mid-write
    (tmp_path / ".d.pt.k1lled_9.tmp").write_bytes(b"partial")  # another file's
    save_checkpoint({"kind": "x", "model": {"w": torch.ones(2)}}, tmp_path / "c.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".d.pt.k1lled_9.tmp", "c.pt"]


@pytest.mark.usefixtures("one_thread")
def test_full_disk_is_one_line_and_resume_finishes(tmp_path, micro_overrides, monkeypatch,
                                                   capsys):
    """The disk fills up after epoch 1: one error line (exit 2), epoch 1 kept whole and no
    temporary file left; with space again, --resume finishes the run."""
    run = tmp_path / "run"
    argv = ["train", "--config", "tiny/df", *sets(micro_overrides), "--out", str(run)]
    fsync = os.fsync

    def full(fd: int) -> None:
        if (run / "last.pt").exists():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    assert main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "No space left on device" in errors[0]
    assert "Traceback" not in err
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "config.yaml", "last.pt",
                                                     "log.csv"]
    assert load_checkpoint(run / "last.pt")["epoch"] == 1
    assert [r["epoch"] for r in csv.DictReader((run / "log.csv").open())] == ["1"]
    monkeypatch.undo()
    assert main([*argv, "--resume"]) == 0
    assert [r["epoch"] for r in csv.DictReader((run / "log.csv").open())] == ["1", "2"]


def test_truncated_or_wrong_checkpoints_are_clear(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint({"kind": "deepjscc", "config": {}, "model": {"w": torch.ones(1000)}}, path)
    data = path.read_bytes()
    (tmp_path / "t.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupt"):
        load_checkpoint(tmp_path / "t.pt")
    with pytest.raises(CheckpointError, match="'dhd' checkpoint is needed"):
        load_checkpoint(path, kind="dhd")
    for bad, problem in [({"format_version": "2"}, "is not an integer"),
                         ({"format_version": 1}, "older semjscc"),
                         ({"format_version": 2, "kind": "deepjscc", "model": {}},
                          "no config section"),
                         ({"format_version": 2, "kind": "deepjscc", "config": {},
                           "model": {"w": 1}}, "not a state_dict")]:
        torch.save(bad, tmp_path / "b.pt")
        with pytest.raises(CheckpointError, match=problem):
            load_checkpoint(tmp_path / "b.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_eval_rows_and_trends(tmp_path, micro_overrides):
    cfg = load_config("tiny/df", micro_overrides + [
        "link.relays=0", "train.epochs=4", "data.num_images.train=640", "train.lr=3e-3",
        "model.num_features=16"])
    run = train_jscc(cfg, tmp_path / "run")
    rows = evaluate_df_checkpoint(run / "best.pt", snr_db=[-10.0, 10.0], relays=[0, 3])
    assert len(rows) == 4
    write_results(rows, tmp_path / "r.csv")
    with (tmp_path / "r.csv").open() as fh:
        assert next(csv.reader(fh))[:len(RESULT_COLUMNS)] == RESULT_COLUMNS  # stable schema
    assert rows[0]["k"] == 8 * 4 * 4 and rows[0]["realized_cr"] == pytest.approx(1 / 6)
    by = {(r["relays"], r["snr_db"]): r["psnr"] for r in rows}
    assert by[(0, 10.0)] > by[(0, -10.0)] + 0.5  # measured: 16.0 vs 14.7 dB
    assert by[(0, 10.0)] > by[(3, 10.0)] + 0.5  # measured: 16.0 vs 15.0 dB
    assert rows[0]["n_images"] == 16 and rows[0]["protocol"] == "df"
    again = evaluate_df_checkpoint(run / "best.pt", snr_db=[-10.0], relays=[0])
    assert again[0]["psnr"] == rows[0]["psnr"]  # same seed, same noise


@pytest.mark.slow
def test_torchrun_ddp_two_processes_on_cpu(tmp_path, micro_overrides):
    import os
    import shutil
    import subprocess
    import sys

    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    if torchrun is None:
        pytest.skip("torchrun not installed next to this interpreter")
    run = tmp_path / "ddp"
    args = [torchrun, "--standalone", "--nproc-per-node", "2", "-m", "semjscc", "train",
            "--config", "tiny/df", *[a for o in micro_overrides for a in ("--set", o)],
            "--out", str(run)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("done:") == 1  # only rank 0 reports
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert set(_weights(run / "best.pt")) == set(_weights(run / "last.pt"))


def _lpips_sets(overrides):
    return [a for o in overrides + ["data.image_size=32", "train.loss={mse: 1.0, lpips: 0.1}",
                                    "train.epochs=1"] for a in ("--set", o)]


def test_mse_lpips_without_alexnet_is_a_clear_error(tmp_path, micro_overrides, torch_home,
                                                    capsys):
    from semjscc.cli import main

    code = main(["train", "--config", "tiny/df", *_lpips_sets(micro_overrides),
                 "--out", str(tmp_path / "a")])
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert code == 2 and len(err) == 1 and "alexnet-owt-7be5be79.pth" in err[0]
    assert not (tmp_path / "a" / "last.pt").exists()


def test_mse_lpips_trains_and_fills_the_lpips_column(tmp_path, micro_overrides, alexnet_file):
    from semjscc.cli import main
    from semjscc.evaluation.evaluate import shared_lpips

    shared_lpips.cache_clear()  # an earlier test may have cached "unavailable"
    run = tmp_path / "run"
    assert main(["train", "--config", "tiny/df", *_lpips_sets(micro_overrides),
                 "--out", str(run)]) == 0
    log = list(csv.DictReader((run / "log.csv").open()))
    assert float(log[0]["train_lpips"]) >= 0
    results = tmp_path / "r.csv"
    assert main(["eval", "--checkpoint", str(run / "best.pt"), "--snr-db", "0",
                 "--out", str(results)]) == 0
    row = next(csv.DictReader(results.open()))
    assert row["lpips"] != "" and float(row["lpips"]) >= 0
    shared_lpips.cache_clear()


def test_models_load_needs_no_dataset_and_eval_uses_trained_hop_snrs(tmp_path, micro_overrides):
    from semjscc.models import load

    cfg = load_config("tiny/df", micro_overrides + ["link.snr_db=[0.0, 10.0]", "eval.snr_db=[]",
                                                    "train.epochs=1", "model.num_features=12"])
    run = train_jscc(cfg, tmp_path / "run")
    # the data section points nowhere: loading the model must not open it
    model, loaded = load(run / "best.pt", ["data.kind=list", "data.root=/nowhere"])
    assert (model.num_features, model.num_latent) == (12, 16) and loaded.data.root == "/nowhere"
    assert not model.training
    rows = evaluate_df_checkpoint(run / "best.pt")
    assert [(r["relays"], r["hop_snr_db"], r["snr_db"]) for r in rows] == [(1, "0/10", 0.0)]
    with pytest.raises(ConfigError, match="needs --snr-db"):
        evaluate_df_checkpoint(run / "best.pt", relays=[2])
    over = evaluate_df_checkpoint(run / "best.pt", relays=[2], snr_db=[5.0],
                                  overrides=["link.channel={name: rayleigh}"])
    assert over[0]["channel"] == "rayleigh" and over[0]["hop_snr_db"] == "5/5/5"


def test_one_pair_per_hop_trains_loads_and_evaluates(tmp_path, micro_overrides):
    from semjscc.models import load
    from semjscc.models.base import HopCodecs

    cfg = load_config("tiny/df", micro_overrides + ["link.shared_codec=false", "train.epochs=1",
                                                    "eval.snr_db=[]"])
    run = train_jscc(cfg, tmp_path / "run")
    state = _weights(run / "best.pt")
    assert {k.split(".", 1)[0] for k in state} == {"0", "1"}  # relays=1: two pairs
    model, _ = load(run / "best.pt")
    assert isinstance(model, HopCodecs) and len(model) == 2
    assert not torch.equal(state["0.encoder.0.conv1.weight"], state["1.encoder.0.conv1.weight"])
    rows = evaluate_df_checkpoint(run / "best.pt")
    assert rows[0]["shared_codec"] is False and rows[0]["relays"] == 1
    with pytest.raises(ConfigError, match="cannot serve 2; evaluate it at --relays 1"):
        evaluate_df_checkpoint(run / "best.pt", relays=[2], snr_db=[0.0])


@pytest.mark.parametrize("clip", [None, 0.05])
def test_grad_clip_bounds_each_step(clip):
    # one SGD step at lr 1 moves the weights by exactly the (clipped) gradient
    from semjscc.training.distributed import DistInfo
    from semjscc.training.jscc import run_epoch

    class Scale(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(3, 1, 1))

        def forward(self, x, snrs, generator=None):
            return {"x_hat": x * self.w}

    link = Scale()
    x = torch.full((2, 3, 4, 4), 0.5)
    loader = [{"image": x, "label": torch.zeros(2, dtype=torch.long)}]
    objective = lambda s, s_hat, labels: {"loss": (s_hat - 2 * s).pow(2).mean()}  # noqa: E731
    grad = 2 * (0.5 - 1.0) * 0.5 * torch.ones(3) / 3  # d loss / d w_c, one per channel
    run_epoch(link, objective, loader, lambda b, d: [torch.zeros(b)], torch.device("cpu"),
              DistInfo(), torch.optim.SGD(link.parameters(), lr=1.0), grad_clip=clip)
    step = (link.w.detach().flatten() - 1.0).abs()
    expected = grad.abs() * (1.0 if clip is None else clip / grad.norm())
    assert torch.allclose(step, expected, atol=1e-6)
    assert clip is None or abs(float(step.norm()) - clip) < 1e-6


@pytest.mark.parametrize("native, precision, warned", [
    (False, "bf16", True), (True, "bf16", False), (False, "fp32", False)])
def test_bf16_on_a_cpu_without_amx_is_a_warning(monkeypatch, caplog, native, precision,
                                                warned):
    from semjscc import device

    monkeypatch.setattr(device.torch.cpu, "_is_amx_tile_supported", lambda: native)
    with caplog.at_level("WARNING", logger="semjscc.device"):
        device.check_precision(torch.device("cpu"), precision)
    assert ("train.precision=fp32" in caplog.text) is warned


def test_bf16_pays_on_every_cuda_device():
    from semjscc import device

    assert device.native_bf16(torch.device("cuda")) is True
