"""Writing files so that they appear complete or not at all, and reading tensor files
without ever unpickling code."""

from __future__ import annotations

import glob
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import torch

from .errors import ConfigError, describe


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file_object)`` on a temporary file next to ``path``, flush, fsync and
    rename it over ``path``: the file appears complete or not at all (a full disk or a crash
    leaves the previous file, if any, untouched). A temporary file that a killed writer left
    for ``path`` is removed first. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # what open() would have given, not mkstemp's 0600
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


class UnreadableFile(Exception):
    """A file that :func:`load_tensors` cannot read. ``str()`` is one short line of why;
    ``refused`` is true when safe loading refused pickled objects (the file is readable but
    holds more than tensors), false when the file is truncated, corrupt or of another kind."""

    def __init__(self, reason: str, refused: bool) -> None:
        super().__init__(reason)
        self.refused = refused

    @classmethod
    def of(cls, exc: BaseException) -> UnreadableFile:
        """Why a ``torch.load(..., weights_only=True)`` (or another reader) failed: the
        refused global or opcode of a safe-loading refusal, else the first sentence of the
        error's message."""
        refusal = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n\s*\n|Check the doc|$)",
                            str(exc), re.S)
        if refusal:
            why = " ".join(refusal.group(1).split()).split(". ")[0].rstrip(".")
            return cls(f"safe loading (weights_only=True) refuses it: {why}", refused=True)
        return cls(describe(exc).split(". ")[0], refused=False)


def load_tensors(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain containers only, never
    arbitrary pickled objects. Raises :class:`UnreadableFile` instead of torch's
    multi-line messages."""
    try:
        with warnings.catch_warnings():  # torch's note on a foreign pickle protocol
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, a text file, pickled code, ...
        raise UnreadableFile.of(exc) from exc


def path_segment(text: str) -> str:
    """``text`` as one safe file-name segment: runs of characters other than letters, digits,
    ``.``, ``_`` and ``-`` become ``-``, leading dots go (no ``..``, no hidden file) and at
    most 100 characters stay (``-`` when nothing is left). Every name built from user input
    (metric, family, group values) passes through it, so no file lands outside its folder."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).lstrip(".")[:100] or "-"


def refuse_overwrite(outputs: Iterable[str | Path], inputs: Iterable[str | Path],
                     option: str = "--out") -> None:
    """ConfigError (one line) when a file about to be written, one of ``outputs``, is one of
    the existing ``inputs`` (the same path once resolved, or the same file)."""
    existing = [Path(p) for p in inputs if Path(p).is_file()]
    for out in map(Path, outputs):
        for source in existing:
            if out.resolve() == source.resolve() or (out.is_file() and out.samefile(source)):
                raise ConfigError(f"{option} would overwrite the input {source} (as {out}); "
                                  f"choose another {option}")
