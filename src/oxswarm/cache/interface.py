"""The interface services depend on (the OpenID Provider takes a ``KeyValueCache``).

:class:`oxswarm.cache.client.Cache` implements it over Twemproxy; tests of protocol code
may pass any object with these methods. Keys are ``(kind, ident)`` pairs; the namespace
is the implementation's concern. Every write carries a TTL in seconds.
"""

from __future__ import annotations

from typing import Any, Protocol


class KeyValueCache(Protocol):
    def get(self, kind: str, ident: str) -> bytes | None: ...

    def set(self, kind: str, ident: str, value: bytes | str, ttl: int) -> None: ...

    def add(self, kind: str, ident: str, value: bytes | str, ttl: int) -> bool:
        """Store only when absent (``SET NX EX``); True when stored."""
        ...

    def take(self, kind: str, ident: str) -> bytes | None:
        """Single-use read: the value for exactly one caller, ``None`` for all others."""
        ...

    def delete(self, kind: str, ident: str) -> bool: ...

    def incr_with_ttl(self, kind: str, ident: str, ttl: int) -> int:
        """Count up; the TTL starts at the first increment (a fixed window)."""
        ...

    def get_json(self, kind: str, ident: str) -> Any: ...

    def set_json(self, kind: str, ident: str, value: object, ttl: int) -> None: ...

    def add_json(self, kind: str, ident: str, value: object, ttl: int) -> bool: ...

    def take_json(self, kind: str, ident: str) -> Any: ...
