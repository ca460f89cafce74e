"""`semjscc reproduce` end to end on micro settings: outputs, resumability, setting changes."""

import csv
from pathlib import Path

import pytest
from conftest import MICRO_REPRODUCE

from semjscc.cli import main
from semjscc.evaluation.results import RESULT_COLUMNS

# the micro reproduction of conftest with two relays, two SNRs, two QF settings, WebP, the
# preset's methods and every judge (trained for one epoch, 8 wide)
MICRO = [
    *MICRO_REPRODUCE,
    "data.num_images={train: 64, val: 16, test: 16, db: 32}",
    "sweep.relays=[0, 1]",
    "sweep.snr_db=[0, -5]",
    "sweep.methods=[{mse: 1.0}, {mse: 1.0, dhd: 0.06}, {mse: 1.0, lpips: 0.1}]",
    "sweep.qf=['2:1', '2:2']",
    "sweep.qf_max_blocks=1000",
    "sweep.separation=[webp]",
    "sweep.figure_snr_db=[-5.0, 5.0, 15.0]",
    "judges.dhd_seed=1",
    "judges.dhd_backbone=convnet-tiny",
    "judges.classifier=true",
    "judges.dhd_epochs=1",
    "judges.dhd_width=8",
    "task.epochs=1",
    "task.width=8",
    "digital.codecs=[webp]",
    "digital.mcs=[28]",
]


def _args(out, extra=()):
    sets = [a for o in MICRO + list(extra) for a in ("--set", o)]
    return ["reproduce", "--preset", "tiny", "--out", str(out), *sets]


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "out"
    assert main(_args(out)) == 0
    return out


def test_outputs(reproduction):
    out = reproduction
    rows = list(csv.DictReader((out / "results.csv").open()))
    protocols = {r["protocol"] for r in rows}
    assert protocols == {"df", "qf", "separation", "digital"}
    df = [r for r in rows if r["protocol"] == "df"]
    # SNR-adaptive tiny preset: methods x relays x SNRs
    assert {(r["method"], r["relays"], r["snr_db"]) for r in df} == {
        (m, r, s) for m in ("mse", "mse+dhd") for r in ("0", "1") for s in ("0", "-5")}
    judged = ("hash_bit_agreement", "map", "hash_bit_agreement_indep", "map_indep",
              "hash_bit_agreement_xarch", "map_xarch", "label_agreement", "accuracy")
    assert all(r[c] for r in df for c in judged)
    assert next(csv.reader((out / "results.csv").open()))[:len(RESULT_COLUMNS)] == RESULT_COLUMNS
    assert all(r["lpips"] == "" for r in rows)  # no AlexNet weights: empty, but present
    qf = [r for r in rows if r["protocol"] == "qf"]
    # QF codebooks only at sweep.qf_snr_db (the preset's 0 dB)
    assert {(r["method"], r["snr_db"], r["bpp"]) for r in qf} == {
        (m, "0", b) for m in ("mse", "mse+dhd") for b in ("1", "2")}
    assert len(qf) == 4 and not any("/base/" in r["checkpoint"] for r in rows)
    assert (out / "df" / "base" / "r0" / "best.pt").is_file()  # trained, never evaluated
    sep = [r for r in rows if r["protocol"] == "separation"]
    assert {r["relays"] for r in sep} == {"0", "1"}
    # 16x16 images, k = 128 symbols: no WebP file is that small -> reported, not hidden
    assert all(r["note"].startswith("budget of") and not r["psnr"] for r in sep)
    # one chain of two DF hops per SNR gives both relay counts; at 0 and -5 dB the 64-QAM
    # MCS 28 loses every image (and at k = 128 its TB holds 704 bits)
    digital = [r for r in rows if r["protocol"] == "digital"]
    assert {(r["method"], r["relays"], r["snr_db"]) for r in digital} == {
        ("digital-webp-mcs28", r, s) for r in ("0", "1") for s in ("0", "-5")}
    assert all(r["n_lost"] == r["n_images"] == "16" and r["tb_bits"] == "704"
               and r["accuracy"] and r["hash_bit_agreement"] for r in digital)
    for name in ("fig2_df.png", "fig3_qf.png", "snr.png", "semantic.png", "digital.png",
                 "examples.png", "report.md", "reproduce.yaml"):
        assert (out / name).is_file()
    report = (out / "report.md").read_text()
    for heading in ("## DF relaying", "## QF relaying", "## Separation baselines", "LPIPS",
                    "## Independent judges", "independent measures",
                    "## How this differs from the paper", "Left out: `mse+lpips`",
                    "## Against the practical digital chain", "## Example reconstructions",
                    "Empty columns of `results.csv`: `lpips`"):
        assert heading in report
    assert "random codes with the same labels" in report
    assert "(fig2_df.png)" in report and "(fig3_qf.png)" in report
    assert "![examples](examples.png)" in report


def test_rerun_skips_finished_parts(reproduction, capsys):
    before = (reproduction / "results.csv").read_text()
    mtimes = {p: p.stat().st_mtime for p in reproduction.rglob("*.pt")}
    capsys.readouterr()
    assert main(_args(reproduction)) == 0
    log = capsys.readouterr().err
    assert "DHD: finished, skipped" in log
    # DHD, 3 judges, the shared base and the DF models, codebooks (two methods, one QF SNR),
    # and the evaluations of the DF models, the codebooks, the separation baselines and the
    # digital chain
    assert log.count("finished, skipped") == 1 + 3 + 1 + 4 + 2 + 4 + 2 + 1 + 1
    assert "evaluating" not in log
    assert {p: p.stat().st_mtime for p in reproduction.rglob("*.pt")} == mtimes
    assert (reproduction / "results.csv").read_text() == before


def test_changed_setting_is_refused(reproduction, capsys):
    assert main(_args(reproduction, ["train.lr=0.5"])) == 2
    err = capsys.readouterr().err
    assert "train.lr" in err and "new --out" in err


def test_interrupted_training_resumes(tmp_path):
    out = tmp_path / "out"
    # finish everything, then pretend the last DF model was interrupted after 0 of 2 epochs
    assert main(_args(out, ["train.epochs=2", "sweep.qf=[]", "sweep.separation=[]"])) == 0
    run = out / "df" / "mse_dhd" / "r0"
    (run / "last.pt").unlink()
    (run / "best.pt").unlink()
    (run / "log.csv").unlink()
    assert main(_args(out, ["train.epochs=2", "sweep.qf=[]", "sweep.separation=[]"])) == 0
    assert len(list(csv.DictReader((run / "log.csv").open()))) == 2


def test_paper_preset_refuses_without_data(tmp_path, capsys):
    assert main(["reproduce", "--preset", "paper", "--out", str(tmp_path / "p"),
                 "--set", f"data.root={tmp_path / 'missing'}"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(err) == 1 and "reproduce cannot start" in err[0] and "missing" in err[0]


def test_shared_base_plan_fine_tunes_one_mse_base_per_snr_setting(tmp_path):
    from semjscc.config import load_config
    from semjscc.experiments.multihop.plan import build_plan as make_plan
    from semjscc.experiments.multihop.units import sweep_units

    cfg = load_config("tiny/reproduce", ["sweep.base_set=[train.epochs=5]",
                                         "sweep.base_finetune_set=[train.epochs=2]"])
    plan = make_plan(cfg, tmp_path, lpips_usable=False)
    (base,) = plan.bases
    assert base.method == "base" and base.loss == {"mse": 1.0} and base.relays == 0
    assert base.cfg.train.epochs == 5 and base.cfg.train.init_from is None
    assert base.cfg.train.snr_db_range == cfg.sweep.snr_adaptive_range
    for run in plan.df_runs:
        r0 = tmp_path / "df" / run.dir.parent.name / "r0" / "best.pt"
        want = base.checkpoint if run.relays == 0 else r0
        assert Path(run.cfg.train.init_from) == want, run.label
        assert run.cfg.train.epochs == (2 if run.relays == 0 else 1)
    units, qf = sweep_units(plan, [(2, 1.0)])
    assert [run.method for run, _, _ in qf] == ["mse", "mse+dhd"]
    keys = [u.key for u in units]
    assert keys.index("df/base/r0") < min(keys.index(f"df/{m}/r0") for m in ("mse", "mse_dhd"))
    assert "df/base/r0" in next(u for u in units if u.key == "df/mse/r0").needs
    assert len(plan.df_runs) == 6  # the base is trained, never evaluated
    assert not any(u.key.startswith("qf/base") for u in units)

    plain = make_plan(load_config("tiny/reproduce", ["sweep.base_set=[]"]), tmp_path, False)
    assert not plain.bases and all(r.cfg.train.init_from is None
                                   for r in plain.df_runs if r.relays == 0)
