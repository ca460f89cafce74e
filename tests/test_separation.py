"""Separation baseline: capacity budget, codec search under the budget, system object."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from semjscc.baselines import (
    SEPARATION_CODECS,
    CodecUnavailableError,
    available_codecs,
    capacity_bits,
    code_to_budget,
    encode_to_budget,
    separation_system,
    smallest_file_bits,
    unreachable_note,
)
from semjscc.baselines import separation as sep
from semjscc.errors import ConfigError, SemjsccError
from semjscc.evaluation.evaluate import evaluate_system

CODECS = [pytest.param(c, marks=pytest.mark.skipif(c not in available_codecs(),
                                                   reason=f"Pillow lacks {c}"))
          for c in SEPARATION_CODECS]


def synthetic(n: int = 64, seed: int = 0) -> np.ndarray:
    """Smooth gradients, a disc, a square and faint noise: uint8 (n, n, 3)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n] / n
    img = np.stack([x, y, 0.5 + 0.5 * np.sin(6 * np.pi * x * y + seed)], -1)
    img[(x - 0.5) ** 2 + (y - 0.4) ** 2 < 0.05] = [0.9, 0.1, 0.2]
    img[(np.abs(x - 0.2) < 0.1) & (np.abs(y - 0.75) < 0.12)] = [0.1, 0.8, 0.3]
    img = img + rng.normal(0.0, 0.01, img.shape)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def psnr(decoded: torch.Tensor, image: np.ndarray) -> float:
    ref = torch.from_numpy(image).permute(2, 0, 1).float() / 255
    return float(-10 * torch.log10(((decoded - ref) ** 2).mean()))


def batch(n: int = 64, b: int = 3) -> torch.Tensor:
    return torch.stack([torch.from_numpy(synthetic(n, s)).permute(2, 0, 1).float() / 255
                        for s in range(b)])


def test_capacity_bits():
    assert capacity_bits(65536, 0.0) == 65536
    assert capacity_bits(65536, -5.0) == math.floor(65536 * math.log2(1 + 10 ** -0.5))
    assert capacity_bits(1024, 10.0) == math.floor(1024 * math.log2(11.0))
    values = [capacity_bits(4096, s) for s in np.arange(-20.0, 20.5, 0.5)]
    assert all(a <= b for a, b in zip(values, values[1:])) and values[0] < values[-1]
    with pytest.raises(ConfigError):
        capacity_bits(0, 0.0)


@pytest.mark.parametrize("codec", CODECS)
def test_codec_fits_budget_and_quality_grows(codec):
    image = synthetic()
    smallest = smallest_file_bits(image, codec)
    generous = 64 * 64 * 3 * 8 // 4  # 6 bpp
    out = encode_to_budget(image, codec, generous)
    assert out is not None
    decoded, bits = out
    assert decoded.shape == (3, 64, 64) and decoded.dtype == torch.float32
    assert 0.0 <= float(decoded.min()) and float(decoded.max()) <= 1.0
    assert bits <= generous and psnr(decoded, image) > 25.0

    budgets = np.unique(np.geomspace(smallest, generous, 9).astype(int))
    scores = []
    for budget in budgets:
        coded = code_to_budget(image, codec, int(budget))
        assert not isinstance(coded, int), f"{codec}: budget {budget} >= smallest file"
        assert coded.bits <= budget and coded.bits % 8 == 0
        decoded, bits = encode_to_budget(image, codec, int(budget))
        assert bits == coded.bits
        scores.append(psnr(decoded, image))
    # WebP/AVIF: quality q+1 can score a hair below q (seen <= 0.3 dB on 16 px images)
    assert all(b >= a - 0.2 for a, b in zip(scores, scores[1:])), (codec, scores)
    assert scores[-1] > scores[0] + 3.0

    assert encode_to_budget(image, codec, smallest - 1) is None
    assert code_to_budget(image, codec, smallest - 1) == smallest
    note = unreachable_note(codec, smallest - 1, smallest)
    assert note == (f"budget of {smallest - 1} bits below the smallest {codec} file "
                    f"({smallest} bits)")


@pytest.mark.parametrize("codec", CODECS)
def test_system_on_batch(codec):
    x = batch()
    system = separation_system(codec, snr_db=5.0, k=64 * 64 * 32 // 32)  # M = 32
    assert system.budget_bits == capacity_bits(4096, 5.0)
    g = torch.Generator().manual_seed(0)
    x_hat = system(x, g)
    assert x_hat.shape == x.shape and x_hat.dtype == x.dtype
    assert 0.0 <= float(x_hat.min()) and float(x_hat.max()) <= 1.0
    assert system.n_images == 3 and system.n_unreachable == 0 and system.n_coded == 3
    assert all(0 < b <= system.budget_bits for b in system.used_bits)
    again = system(x, torch.Generator().manual_seed(123))  # generator ignored
    assert torch.equal(x_hat, again)
    assert torch.equal(x_hat, separation_system(codec, 5.0, 4096)(x, None))
    assert system.n_images == 6
    row = system.row_fields()
    assert row["method"] == f"separation-{codec}" and row["protocol"] == "separation"
    assert row["budget_bits"] == system.budget_bits and row["n_unreachable"] == 0
    assert row["bpp"] == pytest.approx(system.mean_bits / (64 * 64))
    assert row["used_bits"] <= system.budget_bits and row["note"] is None
    system.reset()
    assert system.n_images == 0 and system.mean_bits is None


@pytest.mark.parametrize("codec", CODECS)
def test_threads_and_remembered_files_change_nothing(codec, monkeypatch):
    x = batch()
    monkeypatch.setattr(sep, "ENCODED", sep.EncodedFiles())
    one = separation_system(codec, 5.0, 4096, workers=1)
    want = one(x)
    files = dict(sep.ENCODED._files)
    assert files and {key[0] for key in files} == {codec}
    monkeypatch.setattr(sep, "ENCODED", sep.EncodedFiles())  # nothing remembered
    threaded = separation_system(codec, 5.0, 4096, workers=3)
    assert torch.equal(threaded(x), want) and threaded.used_bits == one.used_bits
    assert sep.ENCODED._files == files  # the same searches, in any thread order

    encode = sep.CODECS[codec].encode
    calls = []
    monkeypatch.setitem(sep.CODECS, codec, replace(
        sep.CODECS[codec], encode=lambda im, p: calls.append(p) or encode(im, p)))
    again = separation_system(codec, 5.0, 4096)
    assert torch.equal(again(x), want) and calls == []  # every file from memory
    separation_system(codec, 8.0, 4096)(x)  # another budget: only the new settings
    assert 0 < len(calls) < len(sep.ENCODED._files)

    small = sep.EncodedFiles(max_bytes=1)
    image = sep._to_pil(synthetic(16))
    spec = sep.CODECS[codec]
    assert small.encode(spec, image, b"d", 50) == encode(image, 50)
    assert len(small._files) == 1  # emptied before each file past the cap, keeps the last


class _PSNRSuite:
    def __init__(self) -> None:
        self.values: list[torch.Tensor] = []

    def update(self, x, x_hat, labels) -> None:
        self.values.append(-10 * torch.log10(((x - x_hat) ** 2).flatten(1).mean(1)))

    def compute(self) -> dict[str, float]:
        return {"psnr": float(torch.cat(self.values).mean())}

    def per_image(self) -> dict[str, torch.Tensor]:
        return {"psnr": torch.cat(self.values)}


def test_evaluate_system_integration():
    codec = available_codecs()[0]
    loader = [{"image": batch(32, 2), "label": torch.zeros(2, 3)} for _ in range(2)]
    system = separation_system(codec, snr_db=10.0, k=32 * 32)
    out = evaluate_system(system, loader, [_PSNRSuite()], torch.device("cpu"), seed=0)
    assert out["n_images"] == 4 and system.n_images == 4
    assert out["psnr"] > 15.0


@pytest.mark.parametrize("codec", CODECS)
def test_unreachable_budget(codec):
    x = batch(32, 2)
    system = separation_system(codec, snr_db=0.0, k=100)  # 100 bits: below any file
    x_hat = system(x, None)
    assert system.all_unreachable and system.n_unreachable == 2 and system.used_bits == []
    assert torch.all(x_hat == 0.5)  # mid-gray: nothing received
    smallest = min(smallest_file_bits(sep_image(x, i), codec) for i in range(2))
    assert system.min_file_bits == smallest
    row = system.row_fields()
    assert row["bpp"] is None and row["used_bits"] is None and row["n_unreachable"] == 2
    assert row["note"] == unreachable_note(codec, 100, smallest)
    assert "below the smallest" in row["note"]

    assert torch.isnan(separation_system(codec, 0.0, 100, on_unreachable="nan")(x, None)).all()
    with pytest.raises(SemjsccError, match="below the smallest"):
        separation_system(codec, 0.0, 100, on_unreachable="raise")(x, None)


def sep_image(x: torch.Tensor, i: int) -> np.ndarray:
    return (x[i].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def test_partially_unreachable_is_reported():
    codec = available_codecs()[0]
    x = torch.cat([batch(32, 1), torch.full((1, 3, 32, 32), 0.5)])  # textured + flat
    sizes = [smallest_file_bits(sep_image(x, i), codec) for i in range(2)]
    assert sizes[1] < sizes[0]
    budget = sizes[1]
    system = sep.SeparationSystem(codec, 0.0, budget)  # 0 dB: budget = k bits
    assert system.budget_bits == budget
    system(x, None)
    assert system.n_unreachable == 1 and system.n_coded == 1
    assert system.used_bits[0] <= budget and system.min_file_bits == sizes[0]
    assert "1 of 2 images cannot reach" in system.row_fields()["note"]


def test_unknown_and_missing_codec(monkeypatch):
    with pytest.raises(ConfigError, match="unknown separation codec 'jpeg'"):
        separation_system("jpeg", 0.0, 1024)
    assert sep.codec_from_method("separation-webp") == "webp"
    real = sep.features.check
    monkeypatch.setattr(sep.features, "check", lambda name: False if name == "avif" else real(name))
    assert "avif" not in available_codecs()
    with pytest.raises(CodecUnavailableError, match="no avif encoder.*libavif"):
        separation_system("avif", 0.0, 1024)
