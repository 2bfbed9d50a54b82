"""RFC 7662, OAuth 2.0 Token Introspection.

Section 2.1: the caller is an authenticated client (a resource server registered as a
client); ``token`` is required, ``token_type_hint`` optional. Section 2.2: the response
is ``{"active": false}`` for any token that is unknown, expired, revoked or not
presentable, otherwise ``active`` plus ``scope``, ``client_id``, ``token_type``, ``exp``,
``iat``, ``sub``, ``aud``, ``iss``, ``jti``. Refresh tokens are introspected too.
"""

from __future__ import annotations

import time
from typing import Any

from oxswarm.oauth import rfc6750
from oxswarm.oauth.interfaces import ClientStore
from oxswarm.oauth.rfc6749.errors import InvalidRequest
from oxswarm.oauth.rfc6749.requests import OAuthRequest
from oxswarm.oauth.tokens import TokenFactory, split_refresh_token, token_hash

INACTIVE: dict[str, Any] = {"active": False}


class IntrospectionEndpoint:
    def __init__(self, factory: TokenFactory, clients: ClientStore) -> None:
        self._factory = factory
        self._clients = clients

    async def handle(self, request: OAuthRequest) -> dict[str, Any]:
        """The response body for an already authenticated caller."""
        token = request.form.get("token")
        if not token:
            raise InvalidRequest("token is required")
        hint = request.form.get("token_type_hint")
        order = [self._refresh, self._access]
        if hint != "refresh_token":
            order.reverse()
        for lookup in order:
            body = await lookup(token)
            if body is not None:
                return body
        return dict(INACTIVE)

    async def _access(self, token: str) -> dict[str, Any] | None:
        factory = self._factory
        record = await rfc6750.active_record(token, factory.tokens, factory.grants)
        if record is None:
            return None
        body: dict[str, Any] = {
            "active": True,
            "scope": " ".join(record.scope),
            "client_id": record.client_id,
            "token_type": "Bearer",
            "exp": record.expires_at,
            "iat": record.issued_at,
            "iss": factory.config.issuer,
            "aud": record.client_id,
            "jti": record.jti,
        }
        client = await self._clients.get(record.client_id)
        if record.sub is not None and client is not None:
            body["sub"] = factory.subject(client, record.sub)
            user = await factory.users.get(record.sub)
            if user is not None:
                body["username"] = user.username
        if record.auth_time is not None:
            body["auth_time"] = record.auth_time
        return body

    async def _refresh(self, token: str) -> dict[str, Any] | None:
        parts = split_refresh_token(token)
        if parts is None:
            return None
        grant_id, secret = parts
        grant = await self._factory.grants.get(grant_id)
        if grant is None or grant.expires_at <= time.time():
            return None
        if grant.refresh_hash != token_hash(secret):
            return None
        body: dict[str, Any] = {
            "active": True,
            "scope": " ".join(grant.scope),
            "client_id": grant.client_id,
            "token_type": "refresh_token",
            "exp": grant.expires_at,
            "iat": grant.created_at,
            "iss": self._factory.config.issuer,
        }
        client = await self._clients.get(grant.client_id)
        if grant.sub is not None and client is not None:
            body["sub"] = self._factory.subject(client, grant.sub)
        return body
