"""Floors before verdicts: evaluation from result rows at the threshold edges, the reports'
"not meaningful" marking, the warning, and the task classifier's degradations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import MICRO

from semjscc.checkpoint import load_checkpoint
from semjscc.config import Config, ConfigError, load_config, validate, with_overrides
from semjscc.experiments.floors import (
    Floor,
    eo_floors,
    floors_section,
    gated,
    importance_floors,
)
from semjscc.experiments.importance.plan import build_plan
from semjscc.experiments.importance.report import write_report
from semjscc.semantics import Degrade
from semjscc.training.task import task_optimizer, train_task


def importance_rows(t_clean: float, indep_clean: float, mse_best: dict[float, float],
                    ours: float = 0.5) -> list[dict[str, Any]]:
    """Served rows of ``mse`` and ``importance+mse`` at two test SNRs per realised R; the
    ``mse`` accuracy under T peaks at ``mse_best[R]``."""
    rows = []
    for cr, best in mse_best.items():
        for snr, share in ((0.0, 0.5), (10.0, 1.0)):
            for method, acc in (("mse", best * share), ("importance+mse", ours)):
                rows.append({
                    "method": method, "requested_cr": "1/6" if cr > 0.1 else "1/12",
                    "realized_cr": cr, "k": 256, "snr_db": snr, "train_snr_db": 5.0,
                    "served": True, "accuracy_task": acc, "accuracy_indep": acc,
                    "accuracy_task_clean": t_clean, "accuracy_indep_clean": indep_clean,
                    "psnr": 25.0, "ssim": 0.8, "l_sem": 0.1, "n_images": 100})
    return rows


def by_name(floors: list[Floor]) -> dict[str, bool]:
    return {f.name: f.holds for f in floors}


def test_floor_holds_at_its_threshold_and_misses_below() -> None:
    assert Floor("a", "x", 0.85, 0.85).holds
    assert not Floor("a", "x", 0.8499, 0.85).holds
    assert not Floor("a", "x", None, 0.85).holds
    assert "measured 0.849 vs required >= 0.850" in Floor("a", "x", 0.849, 0.85).missed_text()


def test_importance_floors_at_the_edges() -> None:
    # 0.6 / 0.8 is 0.7499999... in floating point: exactly at the 0.75 edge, so it holds
    rows = importance_rows(0.8, 0.85, {1 / 6: 0.6, 1 / 12: 0.5999})
    got = by_name(importance_floors(rows, 0.8, 0.75))
    assert got == {"T clean": True, "independent clean": True, "`mse` kept at R = 1/6": True,
                   "`mse` kept at R = 1/12": False}
    got = by_name(importance_floors(rows, 0.85, 0.75))
    assert not got["T clean"] and got["independent clean"]
    assert not by_name(importance_floors(rows, 0.8, 0.76))["`mse` kept at R = 1/6"]


def test_importance_floor_uses_the_best_test_snr() -> None:
    floors = importance_floors(importance_rows(0.9, 0.9, {1 / 6: 0.72}), 0.85, 0.75)
    assert floors[-1].measured == pytest.approx(0.8)  # 0.72 at 10 dB, not 0.36 at 0 dB


def test_eo_floor_per_channel_at_the_largest_ratio_and_snr() -> None:
    rows = [{"method": "djscc", "channel": ch, "realized_cr": cr, "snr_db": snr,
             "accuracy_matched": acc}
            for ch, top in (("awgn", 0.72), ("rician", 0.7199))
            for cr, snr, acc in ((1 / 6, 5.0, top), (1 / 6, 0.0, 0.9), (1 / 12, 5.0, 0.9))]
    rows.append({"method": "separation-webp", "channel": "awgn", "realized_cr": 0.5,
                 "snr_db": 20.0, "accuracy_matched": 0.9})
    floors = eo_floors(rows, 0.9, 0.8, lambda r: r["channel"])
    assert by_name(floors) == {"matched kept, awgn": True, "matched kept, rician": False}
    assert eo_floors([{**r, "accuracy_matched": None} for r in rows], 0.9, 0.8,
                     lambda r: r["channel"]) == []


def test_section_and_verdict_follow_the_floors() -> None:
    held, lost = [Floor("T clean", "x", 0.9, 0.85)], [Floor("T clean", "x", 0.8, 0.85)]
    assert gated("A wins.", held) == "A wins."
    assert gated("A wins.", lost).startswith("Not meaningful (floor T clean missed: measured "
                                             "0.800 vs required >= 0.850)")
    assert "| T clean | x | 0.900 | ≥ 0.850 | PASS |" in "\n".join(floors_section(held))
    assert "MISSED" in "\n".join(floors_section(lost))
    assert floors_section([]) == []


def report_text(tmp_path: Path, rows: list[dict[str, Any]]) -> str:
    cfg = with_overrides(Config(), [
        "experiment=importance", "data.kind=synthetic-eo", "data.image_size=32",
        "data.num_images={train: 10, val: 10, test: 10, db: 10}", "importance.separation=[]"])
    plan = build_plan(cfg, tmp_path)
    return write_report(plan, rows, [], torch.device("cpu"), 1.0).read_text()


def test_importance_report_marks_the_verdict(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="semjscc.floors"):
        text = report_text(tmp_path, importance_rows(0.9, 0.9, {1 / 6: 0.8, 1 / 12: 0.8}))
    verdict = text.split("## Verdict")[1]
    assert "Importance weighting (`importance+mse`)" in verdict and "PASS" in text
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="semjscc.floors"):
        text = report_text(tmp_path, importance_rows(0.8, 0.9, {1 / 6: 0.8, 1 / 12: 0.8}))
    verdict = text.split("## Verdict")[1].split("##")[0]
    assert "Not meaningful (floor T clean missed: measured 0.800 vs required >= 0.850)" in verdict
    assert "Importance weighting" not in verdict and "MISSED" in text
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # printed as "warning: ..."


def test_floor_thresholds_are_checked() -> None:
    for key in ("importance.floor_clean_accuracy", "importance.floor_mse_kept",
                "eo.floor_matched_kept"):
        with pytest.raises(ConfigError, match=key.split(".")[1]):
            validate(with_overrides(Config(), [f"{key}=1.5"]))


def test_degradations_are_checked_and_stay_in_range() -> None:
    with pytest.raises(ConfigError, match="degrade"):
        validate(with_overrides(Config(), ["task.degrade=[blur, blur]"]))
    with pytest.raises(ConfigError, match="degrade"):
        validate(with_overrides(Config(), ["task.degrade=[sharpen]"]))
    torch.manual_seed(0)
    x = torch.rand(16, 3, 32, 32)
    y = Degrade(["blur", "jpeg", "noise"])(x)
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    assert ((y - x).abs().flatten(1).amax(1) > 1e-3).any()
    assert torch.equal(Degrade([])(x), x)


def test_finetune_lr_is_checked_and_used() -> None:
    with pytest.raises(ConfigError, match="finetune_lr"):
        validate(with_overrides(Config(), ["task.finetune_lr=-1"]))
    task = with_overrides(Config(), ["task.lr=3e-3", "task.finetune_lr=1e-3"]).task
    net = torch.nn.Linear(2, 2)
    assert task_optimizer(net, task).param_groups[0]["lr"] == 3e-3
    assert task_optimizer(net, task, task.finetune_lr).param_groups[0]["lr"] == 1e-3


def test_train_task_applies_the_degradations(tmp_path: Path) -> None:
    base = MICRO + ["task.model=resnet-tiny", "task.width=8", "task.batch_size=16",
                    "task.epochs=1"]
    runs = [train_task(load_config("tiny/df", base + extra), tmp_path / name)
            for name, extra in (("a", []), ("b", []), ("c", ["task.degrade=[noise]"]))]
    weights = [load_checkpoint(r / "last.pt", kind="classifier")["model"] for r in runs]
    same = [all(torch.equal(w[k], weights[0][k]) for k in w) for w in weights[1:]]
    assert same == [True, False]  # seeded runs repeat; the degradation changes training
