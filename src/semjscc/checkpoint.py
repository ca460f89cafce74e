"""Checkpoints: weights + resolved config + versions, written atomically, read safely.

Format (a dict saved with ``torch.save``, loadable with ``weights_only=True``)::

    {"format_version": 2, "kind": "deepjscc" | "dhd" | "classifier", "versions": {...},
     "config": {...resolved config...}, "model": state_dict,
     "optimizer": ..., "scheduler": ..., "epoch": int, "best_metric": float,
     "rng": {...}, "metrics": {...}}

A crash mid-write leaves the previous file intact (write to a temp file, fsync, rename).
Reading validates the structure, so a truncated, foreign or hand-made file is one
:class:`~semjscc.errors.CheckpointError` line naming the file and what is wrong.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .errors import CheckpointError, InputError
from .files import UnreadableFile, atomic_write, check_input, load_tensors
from .version import __version__

# 2: CompressAI layer names and channel/loss sections in the config.
FORMAT_VERSION = 2
KINDS = ("deepjscc", "dhd", "classifier")


def versions() -> dict[str, str]:
    return {"semjscc": __version__, "torch": str(torch.__version__),
            "python": platform.python_version()}


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Atomically write ``state`` (plus format version and library versions) to ``path``."""
    payload = {"format_version": FORMAT_VERSION, "versions": versions(), **state}
    return atomic_write(path, lambda fh: torch.save(payload, fh))


def held(value: Any) -> str:
    """What a loaded file holds, in a few words: ``a list of 3 items``, ``a tensor of shape
    (2, 3)``, ``a dict with keys a, b``."""
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, Mapping):
        keys = ", ".join(str(k) for k in list(value)[:5]) + (", ..." if len(value) > 5 else "")
        return f"a dict with keys {keys}" if value else "an empty dict"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def _problem(ckpt: Any) -> str | None:
    """What makes ``ckpt`` not a usable semjscc checkpoint, or None."""
    if not isinstance(ckpt, dict) or "format_version" not in ckpt:
        return (f"it is not a semjscc checkpoint: it holds {held(ckpt)}, not a dict with "
                "format_version, kind, config and model")
    version = ckpt["format_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        return f"its format_version {version!r} is not an integer"
    if version > FORMAT_VERSION:
        return (f"it has format {version}, newer than this semjscc ({FORMAT_VERSION}); "
                "upgrade semjscc")
    if version < FORMAT_VERSION:
        return (f"it has format {version}, written by an older semjscc whose layer names "
                f"differ ({FORMAT_VERSION} is needed); retrain it with this version")
    if ckpt.get("kind") not in KINDS:
        return f"its kind {ckpt.get('kind')!r} is not one of {', '.join(KINDS)}"
    if not isinstance(ckpt.get("config"), dict):
        return "it has no config section"
    model = ckpt.get("model")
    if not (isinstance(model, Mapping) and model
            and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in model.items())):
        return "its model entry is not a state_dict of tensors"
    return None


def load_checkpoint(path: str | Path, kind: str | None = None,
                    map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and validate its structure and kind."""
    try:
        path = check_input(path, "checkpoint", "pass the best.pt or last.pt of a run")
    except InputError as exc:
        raise CheckpointError(str(exc)) from None
    try:
        ckpt = load_tensors(path, map_location)
    except UnreadableFile as exc:
        why = ("it is not a semjscc checkpoint, which holds only tensors and plain values: "
               "pass the best.pt or last.pt of a run" if exc.refused else
               "it is truncated, corrupt or not a torch file: use the run's other checkpoint "
               "(best.pt/last.pt) or retrain")
        raise CheckpointError(f"checkpoint {path} cannot be read ({exc}); {why}") from None
    problem = _problem(ckpt)
    if problem:
        raise CheckpointError(f"checkpoint {path} cannot be used: {problem}")
    if kind is not None and ckpt["kind"] != kind:
        raise CheckpointError(f"{path} holds a {ckpt['kind']!r} model, but a {kind!r} "
                              "checkpoint is needed here")
    return ckpt
