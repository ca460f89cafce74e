"""Bad inputs of fits and outputs: loaded results and fits are validated (one error line naming
the file, the field and the fix), fits of doubtful quality give warnings, ``allocate``
refuses fits it cannot trust, and every command keeps its files under ``--out`` and never
overwrites an input or someone else's folder. Each refused case exits 2 with exactly one
error line and changes nothing anywhere."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import MICRO_REPRODUCE, fill, refused, snapshot

from semjscc.cli import main
from semjscc.config import ConfigError, load_config, save_config
from semjscc.experiments.runner import MARKER, RECORD, check_out
from semjscc.files import path_segment
from semjscc.semloss import FittedFamily

TRUTH = FittedFamily("U1", {"M_min": 0.1, "a0": 0.95, "a1": 0.5, "a2": 15.0, "b0": -6.0,
                            "b1": -2.0, "kappa": 0.7})
RATIOS = [1 / 6, 1 / 12, 1 / 24]
SNRS = [-6, -3, 0, 3, 6, 9, 12]
FAST = ["--starts", "2"]
USERS = {"total_power": 1.0, "noise_power": 1e-9, "total_channel_uses": 3072,
         "source_dim": 12288, "ratios": ["1/6", "1/12", "1/24"],
         "users": [{"name": "near", "gain": 1e-8}, {"name": "far", "gain_db": -86}]}


def table(metric: str = "accuracy", ratios: list[float] = RATIOS,
          snrs: list[float] = SNRS) -> list[dict]:
    """Rows of ``metric`` (a fraction) from TRUTH with 0.4 % noise, and a PSNR column."""
    rng = np.random.default_rng(0)
    rows = []
    for r in ratios:
        for s in snrs:
            m = float(TRUTH.predict(r, s))
            rows.append({"realized_cr": f"{r:.6g}", "snr_db": s,
                         metric: f"{m * (1 + 0.004 * rng.standard_normal()):.4f}",
                         "psnr": f"{48 * (0.3 + 0.6 * m):.3f}"})
    return rows


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header or list(rows[0]))
        writer.writerows([list(r.values()) for r in rows])
    return path


def edited(line: int, **cells: object) -> list[dict]:
    """The good table with cells of CSV line ``line`` (header = line 1) replaced."""
    rows = table()
    rows[line - 2].update(cells)
    return rows


def model_file(path: Path, **change: object) -> Path:
    """A model file of TRUTH fitted over [-6, 12] dB, with ``change`` applied (``params``
    entries merged)."""
    doc = {"format": "semjscc-semloss-model", "version": 1, "metric": "accuracy",
           "m_clean": 1.0, **TRUTH.to_dict(), "snr_range": [-6.0, 12.0],
           "cr_range": [RATIOS[-1], RATIOS[0]]}
    doc["params"] = {**doc["params"], **change.pop("params", {})}
    doc.update(change)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))  # NaN and Infinity as Python's json writes them
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The files the cases read: results tables broken in one way each, a real fit.json and
    copies of it broken in one field each, model files, users and foreign folders."""
    root = tmp_path_factory.mktemp("fits")
    w = {"root": root}
    w["good"] = write_csv(root / "good.csv", table())
    w["neg"] = write_csv(root / "neg.csv", edited(4, accuracy="-0.2"))
    w["above"] = write_csv(root / "above.csv", edited(5, accuracy="1.2"))
    rows = [{**r, "accuracy": f"{100 * float(r['accuracy']):.2f}"} for r in table()]
    rows[6]["accuracy"] = "130"
    w["percent"] = write_csv(root / "percent.csv", rows)
    w["ssim"] = write_csv(root / "ssim.csv", table("ssim"))
    w["ssim_above"] = write_csv(root / "ssim_above.csv", [
        {**r, "ssim": "1.4"} if i == 2 else r for i, r in enumerate(table("ssim"))])
    w["lpips_neg"] = write_csv(root / "lpips_neg.csv", [
        {**r, "lpips": "-0.1"} if i == 3 else r for i, r in enumerate(table("lpips"))])
    w["inf"] = write_csv(root / "inf.csv", edited(6, accuracy="inf"))
    w["snr_text"] = write_csv(root / "snr_text.csv", edited(3, snr_db="high"))
    w["no_snr"] = write_csv(root / "no_snr.csv", [
        {k: v for k, v in r.items() if k != "snr_db"} for r in table()])
    w["dup"] = write_csv(root / "dup.csv", [{**r, "junk": "7"} for r in table()],
                         ["realized_cr", "snr_db", "accuracy", "psnr", "accuracy"])
    w["clash"] = write_csv(root / "clash.csv", [
        {**r, "x": r["a/b"]} for r in table("a/b")],
        ["realized_cr", "snr_db", "a/b", "psnr", "a-b"])
    w["own"] = write_csv(root / "own" / "fit.csv", table())
    w["results_svg"] = write_csv(root / "results.svg", table())
    w["users"] = root / "users.yaml"
    w["users"].write_text(yaml.safe_dump(USERS))

    fit = root / "fit"
    assert main(["fit-semloss", str(w["good"]), "--metric", "accuracy", "--out", str(fit),
                 *FAST]) == 0
    w["fit"] = fit / "fit.json"
    doc = json.loads(w["fit"].read_text())
    broken = {"fit_nan": ("kappa", float("nan")), "fit_inf": ("b0", float("inf")),
              "fit_bounds": ("a0", 5.0)}
    for name, (param, value) in broken.items():
        bad = json.loads(json.dumps(doc))
        bad["groups"][0]["metrics"]["accuracy"]["fits"]["U1"]["params"][param] = value
        w[name] = root / f"{name}.json"
        w[name].write_text(json.dumps(bad))
    unknown = json.loads(json.dumps(doc))
    entry = unknown["groups"][0]["metrics"]["accuracy"]
    entry["fits"]["U1"]["family"] = "U9"
    w["fit_family"] = root / "fit_family.json"
    w["fit_family"].write_text(json.dumps(unknown))

    w["falls"] = model_file(root / "falls.json", params={"M_min": 0.9, "a0": 0.2})
    w["single_snr"] = model_file(root / "single_snr.json", snr_range=[3.0, 3.0])
    w["m_clean"] = model_file(root / "m_clean.json", m_clean=-1.0)
    w["terms"] = model_file(root / "terms.json", n_terms=10 ** 9)
    w["text_param"] = model_file(root / "text_param.json", params={"kappa": "steep"})
    w["model_nan"] = model_file(root / "model_nan.json", params={"a1": float("nan")})
    w["alloc_in"] = model_file(root / "alloc" / "allocation.json")

    w["theirs"] = root / "theirs"
    w["theirs"].mkdir()
    (w["theirs"] / "results.csv").write_text("method,psnr\ntheirs,31.5\n")
    (w["theirs"] / "report.md").write_text("# Someone else's report\n")
    w["older"] = root / "older"  # a run of an older semjscc: its record, no marker
    save_config(load_config("tiny/reproduce"), w["older"] / RECORD)
    w["own_yaml"] = root / "own_yaml"
    save_config(load_config("tiny/reproduce"), w["own_yaml"] / RECORD)
    w["empty_dir"] = root / "empty_dir"
    w["empty_dir"].mkdir()
    return w


FIT = ["fit-semloss", "--metric", "accuracy", *FAST]

# (argv with {placeholders} for world files, a piece of the expected error line)
CASES: list[tuple[list[str], str]] = [
    # ------------------------------------------------- class 1: results read by fit-semloss
    ([*FIT, "{neg}", "--out", "{new}"],
     "column accuracy = -0.2 at CSV line 4 is outside 0..1 (a fraction"),
    ([*FIT, "{above}", "--out", "{new}"],
     "column accuracy = 1.2 at CSV line 5 is outside 0..1 (a fraction"),
    ([*FIT, "{percent}", "--out", "{new}"],
     "= 130 at CSV line 8 is outside 0..100 (read as percent"),
    (["fit-semloss", "{ssim_above}", "--metric", "ssim", "--out", "{new}"],
     "column ssim = 1.4 at CSV line 4 is outside -1..1"),
    (["fit-semloss", "{lpips_neg}", "--metric", "lpips", "--out", "{new}"],
     "column lpips = -0.1 at CSV line 5 is outside 0..inf"),
    ([*FIT, "{inf}", "--out", "{new}"], "inf.csv: non-finite accuracy at CSV lines 6"),
    ([*FIT, "{snr_text}", "--out", "{new}"],
     "snr_text.csv: column snr_db has empty or non-numeric cells at CSV lines 3"),
    ([*FIT, "{no_snr}", "--out", "{new}"], "column snr_db is not in"),
    ([*FIT, "{dup}", "--out", "{new}"],
     "dup.csv: column 'accuracy' appears 2 times in the header (columns 3, 5); rename"),
    ([*FIT, "{good}", "--m-min", "accuracy=2", "--out", "{new}"],
     "M_min held at 2 is outside its bounds -0.5..1.5"),
    # ------------------------------------------------- class 1: fits read by allocate
    (["allocate", "--model", "{fit_nan}", "--users", "{users}"],
     "fit_nan.json: groups[0].metrics.accuracy.fits.U1.params.kappa = nan is not finite; fix"),
    (["allocate", "--model", "{fit_inf}", "--users", "{users}"],
     "fits.U1.params.b0 = inf is not finite"),
    (["allocate", "--model", "{fit_bounds}", "--users", "{users}"],
     "fits.U1.params.a0 = 5 is outside U1's bounds -0.5..2"),
    (["allocate", "--model", "{fit_family}", "--users", "{users}"],
     "fits.U1: unknown model family 'U9'"),
    (["allocate", "--model", "{model_nan}", "--users", "{users}"],
     "model_nan.json: params.a1 = nan is not finite; fix that field"),
    (["allocate", "--model", "{m_clean}", "--users", "{users}"],
     "m_clean = -1.0 is not a positive number"),
    (["allocate", "--model", "{terms}", "--users", "{users}"], "cannot have 1000000000 terms"),
    (["allocate", "--model", "{text_param}", "--users", "{users}"],
     "not a fitted model entry"),
    (["allocate", "--model", "{falls}", "--users", "{users}"],
     "cannot allocate with U1 of accuracy (all rows) in {falls}: it falls with SNR"),
    (["allocate", "--model", "{single_snr}", "--users", "{users}"],
     "it was fitted at a single SNR (3 dB)"),
    (["allocate", "--model", "{falls}", "--users", "{users}", "--out", "{new}"],
     "falls with SNR"),
    # ------------------------------------------------- class 2: outputs confined, protected
    ([*FIT, "{own}", "--out", "{root}/own"], "--out would overwrite the input"),
    ([*FIT, "{good}", "--out", "{good}"], "existing file"),
    (["fit-semloss", "{clash}", "--metric", "a/b,a-b", *FAST, "--out", "{new}"],
     "would both write curves_a-b.png"),
    (["allocate", "--model", "{alloc_in}", "--users", "{users}", "--out", "{root}/alloc"],
     "--out would overwrite the input"),
    (["allocate", "--model", "{fit}", "--users", "{users}", "--out", "{good}"],
     "existing file"),
    (["plot", "{results_svg}", "--x", "snr_db", "--y", "accuracy", "--out", "{results_svg}"],
     "--out would overwrite the input"),
    (["plot", "{dup}", "--x", "snr_db", "--y", "psnr", "--out", "{new}.png"],
     "column 'accuracy' appears 2 times"),
    (["reproduce", "--preset", "tiny", "--out", "{theirs}"],
     "holds files reproduce did not write (report.md, results.csv): choose a new or empty "
     "--out, or pass --force"),
    (["reproduce", "--preset", "tiny", "--out", "{theirs}", "--resume"],
     "holds no run to resume"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--resume"], "holds no run to resume"),
    (["reproduce", "--preset", "tiny", "--out", "{empty_dir}", "--resume"],
     "holds no run to resume"),
    (["reproduce", "--preset", "tiny", "--out", "{older}", "--set", "train.lr=0.5"],
     "holds a reproduction with other settings (train.lr)"),
    (["reproduce", "--preset", "tiny", "--out", "{theirs}", "--force", "--resume"],
     "not allowed with argument"),
    (["reproduce", "--preset", "{own_yaml}/reproduce.yaml", "--out", "{own_yaml}", "--force"],
     "--out would overwrite the input"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--set", "sweep.relays=[1, 2]"],
     "must include 0"),
    (["reproduce", "--preset", "tiny", "--out", "{empty_dir}", "--set", "sweep.relays=[1]"],
     "must include 0"),
]


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("index", range(len(CASES)))
def test_bad_input_is_one_clean_line_and_changes_nothing(
        index: int, world: dict[str, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    argv, expect = CASES[index]
    new = tmp_path / "new"
    around = snapshot(tmp_path)
    error, _ = refused(argv, world, new, capsys)  # no input, no foreign folder touched
    assert fill([expect], world, new)[0] in error, (expect, error)
    assert snapshot(tmp_path) == around and not new.exists()  # nothing written at all


def run_ok(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run a command that must succeed; its stderr."""
    capsys.readouterr()
    assert main(argv) == 0
    return capsys.readouterr().err


def warnings_of(err: str) -> list[str]:
    return [line for line in err.splitlines() if "error:" not in line and " (all rows): " in line]


def test_a_good_fit_gives_no_warning(world: dict[str, Path], tmp_path: Path, capsys) -> None:
    err = run_ok([*FIT, str(world["good"]), "--out", str(tmp_path / "o")], capsys)
    assert warnings_of(err) == []
    doc = json.loads((tmp_path / "o" / "fit.json").read_text())
    assert doc["groups"][0]["warnings"] == []


def test_psnr_ref_pinning_a_bound_is_a_warning(world: dict[str, Path], tmp_path: Path,
                                               capsys) -> None:
    """PSNR_ref = 8 dB puts M = PSNR / PSNR_ref near 2-5, beyond U1's ceiling bound."""
    err = run_ok(["fit-semloss", str(world["good"]), "--metric", "psnr", "--psnr-ref", "8",
                  *FAST, "--out", str(tmp_path / "o")], capsys)
    (line,) = [w for w in warnings_of(err) if "bound" in w]
    assert f"{world['good']}: psnr (all rows): U1: " in line
    assert "a0 = 2 sits at its upper bound 2" in line and "--psnr-ref" in line
    assert "the fitted curve is biased" in line
    doc = json.loads((tmp_path / "o" / "fit.json").read_text())
    assert any("a0 = 2 sits at its upper bound" in w for w in doc["groups"][0]["warnings"])


def test_single_snr_input_is_a_warning(tmp_path: Path, capsys) -> None:
    rows = table(ratios=[1 / 4, 1 / 6, 1 / 8, 1 / 12, 1 / 16, 1 / 24, 1 / 32, 1 / 48],
                 snrs=[3])
    results = write_csv(tmp_path / "single.csv", rows)
    err = run_ok([*FIT, str(results), "--out", str(tmp_path / "o")], capsys)
    assert any("accuracy (all rows): U1: 1 distinct SNR(s), but U1 needs 4 to identify how M "
               "changes with SNR" in w and "predictions at other SNRs cannot be trusted" in w
               for w in warnings_of(err)), err


def test_single_ratio_input_is_a_warning(tmp_path: Path, capsys) -> None:
    results = write_csv(tmp_path / "one_r.csv", table(ratios=[1 / 12]))
    err = run_ok([*FIT, str(results), "--out", str(tmp_path / "o")], capsys)
    assert any("a single R, so U1 is fitted as constant in R" in w for w in warnings_of(err))


def test_a_fit_that_falls_with_snr_is_a_warning_and_allocate_refuses_it(
        tmp_path: Path, capsys) -> None:
    """Accuracy that drops as the SNR rises: U1 can only follow it with its ceiling below its
    floor; fit-semloss says so, and allocate will not use the fit."""
    rows = table()
    for r in rows:
        r["accuracy"] = f"{1.0 - float(r['accuracy']) * 0.9:.4f}"
    results = write_csv(tmp_path / "falling.csv", rows)
    out = tmp_path / "o"
    err = run_ok([*FIT, str(results), "--out", str(out)], capsys)
    assert any("U1 falls with SNR at R = " in w and "allocate refuses this fit" in w
               for w in warnings_of(err)), err
    users = tmp_path / "users.yaml"
    users.write_text(yaml.safe_dump(USERS))
    before = snapshot(tmp_path)
    assert main(["allocate", "--model", str(out / "fit.json"), "--users", str(users),
                 "--out", str(tmp_path / "alloc")]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "falls with SNR" in err
    assert snapshot(tmp_path) == before


def test_metric_names_stay_inside_out(tmp_path: Path, capsys) -> None:
    """A metric column named ``../../../x`` gives file names inside --out; nothing outside
    --out changes."""
    work = tmp_path / "a" / "b" / "c"
    results = write_csv(work / "odd.csv", table("../../../x"))
    out = work / "out"
    before = snapshot(tmp_path)
    run_ok(["fit-semloss", str(results), "--metric", "../../../x", *FAST, "--out", str(out)],
           capsys)
    after = snapshot(tmp_path)
    changed = {p for p in set(after) | set(before) if after.get(p) != before.get(p)
               and not Path(p) in out.parents}  # a folder's mtime changes as out is made
    assert changed and all(Path(p).is_relative_to(out) for p in changed), changed
    assert {p.name for p in out.iterdir()} == {
        "fit.json", "fit.csv", *(f"{kind}_-..-..-x.png" for kind in ("curves", "residuals",
                                                                      "loss"))}


def test_allocate_and_plot_write_only_their_out(world: dict[str, Path], tmp_path: Path,
                                                capsys) -> None:
    before = snapshot(world["root"])
    out = tmp_path / "alloc"
    run_ok(["allocate", "--model", str(world["fit"]), "--users", str(world["users"]),
            "--out", str(out)], capsys)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["alloc", "allocation.csv",
                                                           "allocation.json"]
    png = tmp_path / "plots" / "p.png"
    run_ok(["plot", str(world["good"]), "--x", "snr_db", "--y", "accuracy", "--out", str(png)],
           capsys)
    assert png.is_file() and len(list(tmp_path.rglob("*"))) == 5
    assert snapshot(world["root"]) == before


def test_path_segment_makes_one_safe_name() -> None:
    assert path_segment("../x") == "-x"
    assert path_segment("..") == "-" and path_segment("") == "-"
    assert path_segment("/etc/passwd") == "-etc-passwd"
    assert path_segment("ms_ssim 2.5") == "ms_ssim-2.5"
    assert len(path_segment("a" * 500)) == 100
    assert "/" not in path_segment("a/../../b") and "\\" not in path_segment("a\\b")


def test_reproduce_folder_rules(tmp_path: Path) -> None:
    """check_out: new, empty and marked folders pass, and so does an older run (a record
    without the marker); a foreign folder needs --force; --resume needs a run."""
    fresh, empty, marked, older, foreign = (tmp_path / n for n in
                                            ("fresh", "empty", "marked", "older", "foreign"))
    for d in (empty, marked, older, foreign):
        d.mkdir()
    (marked / MARKER).write_text("")
    (marked / "results.csv").write_text("x\n")
    (older / RECORD).write_text("name: x\n")
    (foreign / "notes.txt").write_text("mine\n")
    for out in (fresh, empty, marked, older):
        check_out(out)
    for out in (marked, older):
        check_out(out, resume=True)
    for out in (fresh, empty, marked, older, foreign):
        check_out(out, force=True)
    for out, resume, message in ((foreign, False, "notes.txt"),
                                 (foreign, True, "no run to resume"),
                                 (fresh, True, "no run to resume"),
                                 (empty, True, "no run to resume")):
        with pytest.raises(ConfigError, match=message):
            check_out(out, resume=resume)


@pytest.mark.slow
def test_reproduce_marks_its_folder_and_continues_it(tmp_path: Path, capsys) -> None:
    """A micro reproduction leaves its marker; a re-run without options and one with
    --resume both continue it (nothing retrained); --force writes into a foreign folder."""
    sets = [a for o in MICRO_REPRODUCE for a in ("--set", o)]
    out = tmp_path / "out"
    run_ok(["reproduce", "--preset", "tiny", "--out", str(out), *sets], capsys)
    assert (out / MARKER).is_file() and (out / RECORD).is_file()
    weights = {p: p.stat().st_mtime_ns for p in out.rglob("*.pt")}
    for extra in ([], ["--resume"]):
        err = run_ok(["reproduce", "--preset", "tiny", "--out", str(out), *sets, *extra],
                     capsys)
        assert "finished, skipped" in err and ": training" not in err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.pt")} == weights
