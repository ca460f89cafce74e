"""train-task / eval-task on micro data: learning, resume, the matched protocol, evaluation
and the command line."""

from __future__ import annotations

import argparse
import csv
import json
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import MICRO

from semjscc.checkpoint import load_checkpoint
from semjscc.cli import SUBCOMMANDS, main
from semjscc.cli import task as task_cli
from semjscc.config import load_config
from semjscc.data import build_dataset, make_loader
from semjscc.data.eurosat import CLASS_NAMES as EUROSAT_NAMES
from semjscc.errors import ConfigError
from semjscc.evaluation.task import evaluate_task, multi_hot_labels, per_class_rows
from semjscc.metrics import TopLabelAccuracy
from semjscc.models import create_classifier
from semjscc.training.task import train_task

TASK = ["task.model=resnet-tiny", "task.width=8", "task.batch_size=16", "task.lr=3e-3"]
# an easy one-hot set: 16 px land cover, 10 balanced classes, chance = 0.1
EO = MICRO + TASK + ["data.kind=synthetic-eo", "task.epochs=4",
                     "data.num_images={train: 240, val: 60, test: 40, db: 10}"]
SHAPES = MICRO + TASK + ["task.epochs=2"]  # multi-hot shapes


def _set(overrides: list[str]) -> list[str]:
    return [a for o in overrides for a in ("--set", o)]


def _log(run) -> list[dict[str, str]]:
    return list(csv.DictReader((run / "log.csv").open()))


def _params(path) -> dict[str, torch.Tensor]:
    """The trainable tensors of a classifier checkpoint (no BatchNorm statistics)."""
    state = load_checkpoint(path, kind="classifier")["model"]
    return {k: v for k, v in state.items() if not k.rsplit(".", 1)[1].startswith(
        ("running_", "num_batches"))}


@pytest.fixture(scope="module")
def eo_run(tmp_path_factory):
    return train_task(load_config("tiny/df", EO), tmp_path_factory.mktemp("task") / "run")


def blur(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A deterministic stand-in for a transmission system: 3x3 box blur."""
    assert isinstance(generator, torch.Generator)
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def test_label_kinds():
    assert multi_hot_labels(build_dataset(load_config("tiny/df", SHAPES).data, "val"))
    assert not multi_hot_labels(build_dataset(load_config("tiny/df", EO).data, "val"))


def test_train_task_learns(eo_run):
    rows = _log(eo_run)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    # cosine over 4 epochs: lr_e = 3e-3 * (1 + cos(pi (e - 1) / 4)) / 2
    assert [float(r["lr"]) for r in rows] == pytest.approx(
        [3e-3 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)])
    best = max(float(r["val_accuracy"]) for r in rows)
    cfg = load_config("tiny/df", EO)
    untrained = create_classifier(cfg.task, 10, image_size=16).eval()
    accuracy = TopLabelAccuracy()
    with torch.no_grad():
        for batch in make_loader(build_dataset(cfg.data, "val"), 30, shuffle=False, seed=0):
            accuracy.update(untrained(batch["image"]), batch["label"])
    # 60 validation images: an untrained net is near chance (0.1); >= 0.45 is out of its reach
    assert best >= 0.45 and best >= float(accuracy.compute()) + 0.3
    assert float(rows[-1]["train_loss"]) < 0.75 * float(rows[0]["train_loss"])
    ckpt = load_checkpoint(eo_run / "best.pt", kind="classifier")
    assert ckpt["best_metric"] == pytest.approx(best)
    assert evaluate_task(eo_run / "best.pt", "val")["accuracy"] == pytest.approx(best)


def test_evaluate_task_confusion_matrix(eo_run):
    result = evaluate_task(eo_run / "best.pt")
    cm = torch.tensor(result["confusion_matrix"])
    assert result["split"] == "test" and result["n_images"] == 40 and not result["multi_label"]
    assert result["class_names"] == list(EUROSAT_NAMES)
    assert cm.shape == (10, 10) and int(cm.sum()) == 40
    assert cm.sum(1).tolist() == [4] * 10  # image i shows class i % 10
    assert result["accuracy"] == pytest.approx(float(cm.trace()) / 40)
    assert result["recall_w"] == pytest.approx(result["accuracy"])  # support-weighted recall
    rows = per_class_rows(result)
    assert [r["class"] for r in rows] == [*EUROSAT_NAMES, "all"]
    assert [r["recall"] for r in rows[:-1]] == pytest.approx((cm.diag() / 4).tolist())
    assert rows[-1]["accuracy"] == result["accuracy"] and rows[-1]["support"] == 40
    assert [rows[-1][f"pred_{n}"] for n in EUROSAT_NAMES] == cm.sum(0).tolist()
    same = evaluate_task(eo_run / "best.pt", reconstruct=lambda x, g: x)
    assert same["label_agreement"] == 1.0 and same["accuracy"] == result["accuracy"]


def test_resume_is_bit_identical(tmp_path):
    straight = train_task(load_config("tiny/df", SHAPES), tmp_path / "a")
    train_task(load_config("tiny/df", SHAPES + ["task.epochs=1"]), tmp_path / "b")
    resumed = train_task(load_config("tiny/df", SHAPES), tmp_path / "b", resume=True)
    a = load_checkpoint(straight / "last.pt", kind="classifier")
    b = load_checkpoint(resumed / "last.pt", kind="classifier")
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    keys = ("lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy")
    assert [{k: r[k] for k in keys} for r in _log(straight)] == [
        {k: r[k] for k in keys} for r in _log(resumed)]
    with pytest.raises(ConfigError, match="task.lr"):
        train_task(load_config("tiny/df", SHAPES + ["task.lr=0.5"]), resumed, resume=True)


def test_matched_protocol_finetunes_the_checkpoint_on_reconstructions(eo_run, tmp_path):
    seen = []

    def counted_blur(x, generator):
        seen.append(x.shape[0])
        return blur(x, generator)

    frozen = ["task.lr=1e-9", "task.schedule=constant", "task.finetune_epochs=1"]
    cfg = load_config("tiny/df", EO + frozen + [f"task.checkpoint={eo_run / 'best.pt'}"])
    run = train_task(cfg, tmp_path / "matched", reconstruct=counted_blur)
    assert len(_log(run)) == 1 and sum(seen) == 240 + 60  # every train and val batch
    start, tuned = _params(eo_run / "best.pt"), _params(run / "last.pt")
    # lr 1e-9: the checkpoint's weights, not a fresh initialisation
    assert all(torch.allclose(start[k], tuned[k], rtol=0, atol=1e-6) for k in start)
    stats = "net.bn1.running_mean"
    assert not torch.equal(load_checkpoint(run / "last.pt")["model"][stats],
                           load_checkpoint(eo_run / "best.pt")["model"][stats])
    # validation during fine-tuning = the matched evaluation of its checkpoint
    matched = evaluate_task(run / "best.pt", "val", reconstruct=blur)
    assert matched["accuracy"] == pytest.approx(float(_log(run)[0]["val_accuracy"]))
    assert 0 <= matched["label_agreement"] <= 1

    with pytest.raises(ConfigError, match="set task.checkpoint="):
        train_task(load_config("tiny/df", EO), tmp_path / "none", reconstruct=blur)
    other = load_config("tiny/df", EO + [f"task.checkpoint={eo_run / 'best.pt'}",
                                         "task.model=convnet-tiny"])
    with pytest.raises(ConfigError, match="trained with task.model='resnet-tiny'"):
        train_task(other, tmp_path / "other", reconstruct=blur)


def _own_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    task_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def test_cli_functions(eo_run, tmp_path, capsys):
    parser = _own_parser()
    run = tmp_path / "cli"
    args = parser.parse_args(["train-task", "--config", "tiny/df", *_set(SHAPES),
                              "--set", "task.epochs=1", "--out", str(run)])
    assert args.func(args) == 0 and len(_log(run)) == 1
    assert load_checkpoint(run / "best.pt")["config"]["task"]["width"] == 8

    args = parser.parse_args(["eval-task", "--checkpoint", str(eo_run / "best.pt"),
                              "--out", str(tmp_path / "r.json")])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    result = evaluate_task(eo_run / "best.pt")
    assert f"accuracy: {result['accuracy']:.4f}" in out and "on 40 test images" in out
    assert all(name in out for name in EUROSAT_NAMES)
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["confusion_matrix"] == result["confusion_matrix"]
    assert len(saved["per_class"]) == 11

    args = parser.parse_args(["eval-task", "--checkpoint", str(run / "best.pt"),
                              "--split", "val", "--out", str(tmp_path / "r.csv")])
    assert args.func(args) == 0
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [r["class"] for r in rows][-1] == "all" and len(rows) == 11
    assert {"tn", "fp", "fn", "tp"} <= set(rows[0])  # multi-hot shapes: per-class 2x2
    assert "multi-hot labels" in capsys.readouterr().out

    capsys.readouterr()
    with pytest.raises(SystemExit):
        parser.parse_args(["eval-task", "--checkpoint", str(run / "best.pt"),
                           "--out", str(tmp_path / "r.txt")])
    assert "must end in .json, .csv" in capsys.readouterr().err


registered = pytest.mark.skipif(task_cli not in SUBCOMMANDS,
                                reason="train-task is not registered in semjscc.cli yet")


@registered
def test_cli_main(eo_run, tmp_path, capsys):
    run = tmp_path / "main"
    assert main(["train-task", "--config", "tiny/df", *_set(SHAPES), "--set",
                 "task.epochs=1", "--out", str(run)]) == 0
    assert main(["eval-task", "--checkpoint", str(eo_run / "best.pt")]) == 0
    assert "accuracy:" in capsys.readouterr().out


@registered
def test_cli_main_missing_imagenet_weights_is_one_line(tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    code = main(["train-task", "--config", "tiny/df", *_set(SHAPES), "--set",
                 "task.model=efficientvit_m2", "--set", "task.width=null", "--set",
                 "task.pretrained=imagenet", "--out", str(tmp_path / "run")])
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert code == 2 and len(err) == 1 and "task.pretrained=none" in err[0]
