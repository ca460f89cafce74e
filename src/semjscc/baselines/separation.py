"""Separate source-channel coding baseline: a standard image codec at channel capacity.

Conventions (the reference the DeepJSCC papers leave out):

* **Bit budget.** Every hop carries the image source-coded at the rate of an ideal
  capacity-achieving channel code over the same channel uses as the DeepJSCC link:
  ``budget_bits = floor(k · log2(1 + SNR_lin))`` bits per image, with ``k`` the number of
  complex channel symbols per image of the DeepJSCC link (k = M·H·W/32 for the project's
  model; the caller passes it) and ``SNR_lin = 10^(snr_db/10)``. See :func:`capacity_bits`.
* **Error-free relaying.** The bits are decoded exactly at every relay (decode-and-forward
  of a capacity-achieving code), so the destination receives the codec's decoded image
  whatever the number of relays: the quality is flat in the number of relays and one
  evaluation serves every relay count.
* **Whole files.** The full encoded file counts against the budget, headers and container
  included (WebP RIFF file, AVIF/HEIF file, raw JPEG 2000 codestream ``.j2k``, which is a
  complete decodable file and avoids the ~85-byte JP2 box wrapper). This is the honest,
  conservative choice: at the tiny sizes of small images the headers are a real cost.
  An image is never reported as coded above the budget: every returned setting was encoded
  and its size checked.
* **Input.** Images in [0, 1] are clamped and rounded to uint8 (``round(255·x)``) before
  coding; the codecs see 8-bit RGB. Outputs are the decoded uint8 images divided by 255.
* **Unreachable budgets.** When even the lowest-quality file of an image is larger than the
  budget, the image "cannot reach the bit budget": :func:`encode_to_budget` returns None
  and :class:`SeparationSystem` counts it (``n_unreachable``) and outputs a mid-gray image
  (0.5 everywhere, what a receiver holding no bits can show), or NaN / raises on request.
  Callers must report such settings as unreachable (see :meth:`SeparationSystem.row_fields`
  and :func:`unreachable_note`), never hide them.

Codec search (quality grows with the parameter; the highest verified fitting one is kept):
WebP (``method=6``, slowest/best compression) and AVIF (``speed=6``, one thread, for
determinism) over integer quality 0..100; JPEG 2000 (OpenJPEG, irreversible 9/7 wavelet,
``quality_mode="rates"``) over a target size in bytes, i.e. compression ratio
``3·H·W / target``, first at the budget itself, then stepped below it by the overshoot.
The search keeps the invariant "lo fits, hi does not" (see :func:`_search`), so a
non-monotone size curve can cost optimality, never the budget.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image, features
from torch import Tensor

from ..channels import AWGN, Channel
from ..device import usable_cpus
from ..errors import ConfigError, SemjsccError

SEPARATION_CODECS: tuple[str, ...] = ("jpeg2000", "webp", "avif")
METHOD_PREFIX = "separation-"
SEPARATION_METHODS: tuple[str, ...] = tuple(METHOD_PREFIX + c for c in SEPARATION_CODECS)

OnUnreachable = Literal["gray", "nan", "raise"]


class CodecUnavailableError(SemjsccError, RuntimeError):
    """The installed Pillow cannot encode with a separation codec."""


class BudgetUnreachableError(SemjsccError, RuntimeError):
    """An image's smallest file exceeds the bit budget (``on_unreachable="raise"``)."""


# --------------------------------------------------------------------------- capacity


def capacity_bits(k: int, snr_db: float) -> int:
    """Bits per image an ideal code carries over ``k`` complex AWGN uses at ``snr_db``:
    ``floor(k · log2(1 + 10^(snr_db/10)))``."""
    if int(k) != k or k <= 0:
        raise ConfigError(f"k must be a positive number of complex channel symbols, got {k}; "
                          "pass k = M·H·W/32 of the DeepJSCC link")
    if not math.isfinite(snr_db):
        raise ConfigError(f"snr_db must be a finite number of dB, got {snr_db}")
    return int(math.floor(int(k) * math.log2(1.0 + 10.0 ** (snr_db / 10.0))))


# ------------------------------------------------------------------------------ codecs


def _save(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


def _webp(image: Image.Image, quality: int) -> bytes:
    return _save(image, "WEBP", quality=int(quality), method=6)


def _avif(image: Image.Image, quality: int) -> bytes:
    return _save(image, "AVIF", quality=int(quality), speed=6, max_threads=1)


def _j2k_resolutions(image: Image.Image) -> int:
    """Wavelet levels + 1: fewer for small images, whose per-level headers cost more
    than the extra decomposition saves (32 px -> 3, 64 px -> 4, >= 256 px -> 6)."""
    return int(min(6, max(1, math.floor(math.log2(min(image.size))) - 2)))


def _jpeg2000(image: Image.Image, target_bytes: int) -> bytes:
    raw = 3 * image.size[0] * image.size[1]
    ratio = max(1.0, raw / max(1, int(target_bytes)))
    return _save(image, "JPEG2000", no_jp2=True, irreversible=True, quality_mode="rates",
                 quality_layers=[ratio], num_resolutions=_j2k_resolutions(image))


@dataclass(frozen=True)
class CodecSpec:
    """One codec: ``encode(image, p) -> file`` with size growing in the integer ``p``,
    searched over ``[lowest, highest(image, budget_bytes)]``."""

    name: str
    feature: str  # PIL.features name
    encode: Callable[[Image.Image, int], bytes]
    lowest: int
    highest: Callable[[Image.Image, int], int]
    parameter: str
    install_hint: str
    use_overshoot_guess: bool = False


CODECS: dict[str, CodecSpec] = {
    "jpeg2000": CodecSpec(
        "jpeg2000", "jpg_2000", _jpeg2000, 1,
        lambda im, budget: max(1, min(budget, 3 * im.size[0] * im.size[1])),
        "target bytes (compression ratio 3·H·W/target)",
        "install a Pillow build with OpenJPEG (the PyPI wheels include it)",
        use_overshoot_guess=True),
    "webp": CodecSpec(
        "webp", "webp", _webp, 0, lambda im, budget: 100, "quality 0..100 (method=6)",
        "install a Pillow build with libwebp (the PyPI wheels include it)"),
    "avif": CodecSpec(
        "avif", "avif", _avif, 0, lambda im, budget: 100, "quality 0..100 (speed=6)",
        "install Pillow >= 11.3 from a PyPI wheel (bundles libavif) or build it against "
        "libavif"),
}


def codec_from_method(method: str) -> str:
    """``"separation-webp"`` or ``"webp"`` -> ``"webp"``; unknown names raise ConfigError."""
    name = method[len(METHOD_PREFIX):] if method.startswith(METHOD_PREFIX) else method
    if name not in CODECS:
        raise ConfigError(f"unknown separation codec {method!r}; choose one of "
                          + ", ".join(SEPARATION_METHODS))
    return name


def available_codecs() -> tuple[str, ...]:
    """The separation codecs the installed Pillow can encode, in SEPARATION_CODECS order."""
    return tuple(c for c in SEPARATION_CODECS if features.check(CODECS[c].feature))


def require_codec(codec: str) -> CodecSpec:
    """The spec of ``codec`` (or ``separation-<codec>``); clear errors if unknown or missing."""
    spec = CODECS[codec_from_method(codec)]
    if not features.check(spec.feature):
        raise CodecUnavailableError(f"Pillow {Image.__version__} has no {spec.name} encoder "
                                    f"(PIL.features '{spec.feature}'); {spec.install_hint}")
    return spec


# ------------------------------------------------------------------------------ search


@dataclass(frozen=True)
class Coded:
    """A verified encoding: the file, the codec parameter it used, and its size."""

    data: bytes
    parameter: int

    @property
    def bits(self) -> int:
        return 8 * len(self.data)


def _to_pil(image: np.ndarray) -> Image.Image:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) RGB image, got {image.dtype} "
                         f"{tuple(image.shape)}")
    return Image.fromarray(np.ascontiguousarray(image), "RGB")


class EncodedFiles:
    """The files already encoded in this process, by (codec, image, parameter): a sweep
    searches the same images at several budgets (SNRs), and its searches share their first
    steps. Emptied when it would pass ``max_bytes``. Thread-safe."""

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        self.max_bytes = max_bytes
        self._files: dict[tuple[str, bytes, int], bytes] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def encode(self, spec: CodecSpec, image: Image.Image, digest: bytes, p: int) -> bytes:
        """``spec.encode(image, p)``, from memory when this (codec, image, p) was seen."""
        key = (spec.name, digest, p)
        with self._lock:
            data = self._files.get(key)
        if data is None:
            data = spec.encode(image, p)
            with self._lock:
                if self._bytes + len(data) > self.max_bytes:
                    self._files.clear()
                    self._bytes = 0
                self._files[key] = data
                self._bytes += len(data)
        return data


ENCODED = EncodedFiles()


def _search(image: Image.Image, spec: CodecSpec, budget_bits: int) -> Coded | int:
    """The highest verified parameter whose whole file fits ``budget_bits``, else the size
    in bits of the lowest-parameter (smallest) file.

    Keeps a bracket "lo fits (encoded and checked), hi does not" and narrows it to adjacent
    parameters with interpolation in log file size, falling back to bisection whenever an
    interpolation step fails to halve the bracket. A non-monotone size curve can cost
    optimality, never the budget. Deterministic: depends on the image and budget only (the
    files come from :data:`ENCODED` when another search encoded them already).
    """
    budget = max(0, budget_bits) // 8  # whole bytes
    files: dict[int, bytes] = {}
    digest = hashlib.blake2b(image.tobytes(), digest_size=16,
                             person=f"{image.size}".encode()[:16]).digest()

    def size(p: int) -> int:
        if p not in files:
            files[p] = ENCODED.encode(spec, image, digest, p)
        return len(files[p])

    lowest = spec.lowest
    top = max(lowest, spec.highest(image, budget))
    if spec.use_overshoot_guess:
        # Rate-targeting codec: the target is usually met at once, so try it first, then
        # step below it by the overshoot (doubling a safety margin) until one fits.
        if size(top) <= budget:
            return Coded(files[top], top)
        hi, lo, margin = top, None, 1
        while lo is None:
            guess = hi - (size(hi) - budget) - margin
            if guess <= lowest:
                break
            if size(guess) <= budget:
                lo = guess
            else:
                hi, margin = guess, 2 * margin
        if lo is None:
            if size(lowest) > budget:
                return 8 * size(lowest)
            lo = lowest
    else:
        # Quality-parameter codec: the top settings are the slowest to encode, so start
        # from the smallest file and a virtual "does not fit" just above the range.
        if size(lowest) > budget:
            return 8 * size(lowest)
        lo, hi = lowest, top + 1
    bisect = False
    while hi - lo > 1:
        width = hi - lo
        if not bisect and hi in files and len(files[hi]) > len(files[lo]) > 0:
            s_lo, s_hi = len(files[lo]), len(files[hi])
            frac = (math.log(max(budget, 1)) - math.log(s_lo)) / (math.log(s_hi) - math.log(s_lo))
            mid = min(max(lo + int(frac * width), lo + 1), hi - 1)
        else:
            mid = (lo + hi) // 2
        if size(mid) <= budget:
            lo = mid
        else:
            hi = mid
        bisect = not bisect and 2 * (hi - lo) > width  # a poor interpolation: bisect next
    return Coded(files[lo], lo)


def decode_file(data: bytes) -> np.ndarray:
    """A coded file -> uint8 (H, W, 3) RGB array."""
    with Image.open(io.BytesIO(data)) as im:
        return np.array(im.convert("RGB"), dtype=np.uint8)


def smallest_file_bits(image_uint8_hwc: np.ndarray, codec: str) -> int:
    """Size in bits of ``codec``'s smallest (lowest-quality) file of an image: budgets below
    it cannot be reached."""
    spec = require_codec(codec)
    return 8 * len(spec.encode(_to_pil(image_uint8_hwc), spec.lowest))


def code_to_budget(image_uint8_hwc: np.ndarray, codec: str, budget_bits: int) -> Coded | int:
    """Like :func:`encode_to_budget` but returns the verified :class:`Coded` file, or the
    smallest file size in bits (an int) when the budget cannot be reached."""
    return _search(_to_pil(image_uint8_hwc), require_codec(codec), int(budget_bits))


def encode_to_budget(image_uint8_hwc: np.ndarray, codec: str,
                     budget_bits: int) -> tuple[Tensor, int] | None:
    """Code a uint8 (H, W, 3) image with ``codec`` at the highest quality whose whole file
    is at most ``budget_bits``; return (decoded float32 (3, H, W) in [0, 1], used bits), or
    None when even the smallest file exceeds the budget (cannot reach the bit budget)."""
    coded = code_to_budget(image_uint8_hwc, codec, budget_bits)
    if isinstance(coded, int):
        return None
    decoded = torch.from_numpy(decode_file(coded.data)).permute(2, 0, 1).float() / 255.0
    return decoded, coded.bits


def unreachable_note(codec: str, budget_bits: int, min_file_bits: int | None) -> str:
    """Row note for a setting whose budget no image can reach."""
    smallest = "" if min_file_bits is None else f" ({min_file_bits} bits)"
    return (f"budget of {budget_bits} bits below the smallest {codec_from_method(codec)} "
            f"file{smallest}")


# ------------------------------------------------------------------------------ system


class SeparationSystem:
    """``system(x, generator) -> x_hat`` for :func:`semjscc.evaluation.evaluate.evaluate_system`.

    Each image of the batch (B, 3, H, W) in [0, 1] is rounded to uint8, coded alone on
    the CPU with Pillow at the highest quality fitting ``budget_bits =
    capacity_bits(k, snr_db)`` and decoded; x_hat is that decoded image (identical for any
    number of relays). Over AWGN the generator is unused and the baseline deterministic;
    over a fading ``channel`` each image gets one gain per hop (``hops``) drawn from the
    generator and is coded at the instantaneous capacity of its weakest hop,
    ``floor(k · log2(1 + min|h|² · SNR))`` (a genie-aided bound: the transmitter knows h).

    Records, cumulated over calls until :meth:`reset`: ``used_bits`` (per coded image),
    ``n_images``, ``n_unreachable``, ``min_file_bits`` (smallest of the smallest files of
    the unreachable images), ``encode_seconds``. The images of a batch are searched by
    ``workers`` threads (default: one per CPU this process may use), with the same results
    as one. An unreachable image becomes mid-gray (``on_unreachable="gray"``, the default: a
    receiver with no bits), NaN (``"nan"``) or raises :class:`BudgetUnreachableError`
    (``"raise"``); it is never coded above budget.
    """

    def __init__(self, codec: str, snr_db: float, k: int,
                 on_unreachable: OnUnreachable = "gray", channel: Channel | None = None,
                 hops: int = 1, workers: int | None = None) -> None:
        self.spec = require_codec(codec)
        self.hops = hops
        self.workers = workers or usable_cpus()
        self.channel = channel if channel is not None else AWGN()
        self.fading = not isinstance(self.channel, AWGN)
        if on_unreachable not in ("gray", "nan", "raise"):
            raise ConfigError(f"on_unreachable must be gray, nan or raise, got {on_unreachable!r}")
        self.codec, self.snr_db, self.k = self.spec.name, float(snr_db), int(k)
        self.budget_bits = capacity_bits(k, snr_db)
        self.on_unreachable = on_unreachable
        self.reset()

    @property
    def method(self) -> str:
        return METHOD_PREFIX + self.codec

    def reset(self) -> None:
        """Clear the recorded statistics."""
        self.used_bits: list[int] = []
        self.budgets: list[int] = []
        self.parameters: list[int] = []
        self.n_images = 0
        self.n_unreachable = 0
        self.min_file_bits: int | None = None
        self.pixels: int | None = None
        self.encode_seconds = 0.0

    @property
    def n_coded(self) -> int:
        return len(self.used_bits)

    @property
    def mean_bits(self) -> float | None:
        """Mean file size in bits over the coded (reachable) images; None if none."""
        return float(np.mean(self.used_bits)) if self.used_bits else None

    @property
    def all_unreachable(self) -> bool:
        """True when images were seen and none could reach the budget: metrics are void."""
        return self.n_images > 0 and self.n_coded == 0

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected a (B, 3, H, W) batch, got {tuple(x.shape)}")
        images = (x.detach().float().clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)
        images_np = images.permute(0, 2, 3, 1).cpu().numpy()
        out = np.empty(images_np.shape, dtype=np.float32)
        self.pixels = int(x.shape[-2] * x.shape[-1])
        budgets = [self.budget_bits] * len(images_np)
        if self.fading:  # genie-aided: each image's instantaneous capacity
            gains = self.channel.sample_gains(len(images_np) * self.hops, generator, x.device)
            gains = (gains.abs() ** 2).view(len(images_np), self.hops).amin(1)
            snr_lin = 10.0 ** (self.snr_db / 10.0)
            budgets = [int(math.floor(self.k * math.log2(1.0 + float(g) * snr_lin)))
                       for g in gains.cpu()]
        self.budgets += budgets
        start = time.perf_counter()
        with ThreadPoolExecutor(self.workers) as pool:  # the codecs release the GIL
            searches = list(pool.map(lambda a: _search(_to_pil(a[0]), self.spec, a[1]),
                                     zip(images_np, budgets)))
        for i, (coded, budget) in enumerate(zip(searches, budgets)):
            self.n_images += 1
            if isinstance(coded, int):
                self.n_unreachable += 1
                self.min_file_bits = coded if self.min_file_bits is None else min(
                    self.min_file_bits, coded)
                if self.on_unreachable == "raise":
                    raise BudgetUnreachableError(
                        unreachable_note(self.codec, budget, coded)
                        + "; raise snr_db or k, or choose another codec")
                out[i] = 0.5 if self.on_unreachable == "gray" else np.nan
                continue
            if coded.bits > budget:  # guaranteed by _search; never report above
                raise AssertionError(f"{self.codec} file of {coded.bits} bits over budget "
                                     f"{budget}")
            self.used_bits.append(coded.bits)
            self.parameters.append(coded.parameter)
            out[i] = decode_file(coded.data).astype(np.float32) / 255.0
        self.encode_seconds += time.perf_counter() - start
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(device=x.device, dtype=x.dtype)

    def row_fields(self) -> dict[str, Any]:
        """Result-row fields of this setting (metrics come from the metric suites).

        ``used_bits``/``bpp``: mean whole-file bits over coded images (per image / per
        pixel; ``bits`` stays None, it is the QF quantiser's bits per block elsewhere);
        ``budget_bits``/``budget_bpp``: the capacity budget; ``n_unreachable`` of
        ``n_images`` could not reach it. ``note`` is set when any image was unreachable;
        when all were (``all_unreachable``), write the row with empty metrics.
        """
        pixels = self.pixels
        mean = self.mean_bits
        note = None
        if self.all_unreachable:
            note = unreachable_note(self.codec, self.budget_bits, self.min_file_bits)
        elif self.n_unreachable:
            note = (f"{self.n_unreachable} of {self.n_images} images cannot reach the budget "
                    f"of {self.budget_bits} bits (smallest {self.codec} file "
                    f"{self.min_file_bits} bits); their output is "
                    f"{'mid-gray' if self.on_unreachable == 'gray' else 'NaN'}")
        return {
            "method": self.method, "protocol": "separation", "snr_db": self.snr_db,
            "n_q": None, "bits": None, "used_bits": mean,
            "bpp": None if mean is None or not pixels else mean / pixels,
            "budget_bits": self.budget_bits,
            "budget_bpp": None if not pixels else self.budget_bits / pixels,
            "k": self.k, "n_unreachable": self.n_unreachable, "n_coded": self.n_coded,
            "note": note if not self.fading else "; ".join(filter(None, [
                note, f"genie-aided bound over {self.channel.label}: each image coded at the "
                f"instantaneous capacity k·log2(1 + |h|²·SNR) of its weakest hop, mean "
                f"{np.mean(self.budgets):.0f} bits" if self.budgets else None])),
            **self.channel.describe(),
        }


def separation_system(codec: str, snr_db: float, k: int, on_unreachable: OnUnreachable = "gray",
                      channel: Channel | None = None, hops: int = 1,
                      workers: int | None = None) -> SeparationSystem:
    """A callable separation system (see :class:`SeparationSystem`) at
    ``capacity_bits(k, snr_db)`` bits per image, ``k`` complex channel uses per image (over a
    fading ``channel``: the instantaneous capacity of each image's weakest of ``hops`` hops,
    a genie-aided bound), searching with ``workers`` threads (default: one per CPU)."""
    return SeparationSystem(codec, snr_db, k, on_unreachable, channel, hops, workers)
