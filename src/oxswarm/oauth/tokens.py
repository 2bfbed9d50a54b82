"""Minting the tokens of a response: access token, refresh token, ID token.

Access tokens (RFC 6749 section 1.4, RFC 6750) are opaque random strings by default
(256 bits from :mod:`secrets`), or JWTs (RFC 9068) when the client registered
``access_token_format=jwt``. Either way a record is kept in the token store, so that
introspection, userinfo and revocation treat both alike. Refresh tokens (section 1.5)
are ``<grant_id>.<secret>``; the grant keeps only the secret's SHA-256. A presented refresh
token is split by :func:`split_refresh_token`, which accepts only the shape minted here
(base64url parts of bounded length): a malformed one is simply not a token, and its id
never reaches the directory or the cache.
The response follows section 5.1 (``Cache-Control: no-store`` is added by the view).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from oxswarm.errors import CacheUnavailable
from oxswarm.oauth import rfc9068
from oxswarm.oauth.config import ProviderConfig
from oxswarm.oauth.interfaces import GrantStore, KeySet, TokenStore, UserStore
from oxswarm.oauth.jose import sign_with
from oxswarm.oauth.models import AccessTokenRecord, ClientMetadata, GrantRecord
from oxswarm.oauth.oidc.core import claims as oidc_claims
from oxswarm.oauth.oidc.core.id_token import Authentication, id_token_claims, sign_id_token
from oxswarm.oauth.oidc.core.pairwise import subject_for

MAX_PREVIOUS_REFRESH = 16
GRANT_ID: Final = re.compile(r"[A-Za-z0-9_\-]{1,64}")  # minted: new_id(16), 22 characters
_SECRET: Final = re.compile(r"[A-Za-z0-9_\-]{16,128}")
SAVE_ATTEMPTS = 3  # a new token's key lands on another cache shard


def new_id(nbytes: int = 32) -> str:
    """A random URL-safe identifier (code, token, grant id)."""
    return secrets.token_urlsafe(nbytes)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def valid_grant_id(grant_id: str) -> bool:
    """A grant id of the shape this module makes (base64url, at most 64 characters)."""
    return GRANT_ID.fullmatch(grant_id) is not None


def split_refresh_token(value: str | None) -> tuple[str, str] | None:
    """(grant_id, secret) of a well-formed refresh token, else None."""
    grant_id, _, secret = (value or "").partition(".")
    if not valid_grant_id(grant_id) or not _SECRET.fullmatch(secret):
        return None
    return grant_id, secret


def token_hash(value: str) -> str:
    """The SHA-256 hex digest under which a token or secret is stored."""
    return hashlib.sha256(value.encode()).hexdigest()


class TokenFactory:
    """Creates and records tokens; shared by every grant and the authorize endpoint."""

    def __init__(
        self,
        config: ProviderConfig,
        tokens: TokenStore,
        grants: GrantStore,
        keys: KeySet,
        users: UserStore,
    ) -> None:
        self.config = config
        self.tokens = tokens
        self.grants = grants
        self.keys = keys
        self.users = users

    def subject(self, client: ClientMetadata, local_id: str) -> str:
        """The ``sub`` ``client`` sees (public or pairwise, OIDC Core 8)."""
        return subject_for(client, local_id, self.config.pairwise_key, self.config.pairwise_salt)

    async def access_token(
        self,
        client: ClientMetadata,
        *,
        grant_id: str | None,
        scope: Sequence[str],
        sub: str | None,
        authn: Authentication | None = None,
        claims: Mapping[str, Any] | None = None,
        audience: str | None = None,
    ) -> tuple[str, int]:
        """(token, expires_in); ``sub`` is the user's local id (None: no user).

        ``grant_id`` None: a grant of its own (client credentials). One draw from the
        OS's random source gives the token (256 bits), its ``jti`` and grant id.

        A token the cache cannot store is never handed out; it is drawn again (at most
        ``SAVE_ATTEMPTS`` times): its key then lands on another cache shard, so one shard
        being replaced or down does not fail the request.
        """
        attempt = 1
        while True:
            token, lifetime, record = self._mint(client, grant_id=grant_id, scope=scope,
                                                 sub=sub, authn=authn, claims=claims,
                                                 audience=audience)  # fmt: skip
            try:
                await self.tokens.save(token, record)
            except CacheUnavailable:
                if attempt >= SAVE_ATTEMPTS:
                    raise
                attempt += 1
                continue
            return token, lifetime

    def _mint(
        self,
        client: ClientMetadata,
        *,
        grant_id: str | None,
        scope: Sequence[str],
        sub: str | None,
        authn: Authentication | None,
        claims: Mapping[str, Any] | None,
        audience: str | None,
    ) -> tuple[str, int, AccessTokenRecord]:
        """A new access token and the record that describes it (not stored yet)."""
        now = int(time.time())
        lifetime = client.access_token_lifetime or self.config.access_token_lifetime
        raw = secrets.token_bytes(64)
        jti = _b64(raw[32:48])
        grant_id = grant_id or _b64(raw[48:])
        if client.access_token_format == "jwt":
            payload = rfc9068.access_token_claims(
                issuer=self.config.issuer,
                client_id=client.client_id,
                subject=self.subject(client, sub) if sub else None,
                scope=scope,
                now=now,
                lifetime=lifetime,
                jti=jti,
                grant_id=grant_id,
                authn=authn,
                audience=audience,
            )
            token = sign_with(self.keys, payload, self.config.default_signing_alg, rfc9068.TYP)
        else:
            token = _b64(raw[:32])
        record = AccessTokenRecord(
            client_id=client.client_id,
            scope=tuple(scope),
            issued_at=now,
            expires_at=now + lifetime,
            grant_id=grant_id,
            sub=sub,
            jti=jti,
            token_format=client.access_token_format,
            auth_time=authn.auth_time if authn else None,
            acr=authn.acr if authn else None,
            sid=authn.sid if authn else None,
            claims=dict(claims) if claims else None,
        )
        return token, lifetime, record

    def new_grant(
        self,
        client: ClientMetadata,
        *,
        grant_id: str,
        scope: Sequence[str],
        authn: Authentication | None,
        claims: Mapping[str, Any] | None = None,
    ) -> GrantRecord:
        now = int(time.time())
        return GrantRecord(
            grant_id=grant_id,
            client_id=client.client_id,
            sub=authn.sub if authn else None,
            scope=tuple(scope),
            created_at=now,
            expires_at=now + self.config.refresh_token_lifetime,
            auth_time=authn.auth_time if authn else None,
            acr=authn.acr if authn else None,
            amr=tuple(authn.amr) if authn else (),
            sid=authn.sid if authn else None,
            claims=dict(claims) if claims else None,
        )

    async def refresh_token(self, grant: GrantRecord) -> tuple[str, GrantRecord]:
        """A new refresh token for ``grant``, the grant rotated and saved."""
        secret = new_id(32)
        previous = grant.previous_hashes
        if grant.refresh_hash:
            previous = (*previous, grant.refresh_hash)[-MAX_PREVIOUS_REFRESH:]
        rotated = GrantRecord.from_dict(
            {**grant.to_dict(), "refresh_hash": token_hash(secret), "previous_hashes": previous}
        )
        await self.grants.put(rotated)
        return f"{grant.grant_id}.{secret}", rotated

    async def id_token(
        self,
        client: ClientMetadata,
        authn: Authentication,
        *,
        scope: Sequence[str],
        nonce: str | None = None,
        access_token: str | None = None,
        code: str | None = None,
        state: str | None = None,
        requested: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed ID token; scope claims go in it only when no access token is issued."""
        names = oidc_claims.requested_names(
            scope, requested, "id_token", include_scope_claims=access_token is None
        )
        released: dict[str, Any] = {}
        if names:
            user = await self.users.get(authn.sub)
            if user is not None:
                released = oidc_claims.release(user.claims, names)
        payload = id_token_claims(
            issuer=self.config.issuer,
            client=client,
            subject=self.subject(client, authn.sub),
            authn=authn,
            now=int(time.time()),
            lifetime=self.config.id_token_lifetime,
            nonce=nonce,
            access_token=access_token,
            code=code,
            state=state,
            user_claims=released,
        )
        return sign_id_token(self.keys, client, payload)


def token_response(
    access_token: str,
    expires_in: int,
    scope: Sequence[str],
    *,
    refresh_token: str | None = None,
    id_token: str | None = None,
) -> dict[str, Any]:
    """RFC 6749 5.1 successful response body."""
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
    }
    if scope:
        body["scope"] = " ".join(scope)
    if refresh_token:
        body["refresh_token"] = refresh_token
    if id_token:
        body["id_token"] = id_token
    return body
