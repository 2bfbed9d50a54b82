"""Fetching what clients publish: a ``jwks_uri`` (private_key_jwt), cached briefly in the
process, and a ``sector_identifier_uri`` (OIDC Registration 5), at registration."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import httpx

from oxswarm.oauth import jsonbounds
from oxswarm.oauth.rfc6749.errors import InvalidClient, InvalidClientMetadata

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
            data = jsonbounds.loads(
                resp.content, "client's jwks_uri document", InvalidClient, max_bytes=MAX_BYTES
            )
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise InvalidClient(f"client's jwks_uri cannot be fetched: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise InvalidClient("client's jwks_uri is not a JWK Set")
        self._cached[uri] = (time.monotonic() + self._ttl, data)
        return data

    async def close(self) -> None:
        await self._client.aclose()


class HttpSectorFetcher:
    """:class:`~oxswarm.oauth.rfc7591.SectorFetcher` over :mod:`httpx`: no redirects, a
    bounded time (``timeout`` for the whole exchange) and size (``MAX_BYTES``)."""

    def __init__(self, timeout: float = 5.0) -> None:
        self._timeout = timeout
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def _get(self, uri: str) -> bytes:
        async with self._client.stream("GET", uri, headers={"Accept": "application/json"}) as r:
            if r.status_code != 200:
                raise InvalidClientMetadata(f"sector_identifier_uri answered HTTP {r.status_code}")
            body = bytearray()
            async for chunk in r.aiter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise InvalidClientMetadata("sector_identifier_uri document is too large")
            return bytes(body)

    async def fetch(self, uri: str) -> Any:
        try:
            raw = await asyncio.wait_for(self._get(uri), self._timeout)
        except (httpx.HTTPError, httpx.InvalidURL, TimeoutError) as exc:
            raise InvalidClientMetadata(
                f"sector_identifier_uri cannot be fetched: {type(exc).__name__}"
            ) from exc
        return jsonbounds.loads(
            raw, "the sector_identifier_uri document", InvalidClientMetadata, max_bytes=MAX_BYTES
        )

    async def close(self) -> None:
        await self._client.aclose()
