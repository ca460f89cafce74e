"""``experiment: ofdm``: the presets load and plan, the checks refuse bad studies in one line,
and the report's comparisons read the rows they should."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semjscc.config import ConfigError, load_config
from semjscc.evaluation.results import IMAGES, read_results
from semjscc.experiments import reproduce
from semjscc.experiments.ofdm.plan import build_plan, channel_uses, check_prerequisites
from semjscc.experiments.ofdm.report import _digital_lines, _training_table


def test_ofdm_tiny_plans_two_models_and_four_test_channels(tmp_path: Path) -> None:
    cfg = load_config("ofdm-tiny/reproduce")
    check_prerequisites(cfg)
    plan = build_plan(cfg, tmp_path)
    assert [run.method for run in plan.runs] == ["djscc-awgn", "djscc-tdl"]
    assert plan.runs[1].cfg.link.channel["name"] == "ofdm"
    assert plan.runs[0].cfg.train.snr_db_range == [0.0, 20.0]
    channels = plan.test_channels()
    assert [c.label for c in channels] == ["ofdm_tdl-c_v3_ls", "ofdm_tdl-c_v3_perfect",
                                           "ofdm_tdl-c_v120_ls", "ofdm_tdl-c_v120_perfect"]
    # k = 512 data symbols in one slot of 576 data REs and 96 pilots
    assert channels[0].pilot_overhead == pytest.approx(1 / 6)
    assert channel_uses(channels[0], 512) == 672


def test_ofdm_paper_loads_and_plans_cdl(tmp_path: Path) -> None:
    cfg = load_config("ofdm-paper/reproduce")
    plan = build_plan(cfg, tmp_path)
    assert len(plan.runs) == 2 * 3  # two training channels x three seeds
    assert {run.dir.name for run in plan.runs} >= {"awgn_seed0", "cdl_seed2"}
    assert cfg.data.image_size == 64 and cfg.digital.link == "bit-true"
    spec = {**cfg.ofdm.channel, "bank_size": 8}  # the plan's channels, with a small bank
    cfg.ofdm.channel = spec
    channels = plan.test_channels()
    assert len(channels) == 3 * 2 and {c.model for c in channels} == {"cdl-c"}
    assert channels[0].num_slots(2048) == 2


@pytest.mark.parametrize("override, words", [
    ("ofdm.channel={name: awgn}", "must be an ofdm mapping"),
    ("ofdm.channel={name: ofdm, speed_mps: 3}", "ofdm.speeds"),
    ("ofdm.speeds=[]", "at least one value"),
    ("ofdm.channel={name: ofdm, model: tdl-x}", "link.channel.model"),
    ("digital.link=abstraction", "use digital.link=bit-true"),
])
def test_bad_studies_are_refused_in_one_line(override: str, words: str) -> None:
    cfg = load_config("ofdm-tiny/reproduce", [override])
    with pytest.raises(ConfigError, match=words) as info:
        check_prerequisites(cfg)
    assert "\n" not in str(info.value)


def _row(method: str, snr: float, accuracy: list[float], psnr: float, **extra) -> dict:
    scores = np.array(accuracy, dtype=float)
    return {"method": method, "speed_mps": 3.0, "csi": "ls", "snr_db": snr,
            "accuracy": float(scores.mean()), "psnr": psnr,
            IMAGES: {"accuracy": scores, "psnr": np.full(len(scores), psnr)}, **extra}


def test_report_compares_the_right_rows() -> None:
    n = 40
    rows = [_row("djscc-awgn", 0.0, [0.0] * n, 15.0), _row("djscc-tdl", 0.0, [1.0] * n, 18.0),
            _row("djscc-awgn", 20.0, [1.0] * n, 20.0), _row("djscc-tdl", 20.0, [1.0] * n, 22.0),
            _row("digital-webp-adaptive", 0.0, [0.0] * n, 10.0, mcs="adaptive", mcs_index=5,
                 n_lost=n, n_images=n),
            _row("digital-webp-adaptive", 20.0, [1.0] * n, 30.0, mcs="adaptive", mcs_index=20,
                 n_lost=0, n_images=n)]
    table = _training_table(rows, ["djscc-awgn", "djscc-tdl"])[0]
    assert "| 3 m/s | ls | 0 dB | 15.00 | 0.0 | 18.00 | 100.0 | +3.00 [+3.00, +3.00] | " \
           "+100.00 [+100.00, +100.00] |" in table
    lines = _digital_lines(rows, ["djscc-awgn", "djscc-tdl"])
    # equal accuracy at 20 dB: the chain never gets ahead beyond noise
    assert lines[0].startswith("* 3 m/s, `digital-webp-adaptive`: never ahead beyond noise")
    rows[-1][IMAGES]["accuracy"] = np.ones(n)
    rows[3][IMAGES]["accuracy"] = np.r_[np.zeros(n // 2), np.ones(n // 2)]
    rows[3]["accuracy"] = 0.5
    rows[2]["accuracy"], rows[2][IMAGES]["accuracy"] = 0.5, rows[3][IMAGES]["accuracy"]
    assert "ahead beyond noise in accuracy from 20 dB" in _digital_lines(
        rows, ["djscc-awgn", "djscc-tdl"])[0]


@pytest.mark.slow  # trains a classifier and two DJSCCs for an epoch on a few images
def test_a_small_study_runs_end_to_end(tmp_path: Path) -> None:
    out = reproduce("ofdm-tiny/reproduce", tmp_path, [
        "data.num_images={train: 64, val: 32, test: 16, db: 16}", "train.epochs=1",
        "task.epochs=1", "ofdm.speeds=[30]", "ofdm.test_snr_db=[0, 20]",
        "ofdm.train_channels={awgn: {name: awgn}, tdl: {name: ofdm, fft_size: 48, "
        "bank_size: 16}}",
        "ofdm.channel={name: ofdm, model: tdl-c, fft_size: 48, bank_size: 16}"])
    rows = read_results(out / "results.csv")
    djscc = [r for r in rows if r["method"].startswith("djscc-")]
    digital = [r for r in rows if r["method"].startswith("digital-")]
    assert len(djscc) == 2 * 2 * 2 and len(digital) == 2 * 2  # csi x SNR; MCS x SNR (LS)
    for r in rows:
        assert (r["channel"], r["tdl_model"], r["speed_mps"]) == ("ofdm", "tdl-c", 30.0)
        assert r["pilot_overhead"] == pytest.approx(1 / 6, abs=1e-6)
        assert r["channel_uses"] == 672 and r["n_images"] == 16
        assert r["accuracy_lo"] <= r["accuracy"] <= r["accuracy_hi"]
    assert {r["csi"] for r in djscc} == {"ls", "perfect"} and {r["csi"] for r in digital} == {"ls"}
    report = (out / "report.md").read_text()
    assert "## AWGN-trained against OFDM-trained DeepJSCC" in report
    assert (out / "snr_v30.png").is_file() and (out / "examples.png").is_file()
