"""Writing files so that they appear complete or not at all, checking and reading input
files (regular, readable, UTF-8), and reading tensor files without ever unpickling code."""

from __future__ import annotations

import glob
import os
import re
import stat
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import torch

from .errors import ConfigError, InputError, describe

# What a stat mode that is neither a regular file nor a directory is, for error messages.
_FILE_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class _Sink:
    """``fh`` for a writer, remembering the OSError a write raised (e.g. a full disk): some
    writers (torch.save) re-raise it without its errno or the file's name."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self._fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file_object)`` on a temporary file next to ``path``, flush, fsync and
    rename it over ``path``: the file appears complete or not at all (a full disk or a crash
    leaves the previous file, if any, untouched). A temporary file that a killed writer left
    for ``path`` is removed first. Returns ``path``. A failed write, flush, fsync or rename
    (a full disk, a quota) raises OSError with its errno and ``path`` as the filename, also
    where the writer turned it into another exception."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    sink: _Sink | None = None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # what open() would have given, not mkstemp's 0600
        with os.fdopen(fd, "wb") as fh:
            sink = _Sink(fh)
            write(sink)  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        # the write's own error (the file's name missing, or the temporary file's), not one
        # about another file that the writer read
        cause = sink.error if sink and sink.error else exc if isinstance(exc, OSError) and \
            exc.filename in (None, tmp) else None
        if cause is not None and cause.errno is not None:
            raise OSError(cause.errno, cause.strerror or os.strerror(cause.errno),
                          str(path)) from exc
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def check_input(path: str | Path, what: str = "file", hint: str = "") -> Path:
    """``path`` once it is known to be a readable regular file (symlinks followed), else an
    InputError naming ``what``, the path, what it is instead and the fix (``hint``, e.g.
    "pass the best.pt of a run"). Never opens the path: a FIFO would block the reader."""
    path = Path(path)
    fix = f"; {hint}" if hint else ""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist{fix or '; check the path'}") from None
    except NotADirectoryError:
        raise InputError(f"{what} {path} does not exist: part of its path is a file, not a "
                         "folder; fix the path") from None
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be reached ({exc.strerror}); fix the path or "
                         "the permissions of its folders") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{what} {path} is a directory{fix or '; give a file'}")
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _FILE_KINDS if test(mode)), "of an unknown kind")
        raise InputError(f"{what} {path} is {kind}, not a regular file{fix or '; give a file'}")
    if not os.access(path, os.R_OK):
        raise InputError(f"cannot read {what} {path} (no permission); fix its permissions")
    return path


def read_text(path: str | Path, what: str = "file", max_bytes: int | None = None) -> str:
    """The UTF-8 text of the input file ``path`` (a leading byte-order mark dropped), after
    :func:`check_input`; a file over ``max_bytes`` or not UTF-8 (e.g. Latin-1) is an
    InputError naming it."""
    path = check_input(path, what)
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise InputError(f"{what} {path} is {size:,} bytes, over the limit of {max_bytes:,}; "
                         "is it the right file?")
    return _decode_utf8(path.read_bytes(), path, what)


def _decode_utf8(data: bytes, path: str | Path, what: str = "file") -> str:
    """``data`` read from ``path`` as UTF-8 text, or an InputError naming the file, the
    line and the first byte that is not UTF-8."""
    data = data.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark some editors write
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{what} {path} is not UTF-8 text (byte 0x{data[exc.start]:02x} on "
                         f"line {line}); re-save it as UTF-8") from None


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
