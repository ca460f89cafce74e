"""Checkpoints: weights + resolved config + versions, written atomically, read safely.

Format (a dict saved with ``torch.save``, loadable with ``weights_only=True``)::

    {"format_version": 1, "kind": "deepjscc" | "dhd" | ..., "versions": {...},
     "config": {...resolved config...}, "model": state_dict,
     "optimizer": ..., "scheduler": ..., "epoch": int, "best_metric": float,
     "rng": {...}, "metrics": {...}}

A crash mid-write leaves the previous file intact (write to a temp file, fsync, rename).
"""

from __future__ import annotations

import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..errors import CheckpointError

FORMAT_VERSION = 1


def versions() -> dict[str, str]:
    return {"semjscc": __version__, "torch": str(torch.__version__), "python": platform.python_version()}


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Atomically write ``state`` (plus format version and library versions) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format_version": FORMAT_VERSION, "versions": versions(), **state}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, kind: str | None = None,
                    map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; check its kind and format version."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; pass the best.pt/last.pt of a run")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, wrong file type, unpickling refused ...
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); "
            "it is truncated, corrupt or not a semjscc checkpoint: use the run's other "
            "checkpoint (best.pt/last.pt) or retrain"
        ) from None
    if not isinstance(ckpt, dict) or "format_version" not in ckpt:
        raise CheckpointError(f"{path} is not a semjscc checkpoint (no format_version)")
    if ckpt["format_version"] > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format {ckpt['format_version']}, newer than this semjscc "
            f"({FORMAT_VERSION}); upgrade semjscc"
        )
    if kind is not None and ckpt.get("kind") != kind:
        raise CheckpointError(
            f"{path} holds a {ckpt.get('kind')!r} model, but a {kind!r} checkpoint is needed here"
        )
    return ckpt
