"""Image decoding: every Pillow mode becomes 8-bit RGB on purpose (16- and 32-bit grey
scaled, palettes expanded, CMYK converted, transparency composited onto white), the EXIF
orientation is applied, and images above the pixel limit are refused before decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semjscc.data.images import MAX_PIXELS, load_image

ORIENTATION = 0x0112  # the EXIF tag


def pixels(path: Path) -> np.ndarray:
    """``load_image`` at native resolution as (H, W, 3) uint8 (exact: values are k / 255)."""
    image = load_image(path)
    assert image.dtype.is_floating_point and image.shape[0] == 3
    return (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def saved(img: Image.Image, path: Path, **params: object) -> Path:
    img.save(path, **params)
    return path


def grey(values: list[int]) -> np.ndarray:
    """One row of grey pixels replicated to RGB."""
    return np.repeat(np.array([values], np.uint8)[..., None], 3, axis=2)


def test_8_bit_grey_and_1_bit_are_replicated_to_rgb(tmp_path: Path) -> None:
    img = Image.fromarray(np.array([[0, 100, 255]], np.uint8), mode="L")
    assert np.array_equal(pixels(saved(img, tmp_path / "l.png")), grey([0, 100, 255]))
    bits = Image.fromarray(np.array([[False, True]]))
    assert bits.mode == "1"
    assert np.array_equal(pixels(saved(bits, tmp_path / "1.png")), grey([0, 255]))


def test_16_bit_grey_is_divided_by_257(tmp_path: Path) -> None:
    values = np.array([[0, 128, 129, 257, 32896, 65535]], np.uint16)
    path = saved(Image.fromarray(values), tmp_path / "g16.png")
    assert Image.open(path).mode in ("I;16", "I")  # Pillow's mode for 16-bit PNGs
    assert np.array_equal(pixels(path), grey([0, 0, 1, 1, 128, 255]))


def test_32_bit_integer_grey_is_scaled_from_16_bits_and_clipped(tmp_path: Path) -> None:
    values = np.array([[-5, 0, 257, 65535, 1_000_000]], np.int32)
    path = saved(Image.fromarray(values), tmp_path / "i32.tif")
    assert Image.open(path).mode == "I"
    assert np.array_equal(pixels(path), grey([0, 0, 1, 255, 255]))


def test_32_bit_float_grey_is_read_as_0_to_1_and_clipped(tmp_path: Path) -> None:
    values = np.array([[-1.0, 0.0, 0.25, 0.5, 1.0, 3.0]], np.float32)
    path = saved(Image.fromarray(values), tmp_path / "f32.tif")
    assert Image.open(path).mode == "F"
    # 0.25 * 255 = 63.75 -> 64, 0.5 * 255 = 127.5 -> 128
    assert np.array_equal(pixels(path), grey([0, 0, 64, 128, 255, 255]))


def test_palette_indices_become_their_colours(tmp_path: Path) -> None:
    img = Image.fromarray(np.array([[0, 1, 2, 1]], np.uint8), mode="P")
    img.putpalette([255, 0, 0, 0, 255, 0, 10, 20, 30])
    expected = np.array([[[255, 0, 0], [0, 255, 0], [10, 20, 30], [0, 255, 0]]], np.uint8)
    assert np.array_equal(pixels(saved(img, tmp_path / "p.png")), expected)


def test_palette_transparency_is_white(tmp_path: Path) -> None:
    img = Image.fromarray(np.array([[0, 1]], np.uint8), mode="P")
    img.putpalette([0, 0, 0, 0, 0, 255])
    path = saved(img, tmp_path / "pt.png", transparency=0)
    assert "transparency" in Image.open(path).info
    assert np.array_equal(pixels(path), np.array([[[255, 255, 255], [0, 0, 255]]], np.uint8))


def test_cmyk_primaries_become_rgb(tmp_path: Path) -> None:
    cmyk = np.array([[[0, 0, 0, 0], [255, 0, 0, 0], [0, 255, 0, 0], [0, 0, 255, 0],
                      [0, 0, 0, 255]]], np.uint8)
    path = saved(Image.fromarray(cmyk, mode="CMYK"), tmp_path / "cmyk.tif")
    assert Image.open(path).mode == "CMYK"
    expected = np.array([[[255, 255, 255], [0, 255, 255], [255, 0, 255], [255, 255, 0],
                          [0, 0, 0]]], np.uint8)
    assert np.array_equal(pixels(path), expected)


def test_rgba_is_composited_onto_white(tmp_path: Path) -> None:
    rgba = np.array([[[255, 0, 0, 255], [255, 0, 0, 0], [0, 0, 0, 0], [0, 0, 255, 128]]],
                    np.uint8)
    out = pixels(saved(Image.fromarray(rgba, mode="RGBA"), tmp_path / "rgba.png"))
    assert np.array_equal(out[0, :3], [[255, 0, 0], [255, 255, 255], [255, 255, 255]])
    # half-transparent blue over white: 255 * (1 - 128 / 255) = 127 in red and green
    assert np.abs(out[0, 3].astype(int) - [127, 127, 255]).max() <= 1


def test_grey_with_alpha_is_composited_onto_white(tmp_path: Path) -> None:
    la = np.array([[[0, 255], [0, 0], [100, 255]]], np.uint8)
    out = pixels(saved(Image.fromarray(la, mode="LA"), tmp_path / "la.png"))
    assert np.array_equal(out, grey([0, 255, 100]))


@pytest.mark.parametrize("orientation, turn", [(1, 0), (3, 2), (6, -1), (8, 1)])
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int, turn: int) -> None:
    """Orientation 6 means "rotate 90 degrees clockwise to display" (np.rot90 k = -1), 8
    anticlockwise, 3 half a turn; 1 is upright."""
    stored = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10  # 2 rows, 3 columns
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    path = saved(Image.fromarray(stored), tmp_path / "o.png", exif=exif)
    assert Image.open(path).getexif()[ORIENTATION] == orientation
    out = pixels(path)
    assert np.array_equal(out, np.rot90(stored, k=turn))
    if orientation == 6:  # the stored top-left pixel ends up top-right
        assert out.shape == (3, 2, 3) and np.array_equal(out[0, -1], stored[0, 0])


def test_resize_after_orientation(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    path = saved(Image.new("RGB", (40, 20), (200, 100, 50)), tmp_path / "r.png", exif=exif)
    image = load_image(path, size=8)
    assert tuple(image.shape) == (3, 8, 8)
    assert np.allclose(image[:, 4, 4].numpy() * 255, [200, 100, 50], atol=0.5)


def test_images_above_the_pixel_limit_are_refused(tmp_path: Path) -> None:
    path = saved(Image.new("RGB", (10, 10)), tmp_path / "big.png")
    assert load_image(path, max_pixels=100).shape == (3, 10, 10)
    with pytest.raises(ValueError, match=r"10x10 .* above the limit"):
        load_image(path, max_pixels=99)
    assert MAX_PIXELS == 50_000_000
