"""Bounded YAML and JSON: every structured input a command reads (configs, ``--set``
values, users files, fit.json) goes through here.

Limits: MAX_BYTES of text, MAX_DEPTH levels of nesting, MAX_ALIASES YAML aliases, and
MAX_NODES nodes once aliases are expanded. A YAML alias bomb ("billion laughs") or a
self-referencing alias fails as soon as it crosses a limit, and deep nesting is refused
before Python's recursion limit is reached. A problem is one :class:`InputError` line that
names the source.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, first_line
from .files import read_text

MAX_BYTES = 4 * 2**20
MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_NODES = 100_000
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_JSON_BRACKETS = re.compile(r"[\[\]{}]")
# An integer beyond Python's int-from-text limit (4300 digits) makes both parsers fail.
_TOO_LONG = "{source} holds a number too long to read; give a shorter value"


class SyntaxInputError(InputError):
    """Text that is not valid YAML or JSON (as opposed to valid text beyond a limit)."""


class _Limit(Exception):
    """A YAML document beyond a limit (raised inside the composer, reported by the caller)."""


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, counting nesting depth, aliases and expanded nodes as it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        self._nodes = 0  # nodes composed so far, each alias counted as the nodes it stands for
        self._sizes: dict[int, int] = {}  # id(node) -> its expanded size, once complete

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Limit(f"uses more than {MAX_ALIASES} aliases (*name)")
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:
                raise _Limit("has an alias inside the node it refers to (a loop)")
            self._count(self._sizes[id(node)])
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Limit(f"is nested deeper than {MAX_DEPTH} levels")
        start = self._nodes
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._count(1)
        self._sizes[id(node)] = self._nodes - start
        return node

    def _count(self, nodes: int) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise _Limit(f"expands to more than {MAX_NODES:,} values (aliases included)")


def _check_size(text: str, source: str) -> None:
    if len(text) > MAX_BYTES:
        raise InputError(f"{source} holds {len(text):,} characters, over the limit of "
                         f"{MAX_BYTES:,}; is it the right file?")


def parse_yaml(text: str, source: str) -> Any:
    """The YAML value of ``text`` (safe tags only) within the limits; ``source`` (a file or
    ``--set key``) names it in errors. Invalid YAML is a :class:`SyntaxInputError`."""
    _check_size(text, source)
    loader = None
    try:
        loader = _BoundedLoader(text)  # a yaml.SafeLoader with limits: safe tags only
        return loader.get_single_data()
    except _Limit as exc:
        raise InputError(f"{source} {exc}; simplify it") from None
    except yaml.YAMLError as exc:
        raise SyntaxInputError(f"{source}: not valid YAML ({type(exc).__name__}: "
                               f"{first_line(exc)})") from None
    except ValueError:
        raise InputError(_TOO_LONG.format(source=source)) from None
    finally:
        if loader is not None:
            loader.dispose()


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text`` (strings skipped)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKETS.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def parse_json(text: str, source: str) -> Any:
    """The JSON value of ``text`` within the size and depth limits; invalid JSON is a
    :class:`SyntaxInputError` naming ``source``."""
    _check_size(text, source)
    if json_depth(text) > MAX_DEPTH:
        raise InputError(f"{source} is nested deeper than {MAX_DEPTH} levels; simplify it")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SyntaxInputError(f"{source} is not valid JSON ({first_line(exc)})") from None
    except ValueError:
        raise InputError(_TOO_LONG.format(source=source)) from None


def read_yaml(path: str | Path, what: str = "file") -> Any:
    """:func:`parse_yaml` of the UTF-8 input file ``path`` (type and size checked first)."""
    return parse_yaml(read_text(path, what, MAX_BYTES), f"{what} {path}")


def read_json(path: str | Path, what: str = "file") -> Any:
    """:func:`parse_json` of the UTF-8 input file ``path`` (type and size checked first)."""
    return parse_json(read_text(path, what, MAX_BYTES), f"{what} {path}")

