"""The exception type of :mod:`semjscc.data`, and the config check every kind shares."""

from __future__ import annotations

from ..errors import SemjsccError


class DataError(SemjsccError, ValueError):
    """A data problem the user can fix; the one-line message names the culprit and the fix."""


def check_num_classes(given: int | None, actual: int, source: str) -> int:
    """``actual`` if ``data.num_classes`` (``given``) is unset or agrees, else a DataError."""
    if given not in (None, actual):
        raise DataError(
            f"data.num_classes={given} but {source} has {actual} classes; "
            f"remove data.num_classes or set it to {actual}"
        )
    return actual
