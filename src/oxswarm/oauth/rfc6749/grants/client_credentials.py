"""RFC 6749 section 4.4, Client Credentials Grant (confidential clients only, 4.4.2).

No refresh token (4.4.3) and no ID token: there is no end-user. ``openid`` and
``offline_access`` are not client scopes and are dropped from the default.
"""

from __future__ import annotations

from typing import Any, ClassVar

from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.rfc6749.errors import InvalidScope, UnauthorizedClient
from oxswarm.oauth.rfc6749.grants.base import resolve_scope
from oxswarm.oauth.rfc6749.requests import OAuthRequest
from oxswarm.oauth.tokens import TokenFactory, token_response

USER_SCOPES = frozenset({"openid", "offline_access"})


class ClientCredentialsGrant:
    grant_type: ClassVar[str] = "client_credentials"

    def __init__(self, factory: TokenFactory) -> None:
        self._factory = factory

    async def issue(self, request: OAuthRequest, client: ClientMetadata) -> dict[str, Any]:
        if client.is_public:
            raise UnauthorizedClient("public clients cannot use client_credentials")
        default = [s for s in client.scopes if s not in USER_SCOPES]
        scope = resolve_scope(request.form.get("scope"), client.scopes, default)
        if USER_SCOPES & set(scope):
            raise InvalidScope("openid and offline_access need an end-user")
        token, expires_in = await self._factory.access_token(
            client,
            grant_id=None,
            scope=scope,
            sub=None,
            audience=request.form.get("resource"),
        )
        return token_response(token, expires_in, scope)
