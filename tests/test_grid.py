import pytest
import torch
from PIL import Image

from semjscc.plots import image_grid


def _size(path):
    with Image.open(path) as im:
        return im.size


def test_image_grid_writes_png_growing_with_rows_and_columns(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 16, 16, generator=g)
    small = image_grid(x, [("a", x.flip(-1))], tmp_path / "small.png")
    assert small.is_file() and small.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    taller = image_grid(x, [("a", x), ("b", x), ("c", x)], tmp_path / "taller.png")
    x4 = torch.rand(4, 3, 16, 16, generator=g)
    wider = image_grid(x4, [("a", x4)], tmp_path / "wider.png", title="t")
    w, h = _size(small)
    assert _size(taller)[1] > h and _size(taller)[0] == w
    assert _size(wider)[0] > w


def test_image_grid_rejects_mismatched_rows(tmp_path):
    x = torch.rand(2, 3, 8, 8)
    with pytest.raises(ValueError, match="3 images"):
        image_grid(x, [("a", torch.rand(3, 3, 8, 8))], tmp_path / "bad.png")


def test_example_snrs():
    from semjscc.experiments.multihop.examples import example_snrs

    assert example_snrs([0.0, -5.0, 5.0, 10.0]) == [-5.0, 5.0, 10.0]
    assert example_snrs([0.0, -5.0]) == [-5.0, 0.0]
    assert example_snrs([-5.0, 0.0, 5.0], [5.0, 15.0]) == [5.0]
    assert example_snrs([-5.0, 0.0], [15.0]) == [-5.0, 0.0]  # none evaluated: the default
