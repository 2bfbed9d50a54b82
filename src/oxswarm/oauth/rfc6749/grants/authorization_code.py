"""RFC 6749 section 4.1.3-4.1.4, Access Token Request with an authorization code.

* The code is single use (4.1.2): it is taken from the shared store atomically; a second
  redemption fails with ``invalid_grant`` and revokes every token issued from the first
  (4.1.2: "SHOULD revoke (when possible) all tokens previously issued based on that code").
* ``redirect_uri`` must be identical to the one of the authorization request (4.1.3).
* The code must have been issued to the authenticated client (4.1.3).
* PKCE (RFC 7636 4.6): the ``code_verifier`` is checked; public clients must have used it.
* With the ``openid`` scope an ID token is returned (OpenID Connect Core 3.1.3.3), with
  the ``nonce`` of the request and ``at_hash``. A refresh token is returned when the
  client may use the ``refresh_token`` grant.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from oxswarm.oauth import rfc7636
from oxswarm.oauth.interfaces import CodeStore
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.oidc.core.id_token import Authentication
from oxswarm.oauth.rfc6749.errors import InvalidGrant, InvalidRequest
from oxswarm.oauth.rfc6749.requests import OAuthRequest
from oxswarm.oauth.tokens import TokenFactory, token_response


class AuthorizationCodeGrant:
    grant_type: ClassVar[str] = "authorization_code"

    def __init__(self, factory: TokenFactory, codes: CodeStore) -> None:
        self._factory = factory
        self._codes = codes

    async def issue(self, request: OAuthRequest, client: ClientMetadata) -> dict[str, Any]:
        value = request.form.get("code")
        if not value:
            raise InvalidRequest("code is required")
        code = await self._codes.take(value)
        if code is None:
            grant_id = await self._codes.used_grant(value)
            if grant_id is not None:
                await self._factory.grants.revoke(
                    grant_id, self._factory.config.access_token_lifetime
                )
                raise InvalidGrant("authorization code was already used; its tokens are revoked")
            raise InvalidGrant("authorization code is invalid or expired")
        if code.client_id != client.client_id:
            raise InvalidGrant("authorization code was issued to another client")
        if code.expires_at < time.time():
            raise InvalidGrant("authorization code is expired")
        if request.form.get("redirect_uri") != code.redirect_uri:
            raise InvalidGrant("redirect_uri does not match the authorization request")
        if client.is_public and not code.code_challenge:
            raise InvalidGrant("public clients must use PKCE")
        rfc7636.verify(
            code.code_challenge, code.code_challenge_method, request.form.get("code_verifier")
        )
        authn = Authentication(
            sub=code.sub, auth_time=code.auth_time, acr=code.acr, amr=code.amr, sid=code.sid
        )
        access, expires_in = await self._factory.access_token(
            client,
            grant_id=code.grant_id,
            scope=code.scope,
            sub=code.sub,
            authn=authn,
            claims=code.claims,
            audience=request.form.get("resource"),
        )
        refresh = None
        if "refresh_token" in client.grant_types:
            grant = self._factory.new_grant(
                client, grant_id=code.grant_id, scope=code.scope, authn=authn, claims=code.claims
            )
            refresh, _ = await self._factory.refresh_token(grant)
        id_token = None
        if "openid" in code.scope:
            id_token = await self._factory.id_token(
                client,
                authn,
                scope=code.scope,
                nonce=code.nonce,
                access_token=access,
                requested=code.claims,
            )
        return token_response(
            access, expires_in, code.scope, refresh_token=refresh, id_token=id_token
        )
