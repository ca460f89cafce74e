"""Progress bars: shown on an interactive terminal, silent in logs and CI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], desc: str, enabled: bool = True, **kwargs: Any) -> tqdm:
    """A tqdm bar over ``iterable``; ``enabled=False`` (e.g. non-zero DDP rank) hides it."""
    return tqdm(iterable, desc=desc, disable=None if enabled else True, dynamic_ncols=True,
                **{"leave": False, **kwargs})
