"""RFC 7662, OAuth 2.0 Token Introspection.

Section 2.1: the caller is an authenticated client; ``token`` is required,
``token_type_hint`` optional. Section 2.2: the response is ``{"active": false}`` for any
token that is unknown, expired, revoked or not presentable, otherwise ``active`` plus
``scope``, ``client_id``, ``token_type``, ``exp``, ``iat``, ``sub``, ``aud``, ``iss``,
``jti``. Refresh tokens are introspected too.

Who may learn what (section 4, privacy: "the authorization server MAY respond differently
to different protected resources making the same request"):

* a client an administrator marked ``resource_server``, or the client the token was
  issued to, gets the token's data; any other authenticated client gets
  ``{"active": false}``, exactly as for an unknown token (section 2.2 allows it: the
  token is not active *for that caller*), so a client cannot probe other clients' tokens;
* ``username`` only for a resource server, and only when the token's client sees the
  public subject: for a pairwise client the directory's user name would link the
  pairwise ``sub`` to the person (OIDC Core 8.1).
"""

from __future__ import annotations

import time
from typing import Any

from oxswarm.oauth import rfc6750
from oxswarm.oauth.interfaces import ClientStore
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.rfc6749.errors import InvalidRequest
from oxswarm.oauth.rfc6749.requests import OAuthRequest
from oxswarm.oauth.tokens import TokenFactory, split_refresh_token, token_hash

INACTIVE: dict[str, Any] = {"active": False}


def may_see(caller: ClientMetadata, token_client_id: str) -> bool:
    """Whether ``caller`` may learn about a token issued to ``token_client_id``."""
    return caller.resource_server or caller.client_id == token_client_id


class IntrospectionEndpoint:
    def __init__(self, factory: TokenFactory, clients: ClientStore) -> None:
        self._factory = factory
        self._clients = clients

    async def handle(self, request: OAuthRequest, caller: ClientMetadata) -> dict[str, Any]:
        """The response body for ``caller``, an already authenticated client."""
        token = request.form.get("token")
        if not token:
            raise InvalidRequest("token is required")
        hint = request.form.get("token_type_hint")
        order = [self._refresh, self._access]
        if hint != "refresh_token":
            order.reverse()
        for lookup in order:
            body = await lookup(token, caller)
            if body is not None:
                return body
        return dict(INACTIVE)

    async def _subject(
        self, body: dict[str, Any], caller: ClientMetadata, client_id: str, sub: str | None
    ) -> None:
        """``sub`` as the token's client sees it; ``username`` per the rule above."""
        client = await self._clients.get(client_id)
        if sub is None or client is None:
            return
        body["sub"] = self._factory.subject(client, sub)
        if caller.resource_server and client.subject_type == "public":
            user = await self._factory.users.get(sub)
            if user is not None:
                body["username"] = user.username

    async def _access(self, token: str, caller: ClientMetadata) -> dict[str, Any] | None:
        factory = self._factory
        record = await rfc6750.active_record(token, factory.tokens, factory.grants)
        if record is None:
            return None
        if not may_see(caller, record.client_id):
            return dict(INACTIVE)
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
        await self._subject(body, caller, record.client_id, record.sub)
        if record.auth_time is not None:
            body["auth_time"] = record.auth_time
        return body

    async def _refresh(self, token: str, caller: ClientMetadata) -> dict[str, Any] | None:
        parts = split_refresh_token(token)
        if parts is None:
            return None
        grant_id, secret = parts
        grant = await self._factory.grants.get(grant_id)
        if grant is None or grant.expires_at <= time.time():
            return None
        if grant.refresh_hash != token_hash(secret):
            return None
        if not may_see(caller, grant.client_id):
            return dict(INACTIVE)
        body: dict[str, Any] = {
            "active": True,
            "scope": " ".join(grant.scope),
            "client_id": grant.client_id,
            "token_type": "refresh_token",
            "exp": grant.expires_at,
            "iat": grant.created_at,
            "iss": self._factory.config.issuer,
        }
        await self._subject(body, caller, grant.client_id, grant.sub)
        return body
