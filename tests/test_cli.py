"""The command line end to end on micro data, and its one-line errors."""

import csv
import subprocess
import sys

import numpy as np
from PIL import Image

from semjscc.cli import main


def _set(overrides):
    return [a for o in overrides for a in ("--set", o)]


def test_info_prints_reference_numbers(capsys):
    assert main(["info", "--config", "paper/df"]) == 0
    out = capsys.readouterr().out
    assert "22,322,579" in out and "89.29 MB" in out
    assert "65,536 complex symbols" in out
    assert "0.3333" in out
    assert "encode 101.517 G" in out and "decode 123.472 G" in out



def test_info_counts_every_pair_when_hops_do_not_share_one(capsys):
    from semjscc.config import load_config
    from semjscc.models.complexity import num_parameters
    from semjscc.models.multihop import create_codecs

    cfg = load_config("tiny/df")
    for relays in (0, 1, 2):
        pairs = create_codecs(cfg.model, relays, shared=False)
        assert num_parameters(pairs) == (relays + 1) * 427_379
    assert main(["info", "--config", "tiny/df", "--set", "link.relays=2"]) == 0
    out = capsys.readouterr().out
    assert "parameters       427,379 (encoder 175,808, decoder 251,571)" in out
    assert "1,709,516 bytes" in out
    assert main(["info", "--config", "tiny/df", "--set", "link.relays=2",
                 "--set", "link.shared_codec=false"]) == 0
    out = capsys.readouterr().out
    assert "parameters       1,282,137 = 3 pairs (one per hop) x 427,379" in out
    assert "5,128,548 bytes" in out and "(3 pairs)" in out
    assert main(["info", "--config", "tiny/df", "--set", "link.relays=0",
                 "--set", "link.shared_codec=false"]) == 0
    assert "parameters       427,379 (encoder" in capsys.readouterr().out

def test_train_eval_transmit_plot(tmp_path, micro_overrides, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", "tiny/df", *_set(micro_overrides), "--out", str(run)]) == 0
    results = tmp_path / "results.csv"
    assert main(["eval", "--checkpoint", str(run / "best.pt"), "--snr-db", "-10,0,10",
                 "--relays", "0,1", "--out", str(results)]) == 0
    rows = list(csv.DictReader(results.open()))
    assert len(rows) == 6 and {r["snr_db"] for r in rows} == {"-10", "0", "10"}
    assert {"method", "protocol", "relays", "snr_db", "n_q", "bits", "bpp", "psnr", "ms_ssim",
            "n_images", "seed"} <= set(rows[0])

    image = tmp_path / "in.png"
    pixels = np.random.default_rng(0).integers(0, 255, (21, 30, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(image)
    capsys.readouterr()
    assert main(["transmit", str(image), "--checkpoint", str(run / "best.pt"), "--snr-db", "0",
                 "--relays", "2", "--out", str(tmp_path / "tx")]) == 0
    out = capsys.readouterr().out
    assert out.count("PSNR") == 3 and "destination" in out
    for i in (1, 2, 3):
        assert Image.open(tmp_path / "tx" / f"hop{i}.png").size == (30, 21)

    fig = tmp_path / "fig.png"
    assert main(["plot", str(results), "--x", "relays", "--y", "psnr,ms_ssim", "--hue", "snr_db",
                 "--out", str(fig)]) == 0
    assert fig.stat().st_size > 10_000


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    assert main(["info", "--config", "tiny/df", "--set", "model.num_featres=3"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "model.num_featres" in err and "valid keys" in err

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 100)
    assert main(["eval", "--checkpoint", str(bad), "--out", str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(bad) in err and "pass the best.pt or last.pt of a run" in err

    img = tmp_path / "broken.jpg"
    img.write_bytes(b"not a jpeg")
    assert main(["transmit", str(img), "--checkpoint", str(bad), "--snr-db", "0",
                 "--relays", "0", "--out", str(tmp_path / "o")]) == 2
    assert "cannot read image" in capsys.readouterr().err

    results = tmp_path / "r.csv"
    results.write_text("method,relays,psnr\nmse,0,20\n")
    assert main(["plot", str(results), "--x", "relays", "--y", "lpips", "--out",
                 str(tmp_path / "f.png")]) == 2
    assert "'lpips' is not in" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    proc = subprocess.run([sys.executable, "-m", "semjscc", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "train" in proc.stdout


def test_bench_prints_figures(capsys):
    assert main(["bench", "--configs", "tiny/df", "--repeats", "1", "--batch", "4",
                 "--qf", "2:1", "--qf-max-blocks", "2000"]) == 0
    out = capsys.readouterr().out
    assert "GFLOP/s" in out
    line = next(row for row in out.splitlines() if row.startswith("tiny/df"))
    fields = line.split()
    assert fields[1] == "32" and fields[2] == "4"
    assert float(fields[4]) > 0 and float(fields[5]) > 0  # train / infer images per second
    assert "fit 2,000 of 68,812,800 blocks" in out and "M blocks/s" in out
    assert "all 1 codebooks: fit" in out and "quantise every block" in out
