"""One small registry abstraction, instantiated once per kind of component.

>>> from semjscc.registry import MODELS
>>> "yilmaz2023-deepjscc" in MODELS.names()  # doctest: +SKIP
True
"""

from __future__ import annotations

import fnmatch
import inspect
from typing import Any, Callable, Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> factory mapping with helpful errors.

    Args:
        kind: what the registry holds, used in error messages ("model", "dataset", ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``fn`` under ``name``."""

        def deco(fn: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = fn
            return fn

        return deco

    def get(self, name: str) -> Callable[..., T]:
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}"
            ) from None

    def build(self, name: str, **kwargs: Any) -> T:
        """Call the factory registered as ``name``; ``None`` kwargs mean "factory default"."""
        return self.get(name)(**{k: v for k, v in kwargs.items() if v is not None})

    def check_options(self, name: str, options: dict[str, Any], key: str,
                      positional: int = 0) -> None:
        """Raise a one-line ConfigError when ``options`` holds a keyword the factory ``name``
        does not take (its first ``positional`` parameters are not options); ``key`` is the
        config key for the message."""
        params = list(inspect.signature(self.get(name)).parameters)[positional:]
        unknown = sorted(set(options) - set(params))
        if unknown:
            raise ConfigError(f"{key}: {self.kind} {name!r} has no option "
                              f"{', '.join(unknown)}; its options are: "
                              f"{', '.join(params) or 'none'}")

    def names(self, pattern: str = "*") -> list[str]:
        return sorted(n for n in self._entries if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries


MODELS: Registry[Any] = Registry("model")
CHANNELS: Registry[Any] = Registry("channel")
LOSSES: Registry[Any] = Registry("loss term")
BACKBONES: Registry[Any] = Registry("backbone")
CLASSIFIERS: Registry[Any] = Registry("classifier")
EXPERIMENTS: Registry[Any] = Registry("experiment")
EXECUTORS: Registry[Any] = Registry("executor")
PEERS: Registry[Any] = Registry("benchmark peer")
DATASETS: Registry[Any] = Registry("dataset kind")
