"""train-dhd -> eval-dhd -> mse+dhd training -> eval hash columns -> authenticate, on micro data."""

import csv

import pytest

from semjscc.cli import main
from semjscc.evaluation.dhd import evaluate_dhd

DHD_MICRO = [
    "data.image_size=16",
    "data.num_images={train: 64, val: 16, test: 24, db: 48}",
    "dhd.width=8",
    "dhd.num_bits=16",
    "dhd.epochs=2",
    "dhd.batch_size=32",
    "train.eval_batch_size=32",
    "train.device=cpu",
]


def _set(overrides):
    return [a for o in overrides for a in ("--set", o)]


@pytest.fixture(scope="module")
def dhd_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("dhd") / "run"
    assert main(["train-dhd", "--config", "tiny/dhd", *_set(DHD_MICRO), "--out", str(run)]) == 0
    return run


def test_train_dhd_run_dir(dhd_run):
    rows = list(csv.DictReader((dhd_run / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(0 <= float(r["val_map"]) <= 1 for r in rows)
    assert {"train_hp", "train_sdh", "train_bceq"} <= set(rows[0])
    assert (dhd_run / "best.pt").is_file() and (dhd_run / "last.pt").is_file()


def test_eval_dhd_prints_map_and_random_baseline(dhd_run, capsys):
    assert main(["eval-dhd", "--checkpoint", str(dhd_run / "best.pt")]) == 0
    out = capsys.readouterr().out
    assert "mAP@all" in out and "24 test queries vs 48 database images, 16 bits" in out
    assert "random 16-bit codes" in out


def test_mse_dhd_training_and_hash_columns(dhd_run, tmp_path, micro_overrides, capsys):
    jscc = tmp_path / "jscc"
    overrides = micro_overrides + ["train.loss={mse: 1.0, dhd: 0.06}",
                                   f"dhd.checkpoint={dhd_run / 'best.pt'}",
                                   "data.num_images={train: 48, val: 16, test: 24, db: 48}"]
    assert main(["train", "--config", "tiny/df", *_set(overrides), "--out", str(jscc)]) == 0
    log = list(csv.DictReader((jscc / "log.csv").open()))
    assert float(log[0]["train_loss"]) == pytest.approx(
        float(log[0]["train_mse"]) + 0.06 * float(log[0]["train_dhd"]), rel=1e-5)

    results = tmp_path / "r.csv"
    assert main(["eval", "--checkpoint", str(jscc / "best.pt"), "--snr-db", "-10,10",
                 "--out", str(results)]) == 0
    rows = list(csv.DictReader(results.open()))
    assert [row["method"] for row in rows] == ["mse+dhd", "mse+dhd"]
    # clean queries: the DHD's own retrieval mAP, at every SNR
    clean = evaluate_dhd(dhd_run / "best.pt", overrides=[
        "data.num_images={train: 48, val: 16, test: 24, db: 48}"])["map"]
    assert float(rows[0]["map_clean"]) == float(rows[1]["map_clean"]) == pytest.approx(clean,
                                                                                         abs=1e-5)

    out = tmp_path / "auth"
    assert main(["authenticate", "--dhd", str(dhd_run / "best.pt"), "--checkpoint",
                 str(jscc / "best.pt"), "--snr-db", "-10,10", "--relays", "0,1",
                 "--out", str(out)]) == 0
    auth = list(csv.DictReader((out / "authentication.csv").open()))
    assert len(auth) == 2 * 2 * 17  # settings x thresholds 0..16
    first = [r for r in auth if r["snr_db"] == "-10" and r["relays"] == "0"]
    fars = [float(r["far"]) for r in first]
    frrs = [float(r["frr"]) for r in first]
    assert fars == sorted(fars) and frrs == sorted(frrs, reverse=True)
    assert fars[-1] == 1.0 and frrs[-1] == 0.0
    assert (out / "roc.png").stat().st_size > 10_000


def test_mse_dhd_without_dhd_is_a_clear_error(tmp_path, micro_overrides, capsys):
    assert main(["train", "--config", "tiny/df",
                 *_set(micro_overrides + ["train.loss={mse: 1.0, dhd: 0.06}"]),
                 "--out", str(tmp_path / "x")]) == 2
    assert "dhd.checkpoint" in capsys.readouterr().err
    assert main(["train", "--config", "tiny/df", *_set(micro_overrides + ["train.method=mse"]),
                 "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "'train.method' is gone" in err and "train.loss={mse: 1.0, dhd: 0.06}" in err


def test_missing_imagenet_weights_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    import torch.hub

    def offline(*a, **k):
        raise OSError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    code = main(["train-dhd", "--config", "paper/dhd", "--set", "train.device=cpu",
                 "--set", "data.kind=synthetic", "--set", "data.num_classes=null",
                 "--out", str(tmp_path / "run")])
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert code == 2 and len(err) == 1 and "resnet50-0676ba61.pth" in err[0]
