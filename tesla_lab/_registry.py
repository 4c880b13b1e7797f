"""A name → factory registry whose failed look-up names the key and every valid choice."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from tesla_lab.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Map case-insensitive names to factories.

    >>> r = Registry[int]("activation")
    >>> r.register("one", lambda: 1)
    >>> r.get("ONE")()
    1
    >>> r.get("on")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown activation 'on' (did you mean 'one'?); choose one of: one
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Callable[..., T]] = {}

    @staticmethod
    def _key(name: str) -> str:
        return name.strip().lower().replace("-", "_")

    def register(self, name: str, factory: Callable[..., T], *aliases: str) -> None:
        for key in (name, *aliases):
            self._items[self._key(key)] = factory

    def get(self, name: str) -> Callable[..., T]:
        if not isinstance(name, str):
            raise ConfigError(f"{self.kind} must be given by name (a str); got {type(name).__name__} {name!r}")
        key = self._key(name)
        if key not in self._items:
            close = difflib.get_close_matches(key, self._items, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown {self.kind} {name!r}{hint}; choose one of: {', '.join(self.names())}")
        return self._items[key]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
