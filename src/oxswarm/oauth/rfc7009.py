"""RFC 7009, OAuth 2.0 Token Revocation.

Section 2.1: the client authenticates (public clients with their ``client_id``);
``token`` is required. Revoking a refresh token revokes its whole grant, access tokens
included (2.1, "SHOULD"); revoking an access token removes that token. Section 2.2: the
answer is 200 whether or not the token was known (and for a token of another client, which
is left alone: answering differently would tell one client about another's tokens).
"""

from __future__ import annotations

from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.rfc6749.errors import InvalidRequest
from oxswarm.oauth.rfc6749.requests import OAuthRequest
from oxswarm.oauth.tokens import TokenFactory, split_refresh_token, token_hash


class RevocationEndpoint:
    def __init__(self, factory: TokenFactory) -> None:
        self._factory = factory

    async def handle(self, request: OAuthRequest, client: ClientMetadata) -> None:
        token = request.form.get("token")
        if not token:
            raise InvalidRequest("token is required")
        if await self._revoke_refresh(token, client):
            return
        record = await self._factory.tokens.get(token)
        if record is not None and record.client_id == client.client_id:
            await self._factory.tokens.delete(token)

    async def _revoke_refresh(self, token: str, client: ClientMetadata) -> bool:
        parts = split_refresh_token(token)
        if parts is None:
            return False
        grant_id, secret = parts
        grant = await self._factory.grants.get(grant_id)
        if grant is None or grant.client_id != client.client_id:
            return False
        if token_hash(secret) not in (grant.refresh_hash, *grant.previous_hashes):
            return False
        await self._factory.grants.revoke(grant_id, self._factory.config.access_token_lifetime)
        return True
