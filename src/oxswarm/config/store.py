"""The small interface every key-value config store adapter implements.

Keys are plain strings (``/oxswarm/<cluster>/config/hostname``); values are bytes.
Adapters translate their library's errors into :mod:`oxswarm.errors`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class WatchEvent:
    """One change seen by a watch: ``value`` is ``None`` for a deletion."""

    key: str
    value: bytes | None
    revision: int


class KVStore(Protocol):
    """What config-init, the services and the registrator need from the store."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes, lease: int | None = None) -> None: ...

    def put_if_absent(self, key: str, value: bytes, lease: int | None = None) -> bool:
        """Store only when the key does not exist; True when stored."""
        ...

    def get_revision(self, key: str) -> tuple[bytes | None, int]:
        """The value and the revision of its last change (0 when absent)."""
        ...

    def put_if_revision(
        self, key: str, value: bytes, revision: int,
        also: Mapping[str, bytes | None] | None = None,
    ) -> bool:  # fmt: skip
        """Compare-and-swap: write ``value`` (and put or, with None, delete the keys of
        ``also``) in one transaction only while ``key`` is still at ``revision``."""
        ...

    def delete(self, key: str) -> bool: ...

    def get_prefix(self, prefix: str) -> dict[str, bytes]: ...

    def delete_prefix(self, prefix: str) -> int: ...

    def grant_lease(self, ttl: int) -> int: ...

    def keepalive(self, lease: int) -> int:
        """Refresh a lease; returns the remaining TTL (0 when it had expired)."""
        ...

    def revoke_lease(self, lease: int) -> None: ...

    def watch_prefix(
        self, prefix: str, start_revision: int | None = None, timeout: float | None = None
    ) -> Iterator[WatchEvent]:
        """Yield changes under ``prefix`` until ``timeout`` seconds pass (forever if None)."""
        ...

    def close(self) -> None: ...
