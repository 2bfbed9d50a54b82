"""Fetching what clients publish: a ``jwks_uri`` (private_key_jwt), cached briefly in the
process, and a ``sector_identifier_uri`` (OIDC Registration 5), at registration.

Both go through :class:`~oxswarm.oxauth.adapters.outbound.Outbound` (resolved and
checked addresses, https, no redirects, 5 s, 256 KiB). The caller gets a generic error;
why the fetch failed (address, reason) is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from oxswarm.oauth import jsonbounds
from oxswarm.oauth.rfc6749.errors import InvalidClient, InvalidClientMetadata
from oxswarm.oxauth.adapters.outbound import MAX_BYTES, FetchError, Outbound

log = logging.getLogger(__name__)

__all__ = ["MAX_BYTES", "HttpJwksFetcher", "HttpSectorFetcher"]


class HttpJwksFetcher:
    """:class:`~oxswarm.oauth.interfaces.JwksFetcher` over :class:`Outbound`."""

    def __init__(self, outbound: Outbound | None = None, ttl: float = 300.0) -> None:
        self._ttl = ttl
        self._own = outbound is None
        self.outbound = outbound or Outbound()
        self._cached: dict[str, tuple[float, Mapping[str, Any]]] = {}

    async def fetch(self, uri: str) -> Mapping[str, Any]:
        hit = self._cached.get(uri)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        try:
            raw = await self.outbound.get_json_bytes(uri)
        except FetchError as exc:
            log.warning("jwks_uri fetch refused or failed: %s", exc)
            raise InvalidClient("client's jwks_uri could not be fetched") from None
        data = jsonbounds.loads(
            raw, "client's jwks_uri document", InvalidClient, max_bytes=MAX_BYTES
        )
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise InvalidClient("client's jwks_uri is not a JWK Set")
        self._cached[uri] = (time.monotonic() + self._ttl, data)
        return data

    async def close(self) -> None:
        if self._own:
            await self.outbound.close()


class HttpSectorFetcher:
    """:class:`~oxswarm.oauth.rfc7591.SectorFetcher` over :class:`Outbound`."""

    def __init__(self, outbound: Outbound | None = None) -> None:
        self._own = outbound is None
        self.outbound = outbound or Outbound()

    async def fetch(self, uri: str) -> Any:
        try:
            raw = await self.outbound.get_json_bytes(uri)
        except FetchError as exc:
            log.warning("sector_identifier_uri fetch refused or failed: %s", exc)
            raise InvalidClientMetadata("sector_identifier_uri could not be fetched") from None
        return jsonbounds.loads(
            raw, "the sector_identifier_uri document", InvalidClientMetadata, max_bytes=MAX_BYTES
        )

    async def close(self) -> None:
        if self._own:
            await self.outbound.close()
