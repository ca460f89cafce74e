"""The digital chain from the command line: ``transmit``/``eval --baseline digital`` on a
checkpoint's link, ``bench --digital``, and their one-line errors."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from semjscc.baselines.digital import DigitalSystem, adaptive_mcs, transport_block
from semjscc.baselines.separation import code_to_budget, decode_file
from semjscc.checkpoint import save_checkpoint
from semjscc.cli import main
from semjscc.config import load_config, to_dict
from semjscc.data import build_dataset
from semjscc.evaluation.digital import evaluate_digital_checkpoint, transmit_digital
from semjscc.evaluation.results import RESULT_COLUMNS
from semjscc.models import create_model

# tiny/df at 32x32 with k = 1024 symbols per image (bandwidth 1/3), 16 test images; the
# digital chain uses only the checkpoint's link (channel, k), so its weights stay untrained
CONFIG = ["model.num_features=8", "data.num_images={train: 16, val: 16, test: 16, db: 16}",
          "train.eval_batch_size=16", "train.device=cpu", "eval.alexnet_weights=none"]
K_IMAGE = 3072  # k of the 48x64 test image: M/2 · (48/4) · (64/4) with M = 32


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("digital")
    cfg = load_config("tiny/df", CONFIG)
    torch.manual_seed(0)
    model = create_model(cfg.model)
    assert model.num_symbols(48, 64) == K_IMAGE and model.num_symbols(32, 32) == 1024
    ckpt = save_checkpoint({"kind": "deepjscc", "config": to_dict(cfg),
                            "model": model.state_dict(), "epoch": 0, "best_metric": 0.0,
                            "metrics": {}}, root / "best.pt")
    h, w = 48, 64  # a smooth gradient plus shapes: a small WebP file
    yy, xx = np.mgrid[0:h, 0:w]
    pixels = np.stack([xx / (w - 1) * 255, yy / (h - 1) * 255, np.full((h, w), 128.0)], -1)
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 28, 28), fill=(250, 40, 40))
    draw.rectangle((36, 20, 58, 40), fill=(20, 20, 200))
    image.save(root / "in.png")
    noise = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(noise).save(root / "noise.png")  # k = 256: its files outgrow small TBs
    return {"root": root, "ckpt": ckpt, "image": root / "in.png", "noise": root / "noise.png"}


def transmit(world: dict[str, Path], out: Path, *options: str, image: str = "image") -> int:
    return main(["transmit", str(world[image]), "--checkpoint", str(world["ckpt"]),
                 "--baseline", "digital", "--codec", "webp", "--out", str(out), *options])


def test_transmit_delivers_the_codec_file_at_high_snr(world, tmp_path, capsys) -> None:
    assert transmit(world, tmp_path, "--mcs", "4", "--snr-db", "15", "--relays", "1") == 0
    header, result = capsys.readouterr().out.strip().splitlines()
    tb = transport_block(4, K_IMAGE)
    assert "64x48 px, 1 relays, SNR 15 dB per hop over awgn" in header
    assert f"k = {K_IMAGE:,} complex symbols" in header
    assert result.startswith("MCS 4 (QPSK, rate 0.30): ") and f"TB {tb.tb_bits:,} bits" in result
    assert "CRC ok at every hop (2)" in result and str(tmp_path / "digital.png") in result
    file_bits = int(re.search(r"webp file ([\d,]+) bits", result)[1].replace(",", ""))
    psnr = float(re.search(r"PSNR ([\d.]+) dB", result)[1])
    assert 8 * 100 < file_bits <= tb.tb_bits and psnr > 20
    # what arrived is exactly the largest WebP file fitting the TB, decoded
    source = np.asarray(Image.open(world["image"]).convert("RGB"))
    coded = code_to_budget(source, "webp", tb.tb_bits)
    received = np.asarray(Image.open(tmp_path / "digital.png"))
    assert coded.bits == file_bits and np.array_equal(received, decode_file(coded.data))
    mse = np.mean((received / 255.0 - source / 255.0) ** 2)
    assert abs(-10 * np.log10(mse) - psnr) < 0.01


def test_transmit_reports_a_lost_image_and_writes_none(world, tmp_path, capsys) -> None:
    stale = tmp_path / "digital.png"
    stale.write_bytes(b"an earlier run's image")
    assert transmit(world, tmp_path, "--mcs", "20", "--snr-db", "-10", "--relays", "0") == 0
    lost = capsys.readouterr().out.strip().splitlines()[-1]
    assert lost.startswith("lost: TB CRC failed at hop 1 of 1, MCS 20 (64-QAM, rate 0.55), "
                           "SNR -10 dB")
    assert "the receiver has no image: nothing written" in lost and "removed the earlier" in lost
    assert not stale.exists() and list(tmp_path.iterdir()) == []


def test_transmit_reports_a_file_too_large_for_the_tb(world, tmp_path, capsys) -> None:
    assert transmit(world, tmp_path, "--mcs", "3", "--snr-db", "30", "--relays", "0",
                    image="noise") == 0
    lost = capsys.readouterr().out.strip().splitlines()[-1]
    tb = transport_block(3, 256)
    smallest = int(re.search(r"smallest webp file \(([\d,]+) bits\)", lost)[1].replace(",", ""))
    assert lost.startswith("lost: the smallest webp file") and smallest > tb.tb_bits
    assert f"does not fit the TB of {tb.tb_bits:,} bits at MCS 3" in lost
    assert "nothing written" in lost and not (tmp_path / "digital.png").exists()


def test_transmit_adaptive_says_which_mcs_it_picked(world, tmp_path, capsys) -> None:
    assert transmit(world, tmp_path, "--snr-db", "12", "--relays", "0") == 0  # default adaptive
    result = capsys.readouterr().out.strip().splitlines()[-1]
    picked = adaptive_mcs(K_IMAGE, 12.0)
    assert result.startswith(f"adaptive MCS {picked} (")
    assert "picked for 12 dB at a 10% BLER target" in result
    assert f"TB {transport_block(picked, K_IMAGE).tb_bits:,} bits" in result
    assert (tmp_path / "digital.png").exists()


@pytest.mark.usefixtures("one_thread")
def test_the_failed_hop_is_the_chains_own() -> None:
    """transmit's hop of failure (from the per-hop loss counters) against the image the
    chain gives after every hop, with the same draws: at 3 dB (MCS 9, k = 1024) seed 0
    loses the TB at hop 1, seed 1 at hop 2, seed 2 delivers it over all 3 hops."""
    image = build_dataset(load_config("tiny/df", CONFIG).data, "test")[0]["image"]
    failed = []
    for seed in range(3):
        t = transmit_digital(image, "webp", 9, 3.0, 1024, hops=3,
                             generator=torch.Generator().manual_seed(seed))
        hops = DigitalSystem("webp", 9, 3.0, 1024, hops=3).outputs(
            image[None], torch.Generator().manual_seed(seed))
        gray = [bool(torch.all(h == 0.5)) for h in hops]
        assert t.failed_hop == next((j + 1 for j, g in enumerate(gray) if g), None)
        assert t.delivered == (not gray[-1])
        if t.delivered:
            assert torch.equal(t.x_hat, hops[-1][0]) and t.hop_crc == [True] * 3
        else:
            assert t.hop_crc[t.failed_hop - 1] is False and set(t.hop_crc[t.failed_hop:]) <= {None}
        failed.append(t.failed_hop)
    assert failed == [1, 2, None]


@pytest.mark.parametrize("options, expected", [
    (["--codec", "webp"], "--codec applies to the digital baseline only; add --baseline "
                          "digital or drop --codec"),
    (["--mcs", "9"], "--mcs applies to the digital baseline only; add --baseline digital "
                     "--codec CODEC or drop --mcs"),
    (["--baseline", "digital"], "--baseline digital needs --codec"),
    (["--baseline", "digital", "--codec", "webp", "--mcs", "2"],
     "argument --mcs: MCS 2 is outside 3..28"),
    (["--baseline", "digital", "--codec", "webp", "--mcs", "29"],
     "argument --mcs: MCS 29 is outside 3..28"),
    (["--baseline", "digital", "--codec", "webp", "--mcs", "high"],
     "'high' is not an MCS; give an index 3..28 or adaptive"),
    (["--baseline", "digital", "--codec", "png"], "unknown codec 'png'; choose one of"),
])
def test_transmit_bad_combinations_are_one_line(world, tmp_path, capsys, options,
                                                expected) -> None:
    assert main(["transmit", str(world["image"]), "--checkpoint", str(world["ckpt"]),
                 "--snr-db", "10", "--relays", "0", "--out", str(tmp_path / "o"),
                 *options]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "\n" not in err and err.startswith("semjscc transmit: error: ") and expected in err
    assert captured.out == "" and not (tmp_path / "o").exists()


@pytest.mark.parametrize("options, expected", [
    (["--mcs", "9,16"], "--mcs applies to the digital baseline only"),
    (["--baseline", "digital", "--codec", "webp", "--mcs", "9,1"], "MCS 1 is outside 3..28"),
    (["--baseline", "digital", "--codec", "webp", "--protocol", "qf"],
     "--protocol qf is a DeepJSCC relay protocol; the digital baseline decodes and forwards "
     "its TB: drop --protocol qf"),
])
def test_eval_bad_combinations_are_one_line(world, tmp_path, capsys, options, expected) -> None:
    out = tmp_path / "r.csv"
    assert main(["eval", "--checkpoint", str(world["ckpt"]), "--out", str(out), *options]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("semjscc eval: error: ") and expected in err
    assert not out.exists()


def test_eval_writes_one_digital_row_per_relays_snr_and_mcs(world, tmp_path, capsys) -> None:
    out = tmp_path / "r.csv"
    assert main(["eval", "--checkpoint", str(world["ckpt"]), "--baseline", "digital",
                 "--codec", "webp", "--mcs", "9,20", "--snr-db", "-10,20", "--relays", "0,1",
                 "--out", str(out)]) == 0
    with out.open() as fh:
        header = next(csv.reader(fh))
    rows = list(csv.DictReader(out.open()))
    assert header[:len(RESULT_COLUMNS)] == RESULT_COLUMNS
    assert {"codec", "mcs", "tb_bits", "bler", "n_lost", "n_images"} <= set(header)
    assert len(rows) == 2 * 2 * 2  # relays x SNRs x MCS
    assert [(r["relays"], r["snr_db"], r["mcs"]) for r in rows] == [
        (r, s, m) for r in ("0", "1") for s in ("-10", "20") for m in ("9", "20")]
    for row in rows:
        assert row["protocol"] == "digital" and row["codec"] == "webp" and row["k"] == "1024"
        assert row["method"] == f"digital-webp-mcs{row['mcs']}" and row["n_images"] == "16"
        assert int(row["tb_bits"]) == transport_block(int(row["mcs"]), 1024).tb_bits
        assert row["hop_snr_db"] == "/".join([row["snr_db"]] * (int(row["relays"]) + 1))
        if row["snr_db"] == "-10":
            assert row["n_lost"] == row["n_images"] and float(row["bler"]) == 1.0
        else:  # every file fits the TB of MCS 9 and above, and every TB decodes at 20 dB
            assert row["n_lost"] == "0" and float(row["bler"]) == 0.0
            assert float(row["psnr"]) > 22
    by = {(r["relays"], r["snr_db"], r["mcs"]): float(r["psnr"]) for r in rows}
    assert by["0", "20", "20"] > by["0", "20", "9"]  # the larger TB carries a better file
    assert by["1", "20", "20"] == by["0", "20", "20"]  # DF: delivered intact over both hops
    printed = capsys.readouterr().out
    assert "mcs_index" in printed and "n_lost" in printed


@pytest.mark.usefixtures("one_thread")
def test_one_chain_gives_every_relay_count(world) -> None:
    """The r-relay rows of a longer chain are those of an r-relay chain (same draws)."""
    both = evaluate_digital_checkpoint(world["ckpt"], "webp", [9], [3.0], [0, 2], device="cpu")
    alone = evaluate_digital_checkpoint(world["ckpt"], "webp", [9], [3.0], [2], device="cpu")
    assert [r["relays"] for r in both] == [0, 2]
    assert 0 < both[0]["n_lost"] < both[1]["n_lost"] < 16  # the cliff: more hops, more lost
    keys = ("n_lost", "bler", "psnr", "ms_ssim", "used_bits")
    assert {k: both[1][k] for k in keys} == {k: alone[0][k] for k in keys}


def test_bench_digital_prints_figures_per_mcs(capsys) -> None:
    assert main(["bench", "--configs", "", "--qf", "", "--repeats", "1", "--batch", "4",
                 "--digital", "webp:9"]) == 0
    out = capsys.readouterr().out
    assert "digital chain: webp + 5G NR TB" in out and "k = 1,024 complex symbols" in out
    rows = [line.split() for line in out.splitlines() if re.match(r"\s+9\s+QPSK", line)]
    assert [r[4] for r in rows] == ["30", "-10"] and [r[5] for r in rows] == ["4/4", "0/4"]
    for r in rows:
        assert r[3] == f"{transport_block(9, 1024).tb_bits:,}" and float(r[7]) > 0
        assert float(r[8]) == pytest.approx(float(r[7]) * 1352 / 1e6, rel=0.05, abs=1e-4)
        shares = [float(s.rstrip("%")) for s in r[9:]]
        # the link stages are timed inside the call, so they share its wall time; the codec
        # shares come from a separate timing of the same work (noise can push the sum of all
        # five above 100 %)
        assert len(shares) == 5 and all(s >= 0 for s in shares) and sum(shares[2:]) <= 100.5


@pytest.mark.parametrize("spec, expected", [
    ("webp:adaptive", "fixed indices, not adaptive"), ("png:9", "unknown codec 'png'"),
    ("webp:2", "MCS 2 is outside 3..28"),
])
def test_bench_digital_bad_specs_are_one_line(capsys, spec, expected) -> None:
    assert main(["bench", "--configs", "", "--qf", "", "--digital", spec]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "argument --digital" in err and expected in err
