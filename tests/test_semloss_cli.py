"""``fit-semloss`` and ``allocate`` end to end on small synthetic CSVs, and their one-line
errors (nothing written). The ``semjscc.cli.main`` tests run once the module is registered."""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from semjscc.cli import ArgumentParser, build_parser, main
from semjscc.cli import semloss as cli
from semjscc.errors import ConfigError, SemjsccError
from semjscc.semloss import FittedFamily, SemanticLossModel

U1 = FittedFamily("U1", {"M_min": 0.1, "a0": 0.95, "a1": 0.5, "a2": 15.0, "b0": -6.0,
                         "b1": -2.0, "kappa": 0.7})
RATIOS = [1 / 6, 1 / 12, 1 / 24]
SNRS = [-6, -3, 0, 3, 6, 9, 12]


def registered() -> set[str]:
    """Subcommand names of ``semjscc``."""
    return {name for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
            for name in a.choices}


needs_registration = pytest.mark.skipif("fit-semloss" not in registered(),
                                        reason="fit-semloss is not registered in semjscc.cli yet")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(prog="semjscc")
    sub = parser.add_subparsers(dest="command", required=True)
    cli.add_parser(sub)
    return parser.parse_args(argv)


def rows(channels: tuple[str, ...] = ("awgn",)) -> list[dict]:
    rng = np.random.default_rng(0)
    out = []
    for shift, channel in enumerate(channels):
        for r in RATIOS:
            for s in SNRS:
                m = float(U1.predict(r, s - 3 * shift))
                noisy = 100 * m * (1 + 0.004 * rng.standard_normal())
                out.append({"method": "djscc", "channel": channel, "realized_cr": f"{r:.6g}",
                            "snr_db": s, "accuracy": f"{noisy:.3f}",
                            "psnr": f"{48 * (0.3 + 0.6 * m):.3f}", "accuracy_clean": 96.5})
    return out


def write(path: Path, table: list[dict]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    return path


def test_fit_end_to_end_writes_model_table_and_figures(tmp_path, capsys):
    table = rows()
    table[4]["accuracy"] = ""
    results = write(tmp_path / "results.csv", table)
    out = tmp_path / "fit"
    started = time.perf_counter()
    assert cli.run_fit(parse(["fit-semloss", str(results), "--metric", "accuracy,psnr",
                              "--family", "U1,U2,U3,U4", "--out", str(out), "--starts", "4",
                              "--max-terms", "2", "--m-min", "accuracy=0.1",
                              "--psnr-ref", "50"])) == 0
    elapsed = time.perf_counter() - started
    printed = capsys.readouterr().out
    assert "dropped 1 rows with an empty cell (CSV lines 6)" in printed
    assert "accuracy      U1*" in printed and "our own designs" in printed

    doc = json.loads((out / "fit.json").read_text())
    assert doc["format"] == "semjscc-fit-semloss" and set(doc["families"]) == {"U1", "U2", "U3",
                                                                              "U4"}
    assert doc["options"]["psnr_ref_db"] == 50 and doc["options"]["group_by"] == []
    group = doc["groups"][0]
    acc, psnr = group["metrics"]["accuracy"], group["metrics"]["psnr"]
    assert acc["normalisation"]["rule"] == "M = accuracy / 100"
    assert acc["normalisation"]["m_clean"] == pytest.approx(0.965)
    assert "PSNR_ref = 50 dB" in psnr["normalisation"]["rule"]
    assert psnr["normalisation"]["m_clean"] == 1.0
    assert acc["chosen"] == acc["ranking"][0]["family"]
    u1 = acc["fits"]["U1"]
    assert u1["params"]["M_min"] == 0.1 and u1["n_points"] == 20 and "kappa" in u1["formula"]
    assert u1["diagnostics"]["cv"]["leave_one_cr_out"]["n_folds"] == 3
    assert len(acc["fits"]["U3"]["terms_curve"]) == 2

    with (out / "fit.csv").open() as fh:
        fitted = list(csv.DictReader(fh))
    assert list(fitted[0]) == ["metric", "family", "cr", "snr_db", "measured", "predicted",
                               "residual", "cv_snr_predicted", "cv_cr_predicted"]
    assert len(fitted) == (20 + 21) * 4
    assert all(r["cv_snr_predicted"] and r["cv_cr_predicted"] for r in fitted)
    assert acc["margin"]["best"] == acc["chosen"] and len(acc["margin"]["interval"]) == 2
    for name in ["curves_accuracy", "curves_psnr", "residuals_accuracy", "loss_accuracy",
                 "loss_psnr", "u3_terms"]:
        assert (out / f"{name}.png").stat().st_size > 5_000, name

    model = SemanticLossModel.load(out / "fit.json")
    assert model.metric == "accuracy" and model.family == acc["chosen"]
    assert float(model.predict(1 / 12, 3.0)) == pytest.approx(float(U1.predict(1 / 12, 3.0)),
                                                              abs=0.02)
    print(f"fit-semloss end to end: {elapsed:.1f} s")


def test_groups_by_channel_and_allocates(tmp_path, capsys):
    table = rows(("awgn", "rayleigh"))
    for r in table:
        r["realized_cr"] = f"1/{round(1 / float(r['realized_cr']))}"
    results = write(tmp_path / "results.csv", table)
    out = tmp_path / "fit"
    assert cli.run_fit(parse(["fit-semloss", str(results), "--metric", "accuracy",
                              "--out", str(out), "--starts", "3"])) == 0
    doc = json.loads((out / "fit.json").read_text())
    assert [g["group"] for g in doc["groups"]] == [{"channel": "awgn"}, {"channel": "rayleigh"}]
    assert (out / "curves_channel-rayleigh_accuracy.png").is_file()
    shifted = SemanticLossModel.load(out / "fit.json", group="channel=rayleigh")
    assert float(shifted.min_snr(1 / 12, 0.6)) == pytest.approx(
        float(SemanticLossModel(U1).min_snr(1 / 12, 0.6)) + 3, abs=0.3)

    users = {"total_power": 1.0, "noise_power": 1e-9, "total_channel_uses": 3072,
             "source_dim": 12288, "ratios": ["1/6", "1/12", "1/24"],
             "users": [{"name": "near", "gain": 1e-8}, {"name": "far", "gain_db": -86}]}
    (tmp_path / "users.yaml").write_text(yaml.safe_dump(users))
    capsys.readouterr()
    assert cli.run_allocate(parse(["allocate", "--model", str(out / "fit.json"),
                                   "--users", str(tmp_path / "users.yaml"),
                                   "--group", "channel=awgn", "--out",
                                   str(tmp_path / "alloc")])) == 0
    printed = capsys.readouterr().out
    assert "max-min  near" in printed and "equal    far" in printed
    alloc = json.loads((tmp_path / "alloc" / "allocation.json").read_text())
    best, equal = alloc["allocations"]
    assert best["min_weighted_quality"] >= equal["min_weighted_quality"]
    assert best["total_power"] <= 1.0 and alloc["gain_over_equal"] >= 0
    with (tmp_path / "alloc" / "allocation.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 4


def _error_cases(good: list[dict]) -> list[tuple[str, list[dict], list[str], str]]:
    def edit(line: int, **cells) -> list[dict]:
        table = [dict(r) for r in good]
        table[line - 2].update(cells)
        return table

    no_cr = [{k: v for k, v in r.items() if k != "realized_cr"} for r in good]
    return [
        ("missing metric", good, ["--metric", "ssim"],
         "column ssim is not in .*; columns: method, channel, realized_cr, snr_db"),
        ("missing ratio", no_cr, [], "column realized_cr or cr is not in"),
        ("empty ratio cell", edit(3, realized_cr=""), [],
         "column realized_cr has empty or non-numeric cells at CSV lines 3"),
        ("text cell", edit(4, snr_db="high"), [], "column snr_db .* at CSV lines 4"),
        ("non-finite metric", edit(5, accuracy="nan"), [], "non-finite accuracy at CSV lines 5"),
        ("non-finite snr", edit(7, snr_db="inf"), [], "non-finite snr_db at CSV lines 7"),
        ("ratio <= 0", edit(4, realized_cr="0"), [], "realized_cr <= 0 at CSV lines 4"),
        ("too few points", good[::4][:6], [], "U1 needs at least 7 points"),
        ("unknown family", good, ["--family", "U1,U7"], "unknown model family 'U7'"),
        ("bad where", good, ["--where", "chanel=awgn"], "--where takes COL=VALUE"),
        ("no rows", good, ["--where", "channel=rician"], "no rows of .* match --where"),
        ("bad m-clean", good, ["--m-clean", "psnr=high"], "--m-clean takes a number"),
        ("m-min of other metric", good, ["--m-min", "psnr=0.1"], "--m-min names psnr"),
        ("bad group-by", good, ["--group-by", "relays"], "--group-by column 'relays'"),
    ]


@pytest.mark.parametrize("case", range(14))
def test_fit_errors_are_one_line_and_write_nothing(tmp_path, case):
    name, table, extra, message = _error_cases(rows())[case]
    results = write(tmp_path / "results.csv", table)
    out = tmp_path / "out"
    args = parse(["fit-semloss", str(results), "--metric", "accuracy", "--out", str(out),
                  "--starts", "2", *extra])
    with pytest.raises(ConfigError, match=message) as err:
        cli.run_fit(args)
    assert "\n" not in str(err.value), name
    assert not out.exists(), name


def test_missing_files_are_one_line_errors(tmp_path):
    with pytest.raises(SemjsccError, match="does not exist"):
        cli.run_fit(parse(["fit-semloss", str(tmp_path / "none.csv"), "--metric", "accuracy",
                           "--out", str(tmp_path / "o")]))
    with pytest.raises(ConfigError, match="model file .* does not exist"):
        cli.run_allocate(parse(["allocate", "--model", str(tmp_path / "fit.json"),
                                "--users", str(tmp_path / "users.yaml")]))


@needs_registration
def test_main_fits_and_allocates(tmp_path, capsys):
    results = write(tmp_path / "results.csv", rows())
    out = tmp_path / "fit"
    assert main(["fit-semloss", str(results), "--metric", "accuracy,psnr", "--out", str(out),
                 "--starts", "3"]) == 0
    assert (out / "fit.json").is_file() and (out / "loss_psnr.png").is_file()
    users = {"total_power": 1.0, "noise_power": 1e-9, "total_channel_uses": 2048,
             "source_dim": 12288, "ratios": [1 / 6, 1 / 12, 1 / 24],
             "users": [{"name": "u1", "gain": 1e-8}, {"name": "u2", "gain": 2e-9}]}
    (tmp_path / "users.yaml").write_text(yaml.safe_dump(users))
    assert main(["allocate", "--model", str(out / "fit.json"), "--users",
                 str(tmp_path / "users.yaml"), "--metric", "psnr"]) == 0
    assert "min weighted quality: max-min" in capsys.readouterr().out


@needs_registration
def test_main_prints_one_line_errors_with_exit_code_2(tmp_path, capsys):
    table = rows()
    table[3]["accuracy"] = "nan"
    results = write(tmp_path / "results.csv", table)
    assert main(["fit-semloss", str(results), "--metric", "accuracy",
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "non-finite accuracy at CSV lines 5" in err
    assert not (tmp_path / "out").exists()


def test_fit_in_two_processes_writes_the_same_files(tmp_path, capsys):
    results = write(tmp_path / "results.csv", rows(("awgn", "rician")))
    for workers in ("1", "2"):
        assert cli.run_fit(parse(["fit-semloss", str(results), "--metric", "accuracy,psnr",
                                  "--family", "U1,U3", "--group-by", "channel", "--out",
                                  str(tmp_path / workers), "--starts", "3", "--max-terms", "2",
                                  "--workers", workers])) == 0
    for name in ("fit.json", "fit.csv"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()
    with pytest.raises(ConfigError, match="--workers 0"):
        cli.run_fit(parse(["fit-semloss", str(results), "--metric", "accuracy", "--out",
                           str(tmp_path / "0"), "--workers", "0"]))
