"""Vector quantisation of channel outputs for quantize-and-forward (QF) relaying.

Block order: each image's channel output y (M, h, w) (channels [0, M/2) Re, [M/2, M) Im) is
flattened channel-major (channel, row, column) into its 2k reals, and split into 2k/N_Q
blocks of N_Q *consecutive* reals. With N_Q = 2 a block is two horizontally adjacent
values of one latent channel's real (or imaginary) part; with N_Q = 4, four.

A codebook has 2^(N_Q·b) centres (b bits per real), fitted by K-means; each block costs
exactly N_Q·b bits, so the rate is bpp = 2k·N_Q·b / (N_Q·H·W) = 2k·b / (H·W).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save
from torch import Tensor

from ..errors import ConfigError, SemjsccError, describe
from ..files import atomic_write


class CodebookError(SemjsccError, ValueError):
    """An unusable codebook file or setting."""


def bits_per_block(n_q: int, bits: float) -> int:
    """N_Q·b, which must be a whole number of bits."""
    total = Fraction(bits).limit_denominator(1000) * n_q
    if n_q < 1 or total.denominator != 1 or total <= 0:
        raise ConfigError(
            f"N_Q={n_q}, b={bits:g} gives N_Q*b = {float(total):g} bits per block; it must be a "
            "positive whole number (e.g. 4:0.75, 2:1, 4:1.25, 2:1.5, 2:2)")
    return int(total)


def to_blocks(y: Tensor, n_q: int) -> Tensor:
    """(B, M, h, w) -> (B, 2k/N_Q, N_Q) blocks in channel-major order."""
    flat = y.flatten(1)
    if flat.shape[1] % n_q:
        raise ConfigError(f"2k = {flat.shape[1]} reals per image is not divisible by N_Q={n_q}")
    return flat.view(y.shape[0], -1, n_q)


def from_blocks(blocks: Tensor, shape: torch.Size) -> Tensor:
    """Inverse of :func:`to_blocks`."""
    return blocks.reshape(shape)


@dataclass
class Codebook:
    """K = 2^(N_Q·b) centres (K, N_Q) plus where they came from."""

    centres: Tensor
    n_q: int
    bits: float  # b, bits per real
    snr_db: float
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k = 2 ** bits_per_block(self.n_q, self.bits)
        if tuple(self.centres.shape) != (k, self.n_q):
            raise CodebookError(f"codebook needs {k} centres of dimension {self.n_q}, "
                                f"got {tuple(self.centres.shape)}")

    @property
    def bits_per_block(self) -> int:
        return bits_per_block(self.n_q, self.bits)

    @property
    def name(self) -> str:
        return f"qf_nq{self.n_q}_b{self.bits:g}"

    def quantize(self, y: Tensor, chunk: int = 1 << 20) -> Tensor:
        """(B, M, h, w) channel outputs -> (B, 2k/N_Q) int64 indices of the nearest centres."""
        blocks = to_blocks(y, self.n_q).reshape(-1, self.n_q)
        c = self.centres.to(blocks.device, blocks.dtype)
        c_sq = (c * c).sum(1)
        out = torch.empty(blocks.shape[0], dtype=torch.long, device=blocks.device)
        for start in range(0, blocks.shape[0], chunk):
            b = blocks[start:start + chunk]
            out[start:start + chunk] = (c_sq[None, :] - 2 * b @ c.T).argmin(1)
        return out.view(y.shape[0], -1)

    def dequantize(self, indices: Tensor, shape: torch.Size) -> Tensor:
        """(B, 2k/N_Q) indices -> (B, M, h, w) centres."""
        return from_blocks(self.centres.to(indices.device)[indices], shape)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"n_q": str(self.n_q), "bits": repr(self.bits), "snr_db": repr(self.snr_db),
                "meta": json.dumps(self.meta)}
        data = save({"centres": self.centres.float().contiguous()}, metadata=meta)
        atomic_write(path, lambda fh: fh.write(data))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Codebook":
        path = Path(path)
        try:
            with safe_open(str(path), "pt") as fh:
                meta = fh.metadata() or {}
            centres = load_file(str(path))["centres"]
            return cls(centres, int(meta["n_q"]), float(meta["bits"]), float(meta["snr_db"]),
                       json.loads(meta.get("meta", "{}")))
        except CodebookError:
            raise
        except Exception as exc:
            raise CodebookError(f"codebook {path} cannot be read ({describe(exc)}); "
                                "refit it with `semjscc fit-codebook`") from None


def pack_indices(indices: Tensor, bits: int) -> Tensor:
    """Pack non-negative indices < 2^bits into a uint8 bitstream of exactly N·bits bits
    (MSB first, zero-padded to whole bytes). Returns (ceil(N·bits / 8),) uint8."""
    idx = indices.reshape(-1).to(torch.int64).cpu().numpy()
    if idx.size and (idx.min() < 0 or idx.max() >= 2**bits):
        raise ValueError(f"indices must lie in [0, 2^{bits})")
    shifts = np.arange(bits - 1, -1, -1, dtype=np.int64)
    bitstream = ((idx[:, None] >> shifts[None, :]) & 1).astype(np.uint8).reshape(-1)
    return torch.from_numpy(np.packbits(bitstream))


def unpack_indices(packed: Tensor, bits: int, count: int) -> Tensor:
    """Inverse of :func:`pack_indices`: the first ``count`` indices, int64."""
    bitstream = np.unpackbits(packed.cpu().numpy())[: count * bits].reshape(count, bits)
    weights = 1 << np.arange(bits - 1, -1, -1, dtype=np.int64)
    return torch.from_numpy((bitstream.astype(np.int64) * weights).sum(1))


def fit_codebook(blocks: np.ndarray, n_q: int, bits: float, snr_db: float, seed: int = 0,
                 meta: dict[str, Any] | None = None) -> Codebook:
    """K-means (k-means++ initialisation, seeded, scikit-learn) on (N, N_Q) blocks."""
    from sklearn.cluster import KMeans  # imported here: scikit-learn takes ~1 s to import

    k = 2 ** bits_per_block(n_q, bits)
    if blocks.shape[0] < k:
        raise CodebookError(f"only {blocks.shape[0]} blocks to fit {k} centres; use more images")
    km = KMeans(n_clusters=k, init="k-means++", n_init=3, max_iter=300, random_state=seed)
    km.fit(blocks.astype(np.float32, copy=False))
    info = {"inertia_per_block": float(km.inertia_) / blocks.shape[0],
            "iterations": int(km.n_iter_), **(meta or {})}
    return Codebook(torch.from_numpy(km.cluster_centers_).float(), n_q, bits, snr_db, info)
