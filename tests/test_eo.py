"""The Earth-observation experiment (``experiment: eo-semloss``, preset eo-tiny) end to end on
micro settings, and the scoring it rests on: expected confusion counts, decoding failures
scored as chance, the two protocols, channel plumbing and realised ratios."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from semjscc.channels import build_channel
from semjscc.checkpoint import load_checkpoint
from semjscc.cli import main
from semjscc.config import ConfigError, load_config
from semjscc.evaluation.evaluate import df_system
from semjscc.evaluation.results import read_results
from semjscc.evaluation.suites import reconstruction_suite
from semjscc.evaluation.task import evaluate_task
from semjscc.experiments.eo.plan import EO_COLUMNS, check_prerequisites
from semjscc.metrics import (
    ExpectedConfusion,
    classification_metrics,
    confusion_scores,
    reconstruction_metrics,
)
from semjscc.models import WeightsError, load

RICIAN_ZF = {"name": "rician", "k_factor": 100, "equalization": "zf"}
MICRO = [
    "data.image_size=32",
    "data.num_images={train: 64, val: 16, test: 16, db: 16}",
    "train.epochs=1",
    "train.batch_size=16",
    "train.eval_batch_size=16",
    "train.device=cpu",
    "task.epochs=1",
    "task.batch_size=16",
    "eo.ratios=[1/20]",
    "eo.snr_db=[0, 10]",
    "eo.channels=[{name: rician, k_factor: 100, equalization: zf}]",
    "eo.separation=[webp]",
    "digital.codecs=[webp]",
    "digital.mcs=[28]",
]


def _args(out: Path, extra: list[str] | None = None) -> list[str]:
    sets = [a for o in MICRO + (extra or []) for a in ("--set", o)]
    return ["reproduce", "--preset", "eo-tiny", "--out", str(out), *sets]


@pytest.fixture(scope="module")
def eo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eo") / "out"
    assert main(_args(out)) == 0
    return out


def _rows(out: Path, method: str) -> list[dict]:
    return [r for r in read_results(out / "results.csv") if r["method"] == method]


def test_outputs_schema_and_files(eo_run: Path) -> None:
    header = next(csv.reader((eo_run / "results.csv").open()))
    assert header[:len(EO_COLUMNS)] == EO_COLUMNS
    djscc = _rows(eo_run, "djscc")
    assert sorted(r["snr_db"] for r in djscc) == [0, 10]
    # every row (DJSCC, separation, digital) also names the EO authors' SNR: ours - 3.01 dB
    rows = read_results(eo_run / "results.csv")
    assert {r["method"] for r in rows} == {"djscc", "separation-webp", "digital-webp-mcs28"}
    assert all(r["snr_db_authors"] == pytest.approx(r["snr_db"] - 3.01) for r in rows)
    assert sorted(r["snr_db_authors"] for r in djscc) == [-3.01, 6.99]
    for protocol in ("mismatched", "matched"):
        for score in ("accuracy", "precision_w", "recall_w", "f1_w"):
            assert all(0 <= r[f"{score}_{protocol}"] <= 1 for r in djscc)
    assert all(r["psnr"] > 5 and r["n_images"] == 16 and r["accuracy_clean"] is not None
               for r in djscc)
    confusion = json.loads((eo_run / "confusion.json").read_text())
    assert len(confusion["class_names"]) == 10
    # two DJSCC conditions x two protocols, two separation and two digital settings (clean
    # classifier)
    assert len(confusion["conditions"]) == 8
    for entry in confusion["conditions"]:
        assert torch.tensor(entry["matrix"]).sum().item() == pytest.approx(16)
    for name in ("quality_vs_snr.png", "quality_vs_ratio.png", "accuracy_heatmap.png",
                 "report.md", "reproduce.yaml", "allocation.json", "fit/fit.json",
                 "fit/fit.csv"):
        assert (eo_run / name).is_file(), name
    fits = json.loads((eo_run / "fit" / "fit.json").read_text())
    assert fits["format"] == "semjscc-fit-semloss"
    # 1 ratio x 2 SNRs: only U3 with one term has few enough parameters; the rest is noted
    (group,) = fits["groups"]
    assert set(group["metrics"]) == {"accuracy_mismatched", "accuracy_matched", "ssim", "psnr"}
    assert all(set(m["fits"]) == {"U3"} for m in group["metrics"].values())
    assert any("U1 needs at least 4 points" in n for n in group["notes"])
    report = (eo_run / "report.md").read_text()
    for heading in ("## Setup", "## Results: DJSCC over R × SNR", "## Separation baselines",
                    "## Unified semantic-loss model", "## Resource allocation example",
                    "## How this differs from the paper", "## Time and device", "+3.01"[1:],
                    "## Against the practical digital chain"):
        assert heading in report
    # the preset's DJSCC recipe is named in full
    assert "schedule onecycle, gradient norm clipped at 0.1, bf16 autocast." in report
    # k = 128 channel uses: MCS 28 (64-QAM, rate 0.93) carries 704 bits, enough for most
    # images' smallest WebP file, but it needs ~20 dB: every image is lost at 0 and 10 dB
    digital = _rows(eo_run, "digital-webp-mcs28")
    assert sorted(r["snr_db"] for r in digital) == [0, 10]
    assert all(r["n_lost"] == r["n_images"] == 16 > r["n_unreachable"] and r["k"] == 128
               and r["tb_bits"] == 704 and r["bler"] == 1 and r["channel"] == "rician"
               for r in digital)


def test_rerun_skips_finished_parts_and_changed_settings_are_refused(
        eo_run: Path, capsys: pytest.CaptureFixture) -> None:
    checkpoints = sorted(eo_run.glob("**/last.pt"))
    assert len(checkpoints) == 4  # classifier, DJSCC, two matched classifiers
    cached = sorted(p for p in (eo_run / "eval").glob("**/*.csv")
                    if not p.name.endswith(".images.csv"))  # not the per-image twins
    assert len(cached) == 4  # two DJSCC conditions, one separation, one digital setting
    before = {p: p.stat().st_mtime_ns for p in checkpoints + cached}
    capsys.readouterr()
    assert main(_args(eo_run)) == 0
    # 4 trainings; the clean score, 2 conditions, 1 separation and 1 digital setting
    assert capsys.readouterr().err.count("finished, skipped") == 9
    assert {p: p.stat().st_mtime_ns for p in checkpoints + cached} == before
    assert main(_args(eo_run, ["eo.snr_db=[0, 5]"])) == 2
    assert "eo.snr_db" in capsys.readouterr().err


def test_protocols_mean_what_they_say(eo_run: Path) -> None:
    clean_path = eo_run / "task" / "best.pt"
    clean = load_checkpoint(clean_path, kind="classifier")
    for row in _rows(eo_run, "djscc"):
        assert row["classifier_mismatched"] == str(clean_path)
        matched = load_checkpoint(row["classifier_matched"], kind="classifier")
        assert matched["config"]["task"]["checkpoint"] == str(clean_path)
        assert any(not torch.equal(v, matched["model"][k]) for k, v in clean["model"].items()
                   if v.is_floating_point())
        model, cfg = load(row["checkpoint"], kind="deepjscc")
        system = df_system(model, build_channel(cfg.link.channel), [row["snr_db"]])
        for protocol in ("mismatched", "matched"):
            result = evaluate_task(row[f"classifier_{protocol}"], reconstruct=system,
                                   device="cpu")
            assert result["accuracy"] == pytest.approx(row[f"accuracy_{protocol}"], abs=1e-6)
    # the clean classifier on clean images is M_clean
    assert row["accuracy_clean"] == pytest.approx(evaluate_task(clean_path,
                                                                device="cpu")["accuracy"])


def test_channel_plumbing_and_realised_ratio(eo_run: Path) -> None:
    for row in _rows(eo_run, "djscc"):
        assert (row["channel"], row["equalization"], row["k_factor"]) == ("rician", "zf", 100)
        assert row["requested_cr"] == "1/20"
        assert row["realized_cr"] == pytest.approx(1 / 24, rel=1e-5)
        assert row["k"] == 2 * 8 * 8  # c = floor(48/20) = 2 complex channels of 8x8
        cfg = load_checkpoint(row["checkpoint"], kind="deepjscc")["config"]
        assert cfg["link"]["channel"] == RICIAN_ZF
        assert cfg["model"]["name"] == "bourtsoulatze2019-djscc"
        preset = load_config("eo-tiny/reproduce").eo
        assert cfg["train"]["snr_db_range"] == preset.snr_adaptive_range == [-17.0, 7.0]
        assert Path(row["checkpoint"]).parent == eo_run / "djscc" / "rician_k100_zf" / "cr1_20"


def test_unreachable_separation_is_scored_as_chance(eo_run: Path) -> None:
    rows = _rows(eo_run, "separation-webp")
    # k = 128 symbols: budgets of ~128 and ~442 bits, below the smallest WebP file
    assert len(rows) == 2 and all(r["n_unreachable"] == r["n_images"] == 16 for r in rows)
    for r in rows:
        assert r["accuracy_mismatched"] == pytest.approx(0.1)
        assert r["recall_w_mismatched"] == pytest.approx(0.1)
        assert r["accuracy_matched"] == r["accuracy_mismatched"]
        assert r["psnr"] is None and r["ssim"] is None
        assert "scored as chance" in r["note"]
        assert (r["channel"], r["realized_cr"]) == ("rician", pytest.approx(1 / 24, rel=1e-5))


def test_expected_confusion_scores_failures_as_chance_by_hand() -> None:
    # four classes, one image each: 0 -> 0, 1 -> 1, 2 -> 0 decoded; class 3 failed
    metric = ExpectedConfusion(4)
    preds = torch.tensor([[9.0, 0, 0, 0], [0, 9.0, 0, 0], [9.0, 0, 0, 0], [0, 0, 0, 9.0]])
    metric.update(preds, torch.eye(4), torch.tensor([False, False, False, True]))
    counts = metric.compute()
    assert counts[3].tolist() == [0.25] * 4 and counts[2, 0] == 1
    scores = confusion_scores(counts)
    assert scores["accuracy"] == pytest.approx((2 + 0.25) / 4)
    assert scores["recall_w"] == pytest.approx(scores["accuracy"])
    # precision per predicted column: 1/2.25, 1/1.25, 0 (never right), 0.25/0.25
    precision = [1 / 2.25, 1 / 1.25, 0.0, 1.0]
    recall = [1.0, 1.0, 0.0, 0.25]
    f1 = [2 * p * r / (p + r) if p + r else 0.0 for p, r in zip(precision, recall)]
    assert scores["precision_w"] == pytest.approx(sum(precision) / 4)
    assert scores["f1_w"] == pytest.approx(sum(f1) / 4)


def test_confusion_scores_equal_torchmetrics_without_failures() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(300, 10, generator=generator)
    labels = torch.eye(10)[torch.randint(0, 10, (300,), generator=generator)]
    logits[:150] += 3 * labels[:150]  # half of them right: a non-trivial confusion
    metric = ExpectedConfusion(10)
    metric.update(logits, labels, torch.zeros(300, dtype=torch.bool))
    reference = classification_metrics(10, multi_label=False)
    reference.update(logits, labels)
    expected = {k: float(v) for k, v in reference.compute().items()}
    assert confusion_scores(metric.compute()) == pytest.approx(expected, abs=1e-6)


def test_reconstruction_metrics_leave_failed_images_out() -> None:
    cfg = load_config("eo-tiny/reproduce", ["data.image_size=32", "eval.alexnet_weights=none"])
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    x_hat = (x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1)))
    failed = x_hat.clone()
    failed[[1, 3]] = float("nan")
    suite = reconstruction_suite(cfg, torch.device("cpu"))
    suite.update(x, failed, torch.eye(4))
    reference = reconstruction_metrics(32)
    reference.update(x_hat[[0, 2]].clamp(0, 1), x[[0, 2]])
    got, expected = suite.compute(), reference.compute()
    assert set(got) == set(expected)
    assert got == pytest.approx({k: float(v) for k, v in expected.items()})
    nothing = reconstruction_suite(cfg, torch.device("cpu"))
    nothing.update(x, torch.full_like(x, float("nan")), torch.eye(4))
    assert nothing.compute() == {}


@pytest.mark.parametrize(("override", "error", "match"), [
    ("eo.protocols=[mismatched, oracle]", ConfigError, r"unknown protocol 'oracle'"),
    ("eo.separation=[bpg]", ConfigError, r"unknown separation codec 'bpg'"),
    ("eo.protocols=[mismatched]", ConfigError, r"'accuracy_matched' is not a metric"),
    ("eo.fit_families=[U9]", ConfigError, r"unknown family 'U9'"),
    ("eo.ratios=[1/60]", ConfigError, r"c = floor\(48 R\) = 0"),
    ("task.pretrained=imagenet", WeightsError, r"resnet-tiny has no ImageNet weights"),
    ("eo.users={total_power: 1}", ConfigError, r"eo.users: missing key"),
    ("digital={codecs: [webp], mcs: [29]}", ConfigError, r"mcs=29: choose an MCS index"),
    ("digital={codecs: [bpg]}", ConfigError, r"unknown separation codec 'bpg'"),
])
def test_prerequisites_refuse_in_one_line(override: str, error: type, match: str) -> None:
    cfg = load_config("eo-tiny/reproduce", [override])
    with pytest.raises(error, match=match) as info:
        check_prerequisites(cfg)
    assert "\n" not in str(info.value)


def test_missing_eurosat_is_refused_before_any_work(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    args = ["reproduce", "--preset", "eo-awgn-2025", "--out", str(out), "--set",
            f"data.root={tmp_path / 'nowhere'}"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "reproduce cannot start" in err and "nowhere" in err
    assert not out.exists()


def _results_text(out: Path) -> str:
    return (out / "results.csv").read_text().replace(str(out), "OUT")


def test_shards_then_assembling_run_equal_the_local_run(eo_run: Path, tmp_path: Path,
                                                       sharded_run: Callable) -> None:
    out = tmp_path / "out"
    assert sharded_run(_args(out), out).count("finished, skipped") == 9
    assert _results_text(out) == _results_text(eo_run)


@pytest.mark.slow
def test_ray_executor_gives_identical_results(eo_run: Path, tmp_path: Path,
                                               local_ray: object) -> None:
    out = tmp_path / "out"
    assert main(_args(out) + ["--executor", "ray"]) == 0
    assert _results_text(out) == _results_text(eo_run)


@pytest.mark.slow
def test_eo_tiny_preset_shows_the_curves(tmp_path: Path) -> None:
    """The whole eo-tiny preset (minutes): the claims its report makes
    (``SEMJSCC_EO_TINY_OUT=DIR`` checks a finished run there instead of running one)."""
    tmp_path = Path(os.environ.get("SEMJSCC_EO_TINY_OUT") or tmp_path)
    assert main(["reproduce", "--preset", "eo-tiny", "--out", str(tmp_path)]) == 0
    rows = _rows(tmp_path, "djscc")
    clean = rows[0]["accuracy_clean"]
    assert 0.85 <= clean <= 0.99
    for channel in {r["channel"] for r in rows}:
        here = [r for r in rows if r["channel"] == channel]
        harsh = min(here, key=lambda r: (r["realized_cr"], r["snr_db"]))
        assert harsh["accuracy_mismatched"] <= clean - 0.10
        for metric in ("psnr", "accuracy_mismatched"):
            for cr in {r["realized_cr"] for r in here}:
                line = sorted((r["snr_db"], r[metric]) for r in here if r["realized_cr"] == cr)
                assert line[-1][1] > line[0][1], (channel, cr, metric)
            for snr in {r["snr_db"] for r in here}:
                line = sorted((r["realized_cr"], r[metric]) for r in here if r["snr_db"] == snr)
                assert line[-1][1] > line[0][1], (channel, snr, metric)
    fits = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert len(fits["groups"]) == len({r["channel"] for r in rows})
    assert (tmp_path / "allocation.json").is_file()
