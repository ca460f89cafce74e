"""Config files: YAML presets and paths with ``extends:``, ``--set`` overrides, loading
and saving. Precedence: dataclass defaults < YAML file < ``--set section.key=value``.
Unknown keys are errors that name the key and the valid choices."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ..errors import ConfigError, InputError
from ..files import check_input, write_text
from ..parsing import SyntaxInputError, parse_yaml, read_yaml
from .coerce import derive, from_dict, to_dict, validate
from .root import Config

C = TypeVar("C")


def set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``tree[a][b]... = value`` for the dotted key ``a.b...``, creating sections."""
    node = tree
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``"train.epochs=3"`` -> ``("train.epochs", 3)``; the value is read as YAML (within the
    limits of :mod:`semjscc.parsing`), or kept as text when it is not valid YAML."""
    if "=" not in text:
        raise ConfigError(f"--set expects key=value, got {text!r} (e.g. --set train.epochs=3)")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"--set {text!r}: empty key")
    try:
        value = parse_yaml(raw, f"--set {key}") if raw.strip() else ""
    except SyntaxInputError:
        value = raw
    return key, value


def _preset(name: str) -> Path | None:
    """The packaged preset ``name`` (e.g. ``tiny/df``, ``configs/tiny/df.yaml``), or None."""
    name = name.removesuffix(".yaml").removeprefix("configs/")
    packaged = resources.files("semjscc") / "configs" / f"{name}.yaml"
    return Path(str(packaged)) if packaged.is_file() else None


def _config_file(path: Path) -> Path:
    """``path`` once it is a readable regular file, else a ConfigError saying what it is."""
    try:
        return check_input(path, "config")
    except InputError as exc:
        raise ConfigError(str(exc)) from None


def resolve_config_path(spec: str | Path) -> Path:
    """A file path, or a packaged preset name such as ``tiny/df`` (``configs/tiny/df.yaml``).
    A path that exists must be a readable regular file (not a folder, FIFO or device)."""
    path = Path(spec).expanduser()
    if path.exists():
        return _config_file(path)
    packaged = _preset(str(spec))
    if packaged is not None:
        return packaged
    raise ConfigError(
        f"config {str(spec)!r} not found: give a YAML path or a preset such as "
        f"{', '.join(list_presets())}"
    )


def _extends(value: Any, path: Path) -> list[Path]:
    """The files that ``extends: value`` in config ``path`` names: each a path relative to
    ``path``'s folder (or absolute), else a preset name."""
    specs = [value] if isinstance(value, str) else value
    if not (isinstance(specs, list) and all(isinstance(s, str) and s.strip() for s in specs)):
        raise ConfigError(f"{path}: extends must be a preset name or a path (relative to this "
                          f"file), or a list of them; got {value!r}")
    out = []
    for spec in specs:
        candidate = path.parent / Path(spec).expanduser()
        if candidate.exists():
            out.append(_config_file(candidate))
            continue
        packaged = _preset(spec)
        if packaged is None:
            raise ConfigError(f"{path}: extends {spec!r} is neither a file next to it "
                              f"({candidate}) nor a preset such as {', '.join(list_presets())}")
        out.append(packaged)
    return out


def list_presets() -> list[str]:
    """The packaged presets, e.g. ``tiny/df``."""
    root = resources.files("semjscc") / "configs"
    out = []
    for group in sorted(p.name for p in root.iterdir() if p.is_dir()):
        for item in sorted((root / group).iterdir(), key=lambda p: p.name):
            if item.name.endswith(".yaml"):
                out.append(f"{group}/{item.name.removesuffix('.yaml')}")
    return out


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config_tree(spec: str | Path) -> dict[str, Any]:
    """The YAML mapping of ``spec`` with its ``extends:`` parents (a preset name or a path
    relative to the file that holds it, or a list of them, merged in order) merged
    underneath it."""
    return _read_tree(resolve_config_path(spec), ())


def _read_tree(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    real = path.resolve()
    if real in seen:
        chain = " -> ".join(str(p) for p in (*seen, real))
        raise ConfigError(f"{path}: circular 'extends' ({chain}); remove one of them")
    try:
        tree = read_yaml(path, "config") or {}
    except InputError as exc:  # not UTF-8, not YAML, beyond a limit
        raise ConfigError(str(exc)) from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of sections")
    merged: dict[str, Any] = {}
    parents = tree.pop("extends", None)
    for parent in [] if parents is None else _extends(parents, path):
        merged = _deep_merge(merged, _read_tree(parent, seen + (real,)))
    return _deep_merge(merged, tree)


def load_config(
    spec: str | Path | None = None,
    overrides: list[str] | None = None,
    cls: type[C] = Config,  # type: ignore[assignment]
    base: dict[str, Any] | None = None,
) -> C:
    """Load ``spec`` (path or preset) or start from ``base`` (e.g. a checkpoint's stored
    config), then apply ``key=value`` overrides."""
    tree: dict[str, Any] = copy.deepcopy(base) if base is not None else {}
    if spec is not None:
        tree = _deep_merge(tree, read_config_tree(spec))
    for text in overrides or []:
        key, value = parse_override(text)
        set_path(tree, key, value)
    cfg = from_dict(cls, tree)
    return validate(cfg) if isinstance(cfg, Config) else cfg


def save_config(cfg: Any, path: str | Path) -> None:
    """The resolved config as YAML (``config.yaml`` of a run, ``reproduce.yaml``)."""
    write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))


def inline_yaml(value: Any) -> str:
    """``value`` as one line of YAML, the form ``--set key=<value>`` takes (e.g. a loss
    mapping shown in a report)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def with_overrides(cfg: Config, overrides: Iterable[str]) -> Config:
    """``cfg`` with ``--set``-style ``key=value`` texts applied (e.g. the lists
    ``sweep.base_set`` and ``importance.independent`` hold them)."""
    changes: dict[str, Any] = {}
    for text in overrides:
        key, value = parse_override(text)
        section, _, rest = key.partition(".")
        if not rest:
            changes[section] = value
            continue
        name, _, deeper = rest.partition(".")
        fields = changes.setdefault(section, {})
        if not isinstance(fields, dict):
            raise ConfigError(f"--set {key}: {section!r} is not a section")
        if deeper:
            current = fields.get(name, copy.deepcopy(getattr(getattr(cfg, section, None), name,
                                                             None)))
            if not isinstance(current, dict):
                raise ConfigError(f"--set {key}: {section}.{name} is not a mapping")
            set_path(current, deeper, value)
            value = current
        fields[name] = value
    return derive(cfg, **changes)
