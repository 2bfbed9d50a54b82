"""Twemproxy's stats port: one JSON document written on connect, then the socket closes.

Used by health checks (is a shard ejected?) and by tests. Twemproxy ``README.md``,
"Observability": per pool ``client_err``, ``server_ejects``, and per server
``server_ejected_at`` (microseconds since the epoch, 0 when in service).
"""

from __future__ import annotations

import json
import socket
from typing import Any

from oxswarm.errors import CacheUnavailable

_MAX_STATS = 1 << 20


def read_stats(host: str, port: int, timeout: float = 1.0) -> dict[str, Any]:
    """The stats document; :class:`CacheUnavailable` when it cannot be read."""
    chunks: list[bytes] = []
    size = 0
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            while size < _MAX_STATS:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        doc = json.loads(b"".join(chunks))
    except (OSError, ValueError) as exc:
        raise CacheUnavailable(f"twemproxy stats at {host}:{port} unreadable: {exc}") from exc
    if not isinstance(doc, dict):
        raise CacheUnavailable(f"twemproxy stats at {host}:{port}: not a JSON object")
    return doc


def pool_stats(stats: dict[str, Any], pool: str) -> dict[str, Any]:
    """One pool's section of the stats document."""
    section = stats.get(pool)
    if not isinstance(section, dict):
        raise CacheUnavailable(f"twemproxy stats have no pool {pool!r}")
    return section


def ejected_shards(stats: dict[str, Any], pool: str) -> set[str]:
    """Names of the shards Twemproxy currently keeps out of ``pool``."""
    return {
        name
        for name, value in pool_stats(stats, pool).items()
        if isinstance(value, dict) and value.get("server_ejected_at", 0)
    }
