"""The allocation measured by transmission (EO study and ``semjscc allocate --run``) on a
micro EO run: measured accuracies equal the ordinary evaluation at the same operating points,
the worst user is their weighted minimum, intervals hold their point estimates, the paired
bootstrap, the CLI end to end and its one-line refusals."""

from __future__ import annotations

import csv
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from semjscc.cli import main
from semjscc.config import ConfigError, derive
from semjscc.evaluation.results import read_results
from semjscc.experiments import djscc
from semjscc.experiments.eo.allocation import (
    MEASURED_COLUMNS,
    allocation_stage,
    bootstrap,
    gain_verdict,
    measure,
    open_run,
)
from semjscc.experiments.eo.analysis import fit_stage
from semjscc.experiments.eo.evaluate import clean_result, evaluate_condition
from semjscc.experiments.eo.plan import Condition
from semjscc.semloss import AllocationProblem, SemanticLossModel, allocate, equal_baseline

USERS = {"total_power": 2.0, "noise_power": 1.0, "total_channel_uses": 512,
         "source_dim": 3072, "ratios": ["1/12", "1/24"],
         "users": [{"name": "a", "gain_db": 0.0}, {"name": "b", "weight": 1.2, "gain_db": -6.0}]}
MICRO = [
    "data.image_size=32",
    "data.num_images={train: 128, val: 16, test: 32, db: 16}",
    "train.epochs=1",
    "train.batch_size=16",
    "train.eval_batch_size=16",
    "train.device=cpu",
    "task.epochs=1",
    "task.batch_size=16",
    "eo.ratios=[1/12, 1/20]",
    "eo.snr_db=[-10, -5, 0, 5]",
    "eo.channels=[{name: awgn}]",
    "eo.separation=[]",
    "digital.codecs=[]",
    "eo.protocols=[mismatched]",
    "eo.fit_metrics=[accuracy_mismatched]",
    "eo.fit_families=[U2]",  # rises with SNR and R by its bounds: allocate never refuses it
    f"eo.users={json.dumps(USERS)}",
]


@pytest.fixture(scope="module")
def eo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alloc") / "eo"
    sets = [a for o in MICRO for a in ("--set", o)]
    assert main(["reproduce", "--preset", "eo-tiny", "--out", str(out), *sets]) == 0
    return out


def _doc(folder: Path) -> dict:
    return json.loads((folder / "allocation.json").read_text())


def test_measured_accuracy_is_the_ordinary_evaluation_at_the_operating_points(eo_run: Path):
    doc = _doc(eo_run)
    plan = open_run(eo_run)
    dev = torch.device("cpu")
    clean, loader = clean_result(plan, dev), djscc.test_loader(plan.cfg)
    classifiers = {"mismatched": plan.task_checkpoint}
    runs = {str(r.dir.relative_to(eo_run)): r for r in plan.runs}
    seeds = doc["measured"]["seeds"]
    assert seeds == [plan.cfg.eval.seed, plan.cfg.eval.seed + 1]
    for a in doc["allocations"]:
        got = doc["measured"]["schemes"][a["scheme"]]
        accuracies = []
        for u, m, seed in zip(a["users"], got["users"], seeds, strict=True):
            served = runs[m["served_by"]]
            assert served.cfg.model.name == "bourtsoulatze2019-djscc"
            user_plan = replace(plan, cfg=derive(plan.cfg, eval={"seed": seed}))
            row = evaluate_condition(user_plan, Condition(served, u["snr_db"]), classifiers,
                                     clean, loader, dev)[0][0]
            assert row["realized_cr"] == pytest.approx(u["cr"])
            assert row["k"] == u["channel_uses"]
            assert m["accuracy"] == pytest.approx(row["accuracy_mismatched"], abs=1e-12)
            accuracies.append(u["weight"] * row["accuracy_mismatched"])
        assert got["worst"]["value"] == pytest.approx(min(accuracies), abs=1e-12)
        assert got["worst"]["predicted"] == pytest.approx(a["min_weighted_quality"])
    gain = doc["measured"]["gain"]
    schemes = doc["measured"]["schemes"]
    assert gain["value"] == pytest.approx(schemes["max-min"]["worst"]["value"]
                                          - schemes["equal"]["worst"]["value"])
    assert gain["predicted"] == pytest.approx(doc["gain_over_equal"])


def test_intervals_contain_their_point_estimates(eo_run: Path):
    measured = _doc(eo_run)["measured"]
    assert measured["n_images"] == 32 and measured["level"] == 0.95
    intervals = [measured["gain"]]
    for got in measured["schemes"].values():
        intervals += [got["worst"], *got["users"]]
    for m in intervals:
        value = m.get("accuracy", m.get("value"))
        assert m["lo"] <= value <= m["hi"], m


def test_bootstrap_is_paired_over_images():
    rng = np.random.default_rng(0)
    hits = (rng.random((3, 200)) < [[0.9], [0.6], [0.7]]).astype(float)
    weights = np.array([1.0, 1.0, 0.5])
    same = bootstrap({"max-min": hits, "equal": hits.copy()}, weights, resamples=300)
    assert same["gain"] == {"value": 0.0, "lo": 0.0, "hi": 0.0}
    worst = same["max-min"]["worst"]
    assert worst["value"] == pytest.approx((weights * hits.mean(1)).min())
    better = hits.copy()
    better[2] = np.maximum(better[2], better[0])  # the worst user (w·acc) gains, nobody loses
    stats = bootstrap({"max-min": better, "equal": hits}, weights, resamples=300)
    assert stats["gain"]["lo"] >= 0 and stats["gain"]["value"] > 0
    # unpaired resamples would leave the gain interval straddling zero far more widely
    assert stats["gain"]["hi"] - stats["gain"]["lo"] < (
        stats["max-min"]["worst"]["hi"] - stats["max-min"]["worst"]["lo"]
        + stats["equal"]["worst"]["hi"] - stats["equal"]["worst"]["lo"])


def test_cli_measures_with_run_and_writes_stable_columns(eo_run: Path, tmp_path: Path, capsys):
    out = tmp_path / "alloc"
    assert main(["allocate", "--run", str(eo_run), "--out", str(out), "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "worst user (min w*accuracy): max-min measured" in text
    assert "gain of max-min over equal (worst user): measured" in text
    assert re.search(r"paired\] \((within noise|max-min ahead|equal ahead)\), predicted", text)
    # same models, images and noise seed: the experiment's numbers again
    assert _doc(out)["measured"] == _doc(eo_run)["measured"]
    with (out / "allocation.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    assert header[:10] == ["scheme", "name", "weight", "gain_db", "cr", "channel_uses",
                           "power", "snr_db", "quality", "weighted_quality"]
    assert header[10:] == MEASURED_COLUMNS
    assert [(r["scheme"], r["name"]) for r in rows] == [
        ("max-min", "a"), ("max-min", "b"), ("max-min", "worst"), ("equal", "a"),
        ("equal", "b"), ("equal", "worst"), ("gain", "max-min - equal")]
    for r in rows:
        assert float(r["measured_lo"]) <= float(r["measured_hi"])
    report = (eo_run / "report.md").read_text()
    assert "Worst user, measured:" in report and "predicted by the fit" in report
    gain = _doc(eo_run)["measured"]["gain"]
    assert f"gain {gain['value']:+.3f} [{gain['lo']:+.3f}, {gain['hi']:+.3f}]: " in report


def test_cli_without_run_predicts_and_says_so(eo_run: Path, tmp_path: Path, capsys):
    users = tmp_path / "users.yaml"
    users.write_text(yaml.safe_dump(USERS))
    assert main(["allocate", "--model", str(eo_run / "fit" / "fit.json"), "--users",
                 str(users), "--out", str(tmp_path / "p")]) == 0
    assert "predicted by the fitted model (nothing transmitted" in capsys.readouterr().out
    assert "measured" not in _doc(tmp_path / "p")
    with (tmp_path / "p" / "allocation.csv").open() as fh:
        assert "measured_accuracy" not in next(csv.reader(fh))


@pytest.mark.parametrize("change, message", [
    ({"ratios": ["1/6"], "total_channel_uses": 1024},
     r"no trained DJSCC over awgn realises R = 0\.166667 of user a; trained realised ratios"),
    ({"users": [{"name": "a", "gain_db": 30.0}, {"name": "b", "gain_db": 0.0}]},
     r"operates at 30\.00 dB, outside the trained SNRs -17\.\.7 dB"),
    ({"source_dim": 12288, "total_channel_uses": 2048}, r"set source_dim: 3072"),
])
def test_cli_refuses_in_one_line(eo_run: Path, tmp_path: Path, capsys, change, message):
    users = tmp_path / "users.yaml"
    users.write_text(yaml.safe_dump({**USERS, **change}))
    assert main(["allocate", "--run", str(eo_run), "--users", str(users), "--out",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after any warnings: one line
    assert err.startswith("semjscc allocate: error: ")
    assert re.search(message, err), err
    assert not (tmp_path / "o").exists()


def test_other_refusals(eo_run: Path, tmp_path: Path, capsys):
    assert main(["allocate", "--run", str(tmp_path)]) == 2
    assert "holds no reproduce.yaml" in capsys.readouterr().err
    assert main(["allocate", "--users", "users.yaml"]) == 2
    assert "needs --model and --users, or --run DIR" in capsys.readouterr().err
    plan = open_run(eo_run)
    model = SemanticLossModel.load(eo_run / "fit" / "fit.json")
    problem = AllocationProblem.from_dict(USERS)
    allocations = [allocate(model, problem), equal_baseline(model, problem)]
    with pytest.raises(ConfigError, match="needs a fit of accuracy_mismatched"):
        measure(plan, replace(model, metric="psnr"), allocations, torch.device("cpu"))


def test_experiment_falls_back_to_the_prediction_and_says_why(eo_run: Path, tmp_path: Path):
    out = shutil.copytree(eo_run, tmp_path / "eo")
    plan = open_run(out)
    plan.cfg = derive(plan.cfg, eo={"users": {**USERS, "source_dim": 12288,
                                              "total_channel_uses": 2048}})
    fit = fit_stage(plan.cfg, read_results(out / "results.csv"), tmp_path / "fit")
    doc = allocation_stage(plan, fit, torch.device("cpu"))
    assert "measured" not in doc and "set source_dim: 3072" in doc["not_measured"]
    assert _doc(out)["not_measured"] == doc["not_measured"]
    with (out / "allocation.csv").open() as fh:
        assert "measured_accuracy" not in next(csv.reader(fh))


@pytest.mark.parametrize(("lo", "value", "hi", "verdict"), [
    (-0.015, 0.017, 0.037, "within noise"), (0.0, 0.01, 0.02, "within noise"),
    (0.005, 0.02, 0.04, "max-min ahead"), (-0.04, -0.02, -0.001, "equal ahead")])
def test_gain_verdict_says_within_noise_when_the_interval_covers_zero(lo, value, hi, verdict):
    assert gain_verdict({"lo": lo, "value": value, "hi": hi}, "max-min", "equal") == verdict
