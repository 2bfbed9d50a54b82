"""Fetching a client's ``jwks_uri`` (private_key_jwt), cached briefly in the process."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from oxswarm.oauth.rfc6749.errors import InvalidClient

MAX_BYTES = 256 * 1024


class HttpJwksFetcher:
    """:class:`~oxswarm.oauth.interfaces.JwksFetcher` over :mod:`httpx` (no redirects)."""

    def __init__(self, ttl: float = 300.0, timeout: float = 3.0) -> None:
        self._ttl = ttl
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._cached: dict[str, tuple[float, Mapping[str, Any]]] = {}

    async def fetch(self, uri: str) -> Mapping[str, Any]:
        hit = self._cached.get(uri)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        try:
            resp = await self._client.get(uri, headers={"Accept": "application/json"})
            resp.raise_for_status()
            if len(resp.content) > MAX_BYTES:
                raise InvalidClient("client's jwks_uri document is too large")
            data = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise InvalidClient(f"client's jwks_uri cannot be fetched: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise InvalidClient("client's jwks_uri is not a JWK Set")
        self._cached[uri] = (time.monotonic() + self._ttl, data)
        return data

    async def close(self) -> None:
        await self._client.aclose()
