"""Example-image grids: the grid figure, lost images, the shared example runner, and the
grids the EO and semantic-importance reproductions write and link on micro settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semjscc.baselines.digital import DigitalSystem
from semjscc.channels import build_channel
from semjscc.cli import main
from semjscc.config import Config, load_config
from semjscc.evaluation.evaluate import df_system
from semjscc.evaluation.results import read_results
from semjscc.experiments import djscc as single_hop
from semjscc.experiments.eo.examples import channel_grid
from semjscc.experiments.eo.plan import build_plan as eo_plan
from semjscc.experiments.examples import Examples, Grid
from semjscc.experiments.importance.examples import ratio_grid
from semjscc.experiments.importance.plan import build_plan as importance_plan
from semjscc.models import load
from semjscc.plots import image_grid
from semjscc.plots.grid import grid_inches, label_inches, lost_images

DPI = 150  # save_figure's
SMALL = ["data.image_size=16", "data.num_images={train: 16, val: 16, test: 16, db: 16}",
         "train.eval_batch_size=8", "train.device=cpu"]


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).reshape(-1, 3).astype(int)


def _sized(path: Path, n: int, rows: int, blocks: int, cell: float, headed: bool,
           labels: list[str]) -> bool:
    """Whether the PNG at ``path`` has the size of that grid (to the pixel: rounding)."""
    w, h = grid_inches(n, rows, blocks, cell, headed, label_inches(labels))
    return all(abs(got - want * DPI) <= 1 for got, want in zip(_size(path), (w, h)))


def test_image_grid_writes_png_growing_with_rows_and_columns(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 16, 16, generator=g)
    small = image_grid(x, [("a", [x.flip(-1)])], tmp_path / "small.png")
    assert small.is_file() and small.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    taller = image_grid(x, [("a", [x]), ("b", [x]), ("c", [x])], tmp_path / "taller.png")
    x4 = torch.rand(4, 3, 16, 16, generator=g)
    wider = image_grid(x4, [("a", [x4])], tmp_path / "wider.png", title="t")
    w, h = _size(small)
    assert _size(taller)[1] > h and _size(taller)[0] == w
    assert _size(wider)[0] > w
    # column blocks (e.g. one per SNR), an empty cell allowed
    blocks = image_grid(x, [("a", [x, None, x])], tmp_path / "blocks.png",
                        columns=["-5 dB", "0 dB", "5 dB"], cell=0.8)
    assert _sized(blocks, 2, 2, 3, 0.8, True, ["original", "a"])
    # the labels' room follows the widest label
    long = image_grid(x, [("a much longer label", [x])], tmp_path / "long.png")
    assert _size(long)[0] > w and _size(long)[1] == h


def test_image_grid_rejects_mismatched_rows(tmp_path):
    x = torch.rand(2, 3, 8, 8)
    with pytest.raises(ValueError, match="3 images"):
        image_grid(x, [("a", [torch.rand(3, 3, 8, 8)])], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="1 blocks, the columns 2"):
        image_grid(x, [("a", [x])], tmp_path / "bad.png", columns=["0 dB", "5 dB"])


def test_lost_digital_images_are_the_mid_gray_tiles_marked_lost(tmp_path):
    cfg = load_config("importance-tiny/reproduce", SMALL)
    examples = Examples(cfg, torch.device("cpu"))
    # MCS 9 over 1,024 symbols at -2 dB: every TB fails its CRC (tests/test_digital.py)
    lost = examples.output(DigitalSystem("webp", 9, -2.0, 1024))
    kept = examples.output(DigitalSystem("webp", 9, 12.0, 1024))
    assert lost.shape == kept.shape == (3, 3, 16, 16)
    assert torch.all(lost == 0.5) and lost_images(lost).all() and not lost_images(kept).any()
    assert lost_images(torch.full((1, 3, 4, 4), float("nan"))).all()  # separation "nan"
    # drawn: mid-gray tiles with the dark-red mark; a delivered row has neither
    flat = torch.full((3, 3, 16, 16), 0.3)
    marked = _pixels(image_grid(flat, [("digital", [lost])], tmp_path / "lost.png"))
    plain = _pixels(image_grid(flat, [("digital", [flat])], tmp_path / "plain.png"))

    def gray(px: np.ndarray) -> int:
        return int((np.abs(px - 128) <= 1).all(1).sum())

    def red(px: np.ndarray) -> int:
        return int(((px[:, 0] > 100) & (px[:, 1] < 40) & (px[:, 2] < 40)).sum())

    assert gray(marked) > 1000 and red(marked) > 10
    assert gray(plain) < 100 and red(plain) == 0  # (anti-aliased label text only)


def test_examples_run_systems_as_the_evaluation_does():
    """The first images of the evaluation loader, each system's generator seeded with
    eval.seed (what evaluate_outputs does)."""
    cfg = load_config("importance-tiny/reproduce", SMALL)
    examples = Examples(cfg, torch.device("cpu"), n=2)
    first = next(iter(single_hop.test_loader(cfg)))["image"]
    assert torch.equal(examples.originals, first[:2])

    def noisy(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return x + torch.randn(x.shape, generator=g)

    expected = noisy(first[:2], torch.Generator().manual_seed(cfg.eval.seed))
    assert torch.equal(examples.output(noisy), expected)
    assert torch.equal(examples.outputs(lambda x, g: [x, noisy(x, g)])[1], expected)


def test_example_snrs():
    from semjscc.experiments.multihop.examples import example_snrs

    assert example_snrs([0.0, -5.0, 5.0, 10.0]) == [-5.0, 5.0, 10.0]
    assert example_snrs([0.0, -5.0]) == [-5.0, 0.0]
    assert example_snrs([-5.0, 0.0, 5.0], [5.0, 15.0]) == [5.0]
    assert example_snrs([-5.0, 0.0], [15.0]) == [-5.0, 0.0]  # none evaluated: the default


# ------------------------------------------------------- the reproductions' grids (micro)

MICRO = ["data.image_size=16", "data.num_images={train: 32, val: 16, test: 16, db: 16}",
         "train.epochs=1", "train.batch_size=16", "train.eval_batch_size=16",
         "train.device=cpu", "task.epochs=1", "task.batch_size=16", "digital.codecs=[webp]",
         "digital.mcs=[9]"]
EO = ["eo.channels=[{name: awgn}]", "eo.ratios=[1/6]", "eo.snr_db=[0, 10]",
      "eo.protocols=[mismatched]", "eo.fit_metrics=[accuracy_mismatched, psnr]",
      "eo.separation=[webp]"]
IMPORTANCE = ["task.width=4",
              "importance.independent=[task.model=convnet-tiny, task.width=4, seed=1]",
              "importance.methods=[{mse: 1.0}]", "importance.ratios=[1/6]",
              "importance.test_snr_db=[0, 10]", "sweep.base_set=[train.epochs=1]"]


def _reproduce(preset: str, out: Path, sets: list[str]) -> Path:
    assert main(["reproduce", "--preset", preset, "--out", str(out),
                 *[a for o in MICRO + sets for a in ("--set", o)]]) == 0
    return out


def _eo_grid(out: Path, cfg: Config, examples: Examples) -> Grid:
    return channel_grid(eo_plan(cfg, out), cfg.eo.channels[0], examples)


def _importance_grid(out: Path, cfg: Config, examples: Examples) -> Grid:
    return ratio_grid(importance_plan(cfg, out), read_results(out / "results.csv"), "1/6",
                      examples)


@pytest.mark.parametrize("preset, sets, name, grid_of, djscc", [
    ("eo-tiny", EO, "examples_awgn.png", _eo_grid, "R = 1/6: djscc"),
    ("importance-tiny", IMPORTANCE, "examples_cr1_6.png", _importance_grid, "mse"),
], ids=["eo", "importance"])
def test_reproduction_writes_and_links_its_example_grid(tmp_path, preset, sets, name, grid_of,
                                                        djscc):
    out = _reproduce(preset, tmp_path / "out", sets)
    assert f"* [{name}]({name})" in (out / "report.md").read_text()
    cfg = load_config(str(out / "reproduce.yaml"))
    examples = Examples(cfg, torch.device("cpu"))
    cells = grid_of(out, cfg, examples).cells
    prefix = djscc.removesuffix("djscc").removesuffix("mse")
    labels = [djscc, f"{prefix}separation-webp", f"{prefix}digital-webp-mcs9"]
    assert list(cells) == labels
    # the PNG: originals and those rows, two SNRs of 3 images each
    assert _sized(out / name, 3, 4, 2, 0.8, True, ["original", *labels])
    assert all(list(c) == ["0 dB", "10 dB"] and all(t.shape == (3, 3, 16, 16)
                                                    for t in c.values()) for c in cells.values())
    # 16 px images over 32 symbols: no WebP file fits the MCS 9 TB, every image is lost, as
    # the evaluation counted; the grid shows them as the mid-gray tiles
    rows = read_results(out / "results.csv")
    assert all(r["n_lost"] == 16 for r in rows if r["method"] == "digital-webp-mcs9")
    assert all(torch.all(t == 0.5) for t in cells[f"{prefix}digital-webp-mcs9"].values())
    # the DJSCC cell is the evaluated checkpoint's output under the evaluation's seed (with
    # several training seeds, importance-tiny's default: the first seed's model)
    trained = sorted(p for p in out.glob("djscc/**/best.pt") if "base" not in p.parts)
    model, run_cfg = load(trained[0], kind="deepjscc")  # (not the shared MSE base)
    system = df_system(model, build_channel(run_cfg.link.channel), [10.0])
    assert torch.equal(cells[djscc]["10 dB"], examples.output(system))
    assert not lost_images(cells[djscc]["10 dB"]).any()
