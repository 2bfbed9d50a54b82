"""RFC 6749 section 6, Refreshing an Access Token, with refresh token rotation.

Each use returns a new refresh token and invalidates the old one (RFC 9700 section
4.14.2). Presenting a rotated-away token again is treated as theft: the whole grant is
revoked (its access tokens fail introspection). Two concurrent uses of the same current
token are told apart by a single-use marker: the second one is a reuse. A narrower
``scope`` may be requested (section 6); a wider one is ``invalid_scope``.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from oxswarm.oauth.interfaces import ReplayGuard
from oxswarm.oauth.models import ClientMetadata, GrantRecord
from oxswarm.oauth.oidc.core.id_token import Authentication
from oxswarm.oauth.rfc6749.errors import InvalidGrant, InvalidRequest
from oxswarm.oauth.rfc6749.grants.base import resolve_scope
from oxswarm.oauth.rfc6749.requests import OAuthRequest
from oxswarm.oauth.tokens import TokenFactory, split_refresh_token, token_hash, token_response


class RefreshTokenGrant:
    grant_type: ClassVar[str] = "refresh_token"

    def __init__(self, factory: TokenFactory, replay: ReplayGuard) -> None:
        self._factory = factory
        self._replay = replay

    async def _revoke(self, grant: GrantRecord) -> None:
        await self._factory.grants.revoke(
            grant.grant_id, self._factory.config.access_token_lifetime
        )

    async def issue(self, request: OAuthRequest, client: ClientMetadata) -> dict[str, Any]:
        value = request.form.get("refresh_token")
        if not value:
            raise InvalidRequest("refresh_token is required")
        parts = split_refresh_token(value)
        grant = await self._factory.grants.get(parts[0]) if parts else None
        if grant is None or parts is None or grant.client_id != client.client_id:
            raise InvalidGrant("refresh token is invalid, expired or revoked")
        if grant.expires_at < time.time():
            raise InvalidGrant("refresh token is expired")
        presented = token_hash(parts[1])
        if presented in grant.previous_hashes:
            await self._revoke(grant)
            raise InvalidGrant("refresh token was already used; the grant is revoked")
        if presented != grant.refresh_hash:
            raise InvalidGrant("refresh token is invalid, expired or revoked")
        ttl = max(int(grant.expires_at - time.time()), 1)
        if not await self._replay.first_use(f"rt:{presented}", ttl):
            await self._revoke(grant)
            raise InvalidGrant("refresh token was already used; the grant is revoked")
        scope = resolve_scope(request.form.get("scope"), grant.scope, grant.scope)
        authn = None
        if grant.sub is not None:
            authn = Authentication(
                sub=grant.sub,
                auth_time=grant.auth_time,
                acr=grant.acr,
                amr=grant.amr,
                sid=grant.sid,
            )
        access, expires_in = await self._factory.access_token(
            client,
            grant_id=grant.grant_id,
            scope=scope,
            sub=grant.sub,
            authn=authn,
            claims=grant.claims,
        )
        refresh, _ = await self._factory.refresh_token(grant)
        id_token = None
        if "openid" in scope and authn is not None:
            id_token = await self._factory.id_token(
                client, authn, scope=scope, access_token=access, requested=grant.claims
            )
        return token_response(
            access, expires_in, scope, refresh_token=refresh, id_token=id_token
        )
