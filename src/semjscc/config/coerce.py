"""Typed config objects: building a section from a mapping (type-checked), deriving one
config from another (``derive``: objects in, objects out, no YAML text),
and the validation every config passes before any work starts."""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
from dataclasses import asdict, replace
from typing import Any, TypeVar, Union

from ..errors import ConfigError
from .root import Config

C = TypeVar("C")
MAX_INT = 2**63 - 1  # what torch and numpy take as an integer

# Keys of earlier versions: what replaced them.
RENAMED = {
    "train.method": "train.loss, e.g. train.loss={mse: 1.0, dhd: 0.06} for mse+dhd",
    "train.semantic_weight": "the dhd weight in train.loss, e.g. train.loss={mse: 1.0, dhd: 0.06}",
    "train.lpips_weight": "the lpips weight in train.loss, e.g. train.loss={mse: 1.0, lpips: 0.1}",
    "train.dhd_checkpoint": "dhd.checkpoint (the DHD of the dhd loss term and hash metrics)",
    "link.protocol": "nothing: DF is the training link and QF is `semjscc eval --protocol qf`",
}


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _digits(value: int) -> int:
    """About how many decimal digits ``value`` has (without printing it)."""
    return int(abs(value).bit_length() * 0.30103) + 1


def _check_type(value: Any, tp: Any, key: str) -> Any:
    """Light type check/coercion of a YAML value against a dataclass annotation."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check_type(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: bad value {value!r}")
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        (inner,) = typing.get_args(tp) or (Any,)
        return [_check_type(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {value!r}")
        _, inner = typing.get_args(tp) or (Any, Any)
        return {str(k): _check_type(v, inner, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        if abs(value) > MAX_INT:
            raise ConfigError(f"{key} is too large ({_digits(value)} digits): an integer must "
                              "lie within ±(2**63 - 1)")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads 3e-3 as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        try:
            return float(value)
        except OverflowError:
            raise ConfigError(f"{key} is too large ({_digits(value)} digits) for a number; "
                              "give a finite value") from None
    if tp is str:
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return str(value)
    return value


def from_dict(cls: type[C], data: dict[str, Any], prefix: str = "") -> C:
    """Build dataclass ``cls`` from a nested mapping; unknown keys raise ``ConfigError``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if full in RENAMED:
            raise ConfigError(f"config key {full!r} is gone; use {RENAMED[full]}")
        if key not in names:
            raise ConfigError(
                f"unknown config key {full!r}; valid keys here: {', '.join(sorted(names))}"
            )
        tp = hints[key]
        if _is_dataclass_type(tp):
            kwargs[key] = from_dict(tp, value or {}, prefix=f"{full}.")
        else:
            kwargs[key] = _check_type(value, tp, full)
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    """A config (or section) as nested plain mappings."""
    return asdict(cfg)


def _unknown(key: str, names: typing.Iterable[str]) -> ConfigError:
    if key in RENAMED:
        return ConfigError(f"config key {key!r} is gone; use {RENAMED[key]}")
    return ConfigError(f"unknown config key {key!r}; valid keys here: {', '.join(sorted(names))}")


def derive(cfg: Config, **changes: Any) -> Config:
    """A new config: ``cfg`` with ``section={field: value, ...}`` for sections and
    ``field=value`` for top-level fields (e.g. ``derive(cfg, seed=1, link={"relays": 2})``),
    each value type-checked as a config file's would be; the result is validated. ``cfg`` is
    left unchanged and shares nothing with the result."""
    hints = typing.get_type_hints(Config)
    top: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in hints:
            raise _unknown(name, hints)
        tp = hints[name]
        if not _is_dataclass_type(tp):
            top[name] = _check_type(copy.deepcopy(value), tp, name)
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a mapping, got {value!r}")
        fields = typing.get_type_hints(tp)
        for key in value:
            if key not in fields:
                raise _unknown(f"{name}.{key}", fields)
        top[name] = replace(copy.deepcopy(getattr(cfg, name)), **{
            key: _check_type(copy.deepcopy(v), fields[key], f"{name}.{key}")
            for key, v in value.items()})
    return validate(replace(copy.deepcopy(cfg), **top))


def _non_finite(value: Any, key: str) -> str | None:
    """The first dotted key under ``key`` holding a NaN or infinite number, or an integer
    beyond ±MAX_INT (e.g. in a field of any type), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return key
    if isinstance(value, int) and abs(value) > MAX_INT:
        return key
    if isinstance(value, dict):
        return next(filter(None, (_non_finite(v, f"{key}.{k}") for k, v in value.items())), None)
    if isinstance(value, (list, tuple)):
        return next(filter(None, (_non_finite(v, f"{key}[{i}]") for i, v in enumerate(value))),
                    None)
    return None


def validate(cfg: Config) -> Config:
    """Check every number (finite) and every field that declares a check (see
    :func:`semjscc.config.checks.checked`) before any work starts; a one-line ConfigError
    names the key, its value and what it must be."""
    bad = _non_finite(asdict(cfg), "config")
    if bad:
        raise ConfigError(f"{bad.removeprefix('config.')} is not a finite number within "
                          "±(2**63 - 1); give a finite value")
    for section in dataclasses.fields(cfg):
        value = getattr(cfg, section.name)
        fields = [(f"{section.name}.{spec.name}", spec, value)
                  for spec in dataclasses.fields(value)] if dataclasses.is_dataclass(value) \
            else [(section.name, section, cfg)]
        for key, spec, owner in fields:
            check = spec.metadata.get("check")
            problem = check(getattr(owner, spec.name)) if check else None
            if problem:
                raise ConfigError(f"{key}={getattr(owner, spec.name)!r} {problem}")
    return cfg


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ between two config mappings."""
    fa, fb = _flatten(a), _flatten(b)
    return sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))
