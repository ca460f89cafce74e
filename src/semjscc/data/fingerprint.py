"""Fingerprints of the dataset an artefact (checkpoint, codebook, fit) was trained on, and
their comparison when a command combines artefacts.

A fingerprint is a small JSON-able mapping::

    {"kind": "folder", "root": "/data/eurosat" (as given, or None),
     "splits": {"train": 21600, "val": 2700}, "classes": ["AnnualCrop", ...],
     "files": "<16 hex digits>"}

``files`` hashes what a training run reads, per split of :data:`SPLITS`: for file-backed
kinds (``folder``, ``list``, ``eurosat``) the sorted paths of the split's images relative
to their common folder (so the same files under another root hash alike); for generated or
packed kinds (``synthetic``, ``synthetic-eo``, ``cifar10``) the generator parameters
(``data.seed``) and the files read (CIFAR-10's batch files).

Combining two artefacts (:func:`check_same_data`): another kind or other class names is a
:class:`DataError` naming both; the same classes with other split sizes or files is one
warning. An artefact written before fingerprints existed is not compared.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..checkpoint import load_checkpoint
from ..config import DataConfig
from ..errors import CheckpointError
from ..registry import DATASETS
from .errors import DataError

log = logging.getLogger("semjscc.data")

SPLITS = ("train", "val")  # what a training run reads (val selects its checkpoint)
KEY = "data_fingerprint"  # its entry in checkpoints, codebook metadata and fit.json
FIELDS = {"kind": str, "root": (str, type(None)), "splits": dict, "classes": list,
          "files": str}


def _relative(listing: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each split's paths, sorted, relative to the common folder of all their folders."""
    absolute = {s: [os.path.abspath(p) for p in paths] for s, paths in listing.items()}
    folders = {os.path.dirname(p) for paths in absolute.values() for p in paths}
    base = os.path.commonpath(sorted(folders)) if folders else ""
    return {s: sorted(Path(os.path.relpath(p, base)).as_posix() for p in paths)
            for s, paths in absolute.items()}


def data_fingerprint(cfg: DataConfig) -> dict[str, Any]:
    """The fingerprint of ``cfg``'s dataset (its :data:`SPLITS`; a split that cannot be
    built, e.g. an empty val, counts 0 images). The file lists are the listed files, read or
    not: no image is opened."""
    kind = DATASETS.get(cfg.kind)
    cfg = replace(cfg, on_bad_image="error")  # lists the files without opening them
    sizes: dict[str, int] = {}
    listing: dict[str, list[str]] = {}
    classes: list[str] = []
    generated: list[str] = []
    for split in SPLITS:
        try:
            dataset = kind.from_config(cfg, split)
        except DataError:
            if split == "train":
                raise
            sizes[split] = 0
            continue
        sizes[split] = len(dataset)
        classes = classes or [str(c) for c in dataset.class_names]
        paths = getattr(dataset, "paths", None)
        if paths is None:
            generated = list(getattr(dataset, "source_files", ()))
        else:
            listing[split] = [str(p) for p in paths]
    source = ({"files": _relative(listing)} if listing
              else {"seed": cfg.seed, "files": generated})
    digest = hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()
    return {"kind": cfg.kind, "root": None if cfg.root is None else str(cfg.root),
            "splits": sizes, "classes": classes, "files": digest[:16]}


def read_fingerprint(value: Any, source: str) -> dict[str, Any] | None:
    """A recorded fingerprint checked for shape; None when ``value`` is None (an artefact
    from before fingerprints)."""
    if value is None:
        log.debug("%s records no data fingerprint (older semjscc); not compared", source)
        return None
    bad = ("it is not a mapping" if not isinstance(value, Mapping) else
           next((f"its {k!r} is missing or not a {getattr(t, '__name__', 'string')}"
                 for k, t in FIELDS.items() if not isinstance(value.get(k), t)), None))
    if bad:
        raise DataError(f"{source} has a malformed {KEY} ({bad}); it was edited or written "
                        "by another tool: retrain it")
    return dict(value)


def checkpoint_fingerprint(path: str | Path, kind: str | None = None) -> dict[str, Any] | None:
    """The fingerprint recorded in checkpoint ``path`` (None for an older checkpoint)."""
    return read_fingerprint(load_checkpoint(path, kind=kind).get(KEY), f"checkpoint {path}")


def _describe(fp: Mapping[str, Any], start: int) -> str:
    """``data.kind=K (C classes: a, b, c, ...)``, the names from the ``start``-th on."""
    names = fp["classes"]
    shown = ", ".join(names[start:start + 3])
    return (f"data.kind={fp['kind']} ({len(names)} classes: {'..., ' if start else ''}"
            f"{shown}{', ...' if len(names) > start + 3 else ''})")


def check_same_data(first: tuple[str, Mapping[str, Any] | None],
                    second: tuple[str, Mapping[str, Any] | None]) -> bool:
    """Compare the fingerprints of two named artefacts: a DataError naming both when their
    kinds or class names differ; one warning (returns False) when only their split sizes or
    files do; nothing when either has none."""
    (a_name, a), (b_name, b) = first, second
    if a is None or b is None:
        return True
    if a["kind"] != b["kind"] or a["classes"] != b["classes"]:
        pairs = list(zip(a["classes"], b["classes"]))
        start = next((i for i, (x, y) in enumerate(pairs) if x != y), len(pairs))
        start = 0 if a["kind"] != b["kind"] else min(start, max(len(pairs) - 1, 0))
        raise DataError(f"dataset mismatch: {a_name} was trained on {_describe(a, start)} and "
                        f"{b_name} on {_describe(b, start)}; combine artefacts trained on the "
                        "same dataset (retrain one of them)")
    if a["splits"] != b["splits"] or a["files"] != b["files"]:
        sizes = [f"{'/'.join(str(v) for v in fp['splits'].values())}" for fp in (a, b)]
        detail = (f"train/val images {sizes[0]} vs {sizes[1]}" if sizes[0] != sizes[1]
                  else "the same sizes but other files")
        log.warning("%s and %s were trained on different data of kind %s (%s); their results "
                    "mix two datasets", a_name, b_name, a["kind"], detail)
        return False
    return True


def shared_fingerprint(paths: Iterable[str | Path | None]) -> dict[str, Any] | None:
    """The fingerprint of the readable checkpoints among ``paths`` (e.g. a results file's
    ``checkpoint`` column), each compared with the first that records one (refused or
    warned about, once, as by :func:`check_same_data`); None when none records one."""
    first: tuple[str, dict[str, Any]] | None = None
    for path in dict.fromkeys(str(p) for p in paths if p):
        try:
            fingerprint = checkpoint_fingerprint(path) if Path(path).is_file() else None
        except CheckpointError as exc:
            log.debug("not compared: %s", exc)
            continue
        if fingerprint is None:
            continue
        if first is None:
            first = (f"checkpoint {path}", fingerprint)
        elif not check_same_data(first, (f"checkpoint {path}", fingerprint)):
            break
    return None if first is None else first[1]
