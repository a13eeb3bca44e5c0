"""Names bound at import time whose module loads on first use.

Why: every process that touches Reverie pays for what its modules import at the top. The Dagster code
location, the CLI and each spawned mission worker import the asset and engine modules, but most runs use
only a few of the heavy libraries behind them (scipy 5 s, anthropic 3 s, gymnasium 1 s, Great Expectations
2 s where nothing is byte-compiled). A deferred name keeps the call sites unchanged (`fisher_exact(...)`,
`dream(...)`) while the import happens on the first call, once, in the process that needs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any


class Deferred:
    """A stand-in for `module.name` that imports the module on first call and then forwards to it."""

    __slots__ = ("_module", "_name", "_target")

    def __init__(self, module: str, name: str) -> None:
        self._module = module
        self._name = name
        self._target: Callable[..., Any] | None = None

    def resolve(self) -> Callable[..., Any]:
        """The real object (imports its module the first time)."""
        if self._target is None:
            self._target = getattr(importlib.import_module(self._module), self._name)
        return self._target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __getattr__(self, attribute: str) -> Any:  # e.g. a class's classmethods or constants
        return getattr(self.resolve(), attribute)

    def __repr__(self) -> str:
        return f"<deferred {self._module}.{self._name}>"


def deferred(module: str, name: str) -> Any:
    """`name` from `module`, imported on first use. Typed `Any` so call sites keep their checks at runtime."""
    return Deferred(module, name)


class DeferredModule:
    """A stand-in for a module that imports it on first attribute access (`anthropic.Anthropic(...)`)."""

    __slots__ = ("_name", "_module")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: Any = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)

    def __repr__(self) -> str:
        return f"<deferred module {self._name}>"


def deferred_module(name: str) -> Any:
    """Module `name`, imported when an attribute of it is first read."""
    return DeferredModule(name)


class DeferredMapping(Mapping[str, Any]):
    """A module-level dict whose keys are known up front and whose values load on first lookup.

    For registries such as the lake's table schemas: listing the tables (to create views) must not pay for
    building every pyarrow schema."""

    def __init__(self, module: str, name: str, keys: tuple[str, ...]) -> None:
        self._source = Deferred(module, name)
        self._keys = keys

    def __getitem__(self, key: str) -> Any:
        return self._source.resolve()[key]  # type: ignore[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def deferred_mapping(module: str, name: str, keys: tuple[str, ...]) -> Any:
    """`name` (a mapping) from `module`, with `keys` known before it is imported."""
    return DeferredMapping(module, name, keys)
