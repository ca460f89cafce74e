"""Split names and deterministic, stratified index splits.

Splits are ``train``, ``val``, ``test`` (alias ``query``: the retrieval queries) and
``db`` (the retrieval database).
"""

from __future__ import annotations

from typing import Mapping, TypeVar

import numpy as np

from .errors import DataError

SPLITS = ("train", "val", "test", "db")
ALIASES = {"query": "test"}
V = TypeVar("V")


def canonical_split(split: str) -> str:
    """``"query"`` -> ``"test"``; unknown names raise :class:`DataError`."""
    name = ALIASES.get(split, split)
    if name not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)} (query = test)")
    return name


def find_split(mapping: Mapping[str, V], split: str) -> V | None:
    """The entry for ``split`` in a per-split mapping, under its canonical name or an alias."""
    name = canonical_split(split)
    for key in (name, *(alias for alias, target in ALIASES.items() if target == name)):
        if key in mapping:
            return mapping[key]
    return None


def split_value(mapping: Mapping[str, V], split: str, key: str) -> V:
    """Like :func:`find_split` but a missing entry raises a DataError naming ``key.split``."""
    value = find_split(mapping, split)
    if value is None:
        name = canonical_split(split)
        raise DataError(f"{key} has no {name!r} entry; add one, e.g. --set {key}.{name}=...")
    return value


def stratified_split(
    groups: np.ndarray, fractions: Mapping[str, float], seed: int
) -> dict[str, np.ndarray]:
    """Split item indices 0..N-1 per group into the named fractions; the rest is ``train``.

    Within each group (e.g. a class id, shape (N,)) items are shuffled by a generator
    seeded with ``seed``; each named part takes round(fraction * group size) items.
    Returns sorted int64 index arrays keyed by ``train`` and the names in ``fractions``.
    """
    if any(f < 0 for f in fractions.values()) or sum(fractions.values()) >= 1.0:
        given = ", ".join(f"data.{name}_fraction={f}" for name, f in fractions.items())
        raise DataError(f"{given}: fractions must be >= 0 and sum to less than 1; lower them")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ("train", *fractions)}
    for group in np.unique(groups):
        members = rng.permutation(np.flatnonzero(groups == group))
        start = 0
        for name, fraction in fractions.items():
            stop = start + int(round(fraction * len(members)))
            parts[name].append(members[start:stop])
            start = stop
        parts["train"].append(members[start:])
    return {
        name: np.sort(np.concatenate(chunks)).astype(np.int64) if chunks else np.zeros(0, np.int64)
        for name, chunks in parts.items()
    }
