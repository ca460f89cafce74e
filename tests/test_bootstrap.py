"""Per-image scores, their results twin file, bootstrap intervals and seed pooling."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torchmetrics.image import (
    MultiScaleStructuralSimilarityIndexMeasure,
    PeakSignalNoiseRatio,
    StructuralSimilarityIndexMeasure,
)

from semjscc.config import ConfigError, load_config
from semjscc.evaluation.bootstrap import (
    add_intervals,
    bootstrap,
    compare,
    paired,
    pool_seeds,
)
from semjscc.evaluation.results import (
    IMAGES,
    ResultsError,
    images_path,
    read_results,
    write_results,
)
from semjscc.evaluation.suites import DecodedSuite, reconstruction_suite, task_suite
from semjscc.experiments.report import diff_cell, tally
from semjscc.metrics import (
    ExpectedAccuracy,
    ExpectedConfusion,
    ImageMSSSIM,
    ImagePSNR,
    ImageSSIM,
    confusion_scores,
    ms_ssim_betas,
)


def _pair(seed: int = 0, n: int = 10, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, size, size, generator=g)
    return x, (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)


@pytest.mark.parametrize("ours, theirs", [
    (ImagePSNR(), PeakSignalNoiseRatio(data_range=1.0, dim=(1, 2, 3))),
    (ImageSSIM(), StructuralSimilarityIndexMeasure(data_range=1.0)),
    (ImageMSSSIM(ms_ssim_betas(64)),
     MultiScaleStructuralSimilarityIndexMeasure(data_range=1.0, betas=ms_ssim_betas(64))),
])
def test_per_image_metrics_match_torchmetrics(ours, theirs) -> None:
    x, y = _pair()
    for part in (slice(0, 4), slice(4, 10)):
        ours.update(y[part], x[part])
        theirs.update(y[part], x[part])
    assert ours.scores().shape == (10,)
    assert float(ours.compute()) == pytest.approx(float(theirs.compute()), abs=1e-6)
    assert float(ours.scores().mean()) == pytest.approx(float(ours.compute()), abs=1e-6)


def test_expected_accuracy_matches_the_expected_confusion() -> None:
    labels = torch.eye(4)[torch.tensor([0, 1, 2, 3, 0, 1])]
    logits = torch.eye(4)[torch.tensor([0, 2, 2, 1, 0, 3])]
    failed = torch.tensor([False, False, False, False, True, True])
    hits, confusion = ExpectedAccuracy(), ExpectedConfusion(4)
    hits.update(logits, labels, failed)
    confusion.update(logits, labels, failed)
    assert hits.scores().tolist() == [1.0, 0.0, 1.0, 0.0, 0.25, 0.25]
    assert float(hits.compute()) == pytest.approx(confusion_scores(confusion.compute())["accuracy"])


def test_decoded_suite_puts_nan_where_nothing_was_decoded(micro_cfg) -> None:
    x, y = _pair(n=6, size=32)
    y[[1, 4]] = float("nan")
    suite = reconstruction_suite(micro_cfg, torch.device("cpu"))
    assert isinstance(suite, DecodedSuite)
    suite.update(x[:3], y[:3], torch.zeros(3, 2))
    suite.update(x[3:], y[3:], torch.zeros(3, 2))
    psnr = suite.per_image()["psnr"]
    assert psnr.shape == (6,) and psnr.isnan().tolist() == [False, True, False, False, True, False]
    assert float(psnr.nanmean()) == pytest.approx(suite.compute()["psnr"], abs=1e-5)


def test_task_suite_keeps_expected_correctness_per_image() -> None:
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(3))
    x, y = _pair(n=5, size=8)
    y[0] = float("nan")
    suite = task_suite(net, 3, "mismatched", torch.device("cpu"))
    suite.update(x, y, torch.eye(3)[torch.tensor([0, 1, 2, 0, 1])])
    scores = suite.per_image()["accuracy_mismatched"]
    assert scores[0] == pytest.approx(1 / 3) and set(scores[1:].tolist()) <= {0.0, 1.0}


def test_bootstrap_covers_the_true_mean_about_95_percent() -> None:
    rng = np.random.default_rng(3)
    hits = 0
    for trial in range(200):
        interval = bootstrap(rng.normal(1.0, 2.0, 100), resamples=500, seed=trial)
        hits += interval.low <= 1.0 <= interval.high
    assert 180 <= hits <= 199  # 95 % nominal: 190 expected, binomial sd ~3


def test_bootstrap_single_seed_width_is_the_standard_error() -> None:
    values = np.random.default_rng(0).normal(0.0, 1.0, 400)
    interval = bootstrap(values)
    half = (interval.high - interval.low) / 2
    assert half == pytest.approx(1.96 * values.std() / math.sqrt(400), rel=0.15)
    assert interval.estimate == pytest.approx(values.mean())


def test_seed_spread_widens_the_interval() -> None:
    base = np.random.default_rng(1).normal(0.5, 0.1, 300)
    one = bootstrap(base)
    three = bootstrap(np.stack([base - 0.2, base, base + 0.2]))
    assert three.estimate == pytest.approx(one.estimate)
    assert (three.high - three.low) > 5 * (one.high - one.low)


def test_paired_differences() -> None:
    a = np.random.default_rng(2).normal(0.0, 1.0, 200)
    same = paired(a, a)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0) and same.within_noise
    shifted = paired(a + 0.1, a)
    assert shifted.low == pytest.approx(0.1) and shifted.high == pytest.approx(0.1)
    assert not shifted.within_noise and shifted.verdict("up", "down") == "up"
    b = a.copy()
    b[:50] = np.nan
    assert paired(a + 1.0, b).estimate == pytest.approx(1.0)
    assert paired(a[:100], a) is None
    # a baseline with one seed pairs with every seed of a trained setting
    assert paired(np.stack([a + 1, a + 3]), a).estimate == pytest.approx(2.0)


def test_report_cells_and_tallies() -> None:
    a = np.zeros(50)
    up, flat = paired(a + 0.5, a), paired(a, a)
    assert diff_cell(up, 100, 1) == "+50.0 [+50.0, +50.0]"
    assert diff_cell(flat).startswith("≈ ") and diff_cell(None) == "–"
    assert tally([up, flat, None, paired(a - 1, a)]) == \
        "higher in 1, lower in 1, within noise in 1 of 3 settings"


def test_results_twin_round_trip_and_intervals(tmp_path: Path) -> None:
    rows = [{"method": "a", "psnr": 20.0, IMAGES: {"psnr": np.array([19.0, 20.0, 21.0]),
                                                    "accuracy": np.array([1.0, 0.0, np.nan])}},
            {"method": "b", "psnr": None},
            {"method": "c", "psnr": 30.0, IMAGES: {"psnr": np.array([30.0, 30.0, 30.0])}}]
    add_intervals(rows, ["psnr", "accuracy"])
    assert rows[0]["psnr_lo"] <= 20.0 <= rows[0]["psnr_hi"]
    assert rows[2]["psnr_lo"] == rows[2]["psnr_hi"] == 30.0 and "psnr_lo" not in rows[1]
    path = write_results(rows, tmp_path / "results.csv")
    assert images_path(path).name == "results.images.csv"
    back = read_results(path)
    assert IMAGES not in back[1]
    np.testing.assert_allclose(back[0][IMAGES]["psnr"], [19, 20, 21])
    np.testing.assert_allclose(back[0][IMAGES]["accuracy"], [1, 0, np.nan])
    assert set(back[2][IMAGES]) == {"psnr"}
    assert "images" not in path.read_text().splitlines()[0].split(",")
    write_results([{"method": "a", "psnr": 1.0}], path)  # no scores: no stale twin
    assert not images_path(path).exists()


def test_a_twin_that_names_missing_rows_is_refused(tmp_path: Path) -> None:
    path = write_results([{"method": "a", IMAGES: {"psnr": np.ones(2)}}], tmp_path / "r.csv")
    images_path(path).write_text("row,image,psnr\n0,0,1\n5,0,1\n")
    with pytest.raises(ResultsError, match="names row 5 but its results file has 1 rows"):
        read_results(path)


def test_pool_seeds_groups_settings_and_stacks_scores() -> None:
    rows = [{"method": "mse", "snr_db": 0, "psnr": 10.0, "n_images": 2, "train_seed": s,
             "checkpoint": f"df/mse/r0_seed{s}/best.pt", IMAGES: {"psnr": np.array([s, s + 1.0])}}
            for s in (1, 0)]
    rows.append({"method": "separation-webp", "snr_db": 0, "psnr": 5.0, "n_images": 2,
                 IMAGES: {"psnr": np.array([5.0, 5.0])}})
    rows[0]["psnr"] = 20.0
    pooled = pool_seeds(rows, ["method", "snr_db"])
    assert [r["method"] for r in pooled] == ["mse", "separation-webp"]
    mse = pooled[0]
    assert mse["psnr"] == 15.0 and mse["n_images"] == 2 and mse["n_seeds"] == 2
    assert mse["train_seed"] == "0/1"
    assert mse["checkpoint"] == "df/mse/r0_seed0/best.pt/df/mse/r0_seed1/best.pt"
    np.testing.assert_array_equal(mse[IMAGES]["psnr"], [[0, 1], [1, 2]])
    assert pooled[1]["n_seeds"] == 1 and pooled[1][IMAGES]["psnr"].shape == (1, 2)
    gap = compare(mse, pooled[1], "psnr")
    assert gap.estimate == pytest.approx(1.0 - 5.0)


def test_sweep_seeds_are_checked() -> None:
    with pytest.raises(ConfigError, match="sweep.seeds.*must not repeat a seed"):
        load_config("tiny/df", ["sweep.seeds=[1, 1]"])
    with pytest.raises(ConfigError, match="sweep.seeds.*whole numbers in 0..4294967295"):
        load_config("tiny/df", ["sweep.seeds=[-1]"])
    cfg = load_config("tiny/df", ["sweep.seeds=[3, 4]"])
    assert cfg.training_seeds() == [(3, "_seed3"), (4, "_seed4")]
    assert load_config("tiny/df").training_seeds() == [(0, "")]


@pytest.mark.parametrize("preset, module", [("tiny", "multihop"), ("eo-tiny", "eo"),
                                            ("importance-tiny", "importance")])
def test_every_experiment_trains_each_model_once_per_seed(preset: str, module: str,
                                                          tmp_path: Path) -> None:
    import importlib
    build_plan = importlib.import_module(f"semjscc.experiments.{module}.plan").build_plan
    one = build_plan(load_config(f"{preset}/reproduce", ["sweep.seeds=[]"]), tmp_path)
    two = build_plan(load_config(f"{preset}/reproduce", ["sweep.seeds=[0, 5]"]), tmp_path)
    runs = {"multihop": lambda p: p.df_runs + p.bases,
            "importance": lambda p: p.runs + p.bases}.get(module, lambda p: p.runs)
    assert len(runs(two)) == 2 * len(runs(one))
    assert {r.cfg.seed for r in runs(two)} == {0, 5}
    assert all(r.dir.name.endswith(f"_seed{r.cfg.seed}") and r.seed_suffix
               for r in runs(two))
    assert len({r.dir for r in runs(two)}) == len(runs(two))
    assert not any("_seed" in r.dir.name or r.seed_suffix for r in runs(one))


def test_judges_table_counts_settings_by_their_intervals() -> None:
    """A setting counts as above or below 0 only when its interval says so: a 0.01 lead
    within the image noise is 'within noise', not a win."""
    from semjscc.experiments.multihop.report import judges_section

    gen = np.random.default_rng(0)
    base = gen.uniform(0, 1, 200)

    def row(method: str, snr: float, shift: float) -> dict:
        scores = np.clip(base + shift + gen.normal(0, 0.2, 200), 0, 1)
        return {"method": method, "relays": 0, "snr_db": snr, "protocol": "df",
                "accuracy": float(scores.mean()), IMAGES: {"accuracy": scores}}

    rows = [row("mse", s, 0.0) for s in (0.0, 10.0)]
    rows += [row("mse+dhd", 0.0, 0.3), row("mse+dhd", 10.0, 0.01)]
    text = judges_section(rows)
    assert "above 0 in 1, below 0 in 0, within noise in 1 of 2 settings" in text
    assert "higher at" not in text
    plain = [{k: v for k, v in r.items() if k != IMAGES} for r in rows]
    assert re.search(r"higher at [12] of 2 \(no intervals\)", judges_section(plain))
