"""Checks of single config fields, declared next to each field with :func:`checked`.

A check takes the field's value and returns what is wrong with it (``"must be ..."``), or
None; :func:`semjscc.config.validate` runs them all before any work starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from ..errors import ConfigError

Check = Callable[[Any], "str | None"]
MAX_RELAYS = 16
MAX_SEED = 2**32 - 1  # numpy's legacy seeding takes 0 .. 2**32 - 1
MAX_IMAGE_SIZE = 8192  # pixels per side: beyond this one image alone fills a GPU


def checked(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING,
            check: Check) -> Any:
    """A dataclass field with its ``check`` (``default`` or a ``factory`` as usual)."""
    return dataclasses.field(default=default, default_factory=factory,
                             metadata={"check": check})


def parse_ratio(value: str | float | int) -> Fraction:
    """``"1/3"`` / ``0.3333`` -> Fraction (floats snapped to a denominator <= 1000)."""
    try:
        if isinstance(value, str):
            return Fraction(value.strip())
        return Fraction(value).limit_denominator(1000)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"not a ratio: {value!r} (write e.g. 1/3 or 0.25)") from None


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def int_at_least(low: int) -> Check:
    """A whole number >= ``low`` (or a list of them); None passes."""
    def check(v: Any) -> str | None:
        if v is None:
            return None
        values = v if isinstance(v, list) else [v]
        if not all(isinstance(x, int) and not isinstance(x, bool) and x >= low for x in values):
            return f"must be a whole number >= {low}"
        return None
    return check


def int_between(low: int, high: int) -> Check:
    """A whole number in ``low .. high``; None passes."""
    def check(v: Any) -> str | None:
        ok = v is None or (isinstance(v, int) and not isinstance(v, bool) and low <= v <= high)
        return None if ok else f"must be a whole number in {low}..{high}"
    return check


def image_size(low: int) -> Check:
    """An image side in ``low .. MAX_IMAGE_SIZE`` pixels; None passes."""
    check = int_between(low, MAX_IMAGE_SIZE)
    return lambda v: check(v) and f"{check(v)} (pixels per side)"


def seed(v: Any) -> str | None:
    """A seed in 0 .. MAX_SEED (2**32 - 1); None passes."""
    return int_between(0, MAX_SEED)(v) and f"must be a seed: a whole number in 0..{MAX_SEED}"


def snr_values(v: Any) -> str | None:
    """One SNR in dB, or a non-empty list of them (one per hop)."""
    if _number(v) or (isinstance(v, list) and v and all(_number(x) for x in v)):
        return None
    return "must be an SNR in dB or a list of them, one per hop (e.g. 5 or [5, 10])"


def in_range(low: float, high: float, low_open: bool = False, high_open: bool = False) -> Check:
    """A number in [low, high] (``*_open``: that end excluded); None passes."""
    def check(v: Any) -> str | None:
        if v is None:
            return None
        ok = _number(v) and (v > low if low_open else v >= low) and \
            (v < high if high_open else v <= high)
        return None if ok else (f"must lie in {'(' if low_open else '['}{low:g}, {high:g}"
                                f"{')' if high_open else ']'}")
    return check


def positive(v: Any) -> str | None:
    return None if v is None or (_number(v) and v > 0) else "must be a number > 0"


def range_pair(v: Any) -> str | None:
    """``[low, high]`` in dB with low <= high; None or ``[]`` pass."""
    if v is None or v == []:
        return None
    if not (isinstance(v, list) and len(v) == 2 and all(_number(x) for x in v) and v[0] <= v[1]):
        return "must be [low, high] in dB with low <= high"
    return None


def ratio(v: Any) -> str | None:
    """A compression ratio in (0, 1] (or a list of them), e.g. ``1/6``."""
    for item in v if isinstance(v, list) else [v]:
        r = parse_ratio(item)
        if not 0 < r <= 1:
            return f"holds {item}: a compression ratio must lie in (0, 1]"
    return None


def one_of(*choices: str) -> Check:
    def check(v: Any) -> str | None:
        return None if v in choices else f"is not valid; use one of {', '.join(choices)}"
    return check


def subset_of(*choices: str) -> Check:
    """A list of distinct names from ``choices`` (``[]`` passes)."""
    def check(v: Any) -> str | None:
        ok = isinstance(v, list) and all(x in choices for x in v) and len(set(v)) == len(v)
        return None if ok else f"must be a list of distinct names from {', '.join(choices)}"
    return check


def area_fractions(v: Any) -> str | None:
    ok = isinstance(v, list) and len(v) == 2 and all(_number(x) for x in v) and \
        0 < v[0] <= v[1] <= 1
    return None if ok else "must be [low, high] area fractions with 0 < low <= high <= 1"


def relay_counts(v: Any) -> str | None:
    """Relay counts: whole numbers in 0 .. MAX_RELAYS."""
    return int_at_least(0)(v) or (
        f"must be at most {MAX_RELAYS}" if max(v if isinstance(v, list) else [v], default=0)
        > MAX_RELAYS else None)


def seed_list(v: Any) -> str | None:
    """Training seeds: distinct whole numbers in 0 .. MAX_SEED."""
    if not isinstance(v, list) or any(seed(x) for x in v):
        return f"must be a list of seeds: whole numbers in 0..{MAX_SEED}"
    return "must not repeat a seed" if len(set(v)) != len(v) else None
