"""Quantize-and-forward: codebooks, bit packing, rate, determinism, CLI."""

import csv
import math

import numpy as np
import pytest
import torch

from semjscc.channels import AWGN, power_normalize
from semjscc.channels.quantize import (
    Codebook,
    CodebookError,
    bits_per_block,
    fit_codebook,
    pack_indices,
    to_blocks,
    unpack_indices,
)
from semjscc.checkpoint import save_checkpoint
from semjscc.cli import main
from semjscc.config import load_config, to_dict
from semjscc.data import build_dataset, make_loader
from semjscc.errors import ConfigError
from semjscc.evaluation.qf import fit_codebooks, parse_settings
from semjscc.models import (
    QuantizeForward,
    Yilmaz2023DeepJSCC,
    channel_output,
    create_model,
    load,
)


@pytest.mark.parametrize("bits", [1, 2, 3, 5, 8, 13])
def test_bit_packing_round_trips_exactly(bits):
    g = torch.Generator().manual_seed(bits)
    idx = torch.randint(0, 2**bits, (1001,), generator=g)
    packed = pack_indices(idx, bits)
    assert packed.dtype == torch.uint8 and packed.numel() == math.ceil(1001 * bits / 8)
    assert torch.equal(unpack_indices(packed, bits, 1001), idx)
    with pytest.raises(ValueError):
        pack_indices(torch.tensor([2**bits]), bits)


# The paper's five QF settings (eq. 9) and their rates I = 2k·N_Q·b / (N_Q·H·W) at 256×256
# with k = 65,536 (§2.2, §4.2; "at bpp = 4" for (2, 2)).
PAPER_BPP = {(4, 0.75): 1.5, (2, 1.0): 2.0, (4, 1.25): 2.5, (2, 1.5): 3.0, (2, 2.0): 4.0}
# tiny/df at the paper's 256×256 and M = 32 (k = 65,536) with an untrained 4-feature model,
# one image per split, at -10 dB: seconds on a CPU
PAPER_SIZE = ["data.image_size=256", "data.num_images={train: 1, val: 1, test: 1, db: 1}",
              "model.num_features=4", "model.bandwidth_ratio=1/3", "link.snr_db=-10.0",
              "train.eval_batch_size=1", "train.device=cpu", "eval.alexnet_weights=none"]


@pytest.fixture(scope="module")
def paper_books(tmp_path_factory):
    """A 256×256 checkpoint and its five paper codebooks, fitted by the engine on the
    validation image's channel outputs at the model's SNR (-10 dB)."""
    root = tmp_path_factory.mktemp("qf256")
    cfg = load_config("tiny/df", PAPER_SIZE)
    torch.manual_seed(0)
    model = create_model(cfg.model)
    assert model.num_symbols(256, 256) == 65_536
    ckpt = save_checkpoint({"kind": "deepjscc", "config": to_dict(cfg),
                            "model": model.state_dict(), "epoch": 0, "best_metric": 0.0,
                            "metrics": {}}, root / "best.pt")
    settings = parse_settings("4:0.75,2:1,4:1.25,2:1.5,2:2")
    fit_codebooks(ckpt, settings, root / "books", max_blocks=600, seed=0, device="cpu")
    return ckpt, root / "books"


def test_paper_settings_bits_per_pixel_through_the_engine(paper_books, tmp_path):
    """``eval --protocol qf`` on a 256×256 image writes the paper's bpp for every setting."""
    ckpt, books = paper_books
    assert main(["eval", "--checkpoint", str(ckpt), "--protocol", "qf", "--codebooks",
                 str(books), "--out", str(tmp_path / "qf.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "qf.csv").open()))
    assert {(int(r["n_q"]), float(r["bits"])): float(r["bpp"]) for r in rows} == PAPER_BPP
    assert all(r["snr_db"] == "-10" for r in rows)
    with pytest.raises(ConfigError, match="whole number"):
        bits_per_block(4, 0.3)
    with pytest.raises(ConfigError, match="whole number"):
        bits_per_block(2, 0.75)


def test_codebooks_are_fitted_on_noisy_channel_outputs(paper_books):
    """K-means centres are means of the blocks they were fitted on. Fitted on y = z + n at
    -10 dB (per 2-real block E‖y‖² = 1 + σ² = 11), the second moment of the centres that
    quantise y is E‖y‖² − D (the centroid condition, D the distortion). Centres fitted on the
    power-normalised encoder output z (E‖z‖² = 1 per block) lie inside z's cloud, too close to
    the origin for y: both checks then fail."""
    ckpt, books = paper_books
    book = Codebook.load(books / "qf_nq2_b2.safetensors")
    assert book.snr_db == -10.0 and book.centres.shape == (16, 2)
    model, cfg = load(ckpt)
    x = build_dataset(cfg.data, "val")[0]["image"][None]
    snr = torch.full((1,), -10.0)
    with torch.no_grad():
        z = power_normalize(model.encode(x, snr))
        y = channel_output(model, x, AWGN(), snr, torch.Generator().manual_seed(1))
    blocks = to_blocks(y, 2).reshape(-1, 2)
    assert float(to_blocks(z, 2).pow(2).sum(-1).mean()) == pytest.approx(1.0, rel=1e-4)
    energy = float(blocks.pow(2).sum(-1).mean())
    assert energy == pytest.approx(11.0, rel=0.03)
    centres = book.dequantize(book.quantize(y), y.shape)
    distortion = float((centres - y).pow(2).sum()) / blocks.shape[0]
    used = float(to_blocks(centres, 2).pow(2).sum(-1).mean())
    assert used == pytest.approx(energy - distortion, rel=0.03)
    assert used > 5.0


def test_quantize_matches_brute_force_and_block_order():
    torch.manual_seed(0)
    y = torch.randn(2, 4, 3, 3)
    blocks = to_blocks(y, 2)
    assert torch.equal(blocks[0, 0], y[0, 0, 0, :2])  # channel-major, consecutive reals
    book = Codebook(torch.randn(8, 2), n_q=2, bits=1.5, snr_db=0.0)
    idx = book.quantize(y)
    brute = torch.cdist(blocks.reshape(-1, 2), book.centres).argmin(1).view(2, -1)
    assert torch.equal(idx, brute)
    assert book.dequantize(idx, y.shape).shape == y.shape


def test_codebook_save_load_and_errors(tmp_path):
    book = Codebook(torch.randn(4, 2), 2, 1.0, -5.0, {"checkpoint": "x.pt"})
    path = book.save(tmp_path / "book.safetensors")
    loaded = Codebook.load(path)
    assert torch.equal(loaded.centres, book.centres)
    assert (loaded.n_q, loaded.bits, loaded.snr_db, loaded.meta) == (2, 1.0, -5.0,
                                                                      {"checkpoint": "x.pt"})
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    with pytest.raises(CodebookError, match="refit"):
        Codebook.load(tmp_path / "bad.safetensors")
    with pytest.raises(CodebookError, match="centres"):
        Codebook(torch.randn(3, 2), 2, 1.0, 0.0)


def test_fit_is_deterministic_with_a_seed():
    blocks = np.random.default_rng(0).normal(size=(3000, 2)).astype(np.float32)
    a = fit_codebook(blocks, 2, 1.5, 0.0, seed=7)
    b = fit_codebook(blocks, 2, 1.5, 0.0, seed=7)
    assert torch.equal(a.centres, b.centres) and a.centres.shape == (8, 2)
    c = fit_codebook(blocks, 2, 1.5, 0.0, seed=8)
    assert a.meta["inertia_per_block"] == pytest.approx(c.meta["inertia_per_block"], rel=0.05)


def test_qf_link_bits_and_every_relay_extension():
    torch.manual_seed(0)
    model = Yilmaz2023DeepJSCC(8, 8).eval()
    book = Codebook(torch.randn(16, 2), 2, 2.0, 0.0)
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        out = QuantizeForward(model, book)(x, 0.0, torch.Generator().manual_seed(0))
        assert out["x_hat"].shape == x.shape
        assert out["bits"] == 8 * 4 * 4 * 2  # 2k reals x b bits
        # the pipe is lossless: same result as dequantising the relay's indices directly
        g = torch.Generator().manual_seed(0)
        snr = torch.zeros(2)
        y = channel_output(model, x, AWGN(), snr, g)
        direct = model.decode(book.dequantize(book.quantize(y), y.shape), snr)
        torch.testing.assert_close(out["x_hat"], direct)
        ext = QuantizeForward(model, book, relays=2, every_relay=True)(x, 0.0)
        assert ext["x_hat"].shape == x.shape


def test_fit_codebook_and_eval_qf_cli(tmp_path, micro_overrides):
    run = tmp_path / "run"
    overrides = micro_overrides + ["link.relays=0"]
    assert main(["train", "--config", "tiny/df", *[a for o in overrides for a in ("--set", o)],
                 "--out", str(run)]) == 0
    books = tmp_path / "books"
    assert main(["fit-codebook", "--checkpoint", str(run / "best.pt"), "--nq-b", "2:1,2:2",
                 "--out", str(books), "--max-blocks", "1000"]) == 0
    assert sorted(p.name for p in books.iterdir()) == ["qf_nq2_b1.safetensors",
                                                       "qf_nq2_b2.safetensors"]
    meta = Codebook.load(books / "qf_nq2_b2.safetensors").meta
    # 16 val images x (M=16 x 4 x 4 reals) / N_Q=2 = 2048 blocks, subsampled to about 1000
    assert meta["n_blocks_total"] == 2048 and 800 < meta["n_blocks_fit"] < 1200
    results = tmp_path / "qf.csv"
    assert main(["eval", "--checkpoint", str(run / "best.pt"), "--protocol", "qf",
                 "--codebooks", str(books), "--out", str(results)]) == 0
    rows = list(csv.DictReader(results.open()))
    assert [(r["protocol"], r["n_q"], r["bits"]) for r in rows] == [("qf", "2", "1"),
                                                                    ("qf", "2", "2")]
    # 16x16 images, M = 16 (rho = 1/6): 2k = 256 reals -> bpp = 256 * b / 256
    assert [float(r["bpp"]) for r in rows] == [1.0, 2.0]
    # golden check: the same QF link run by hand over the test split with the same noise seed
    model, cfg = load(run / "best.pt")
    loader = make_loader(build_dataset(cfg.data, "test"), 16, shuffle=False, seed=0)
    for row, name in zip(rows, ["qf_nq2_b1", "qf_nq2_b2"]):
        link = QuantizeForward(model, Codebook.load(books / f"{name}.safetensors"))
        g = torch.Generator().manual_seed(cfg.eval.seed)
        with torch.no_grad():
            psnr = torch.cat([-10 * torch.log10((link(b["image"], 0.0, g)["x_hat"].clamp(0, 1)
                                                 - b["image"]).pow(2).mean((1, 2, 3)))
                              for b in loader]).mean()
        assert float(row["psnr"]) == pytest.approx(float(psnr), abs=1e-4)
    # --snr-db and --batch-size are honoured: one row per codebook and SNR
    assert main(["eval", "--checkpoint", str(run / "best.pt"), "--protocol", "qf",
                 "--codebooks", str(books), "--snr-db", "5,10", "--batch-size", "4",
                 "--out", str(results)]) == 0
    rows = list(csv.DictReader(results.open()))
    assert [(r["bits"], r["snr_db"]) for r in rows] == [("1", "5"), ("1", "10"), ("2", "5"),
                                                         ("2", "10")]

    other = tmp_path / "other"
    assert main(["train", "--config", "tiny/df",
                 *[a for o in overrides + ["seed=5"] for a in ("--set", o)],
                 "--out", str(other)]) == 0
    assert main(["eval", "--checkpoint", str(other / "best.pt"), "--protocol", "qf",
                 "--codebooks", str(books), "--out", str(results)]) == 2
