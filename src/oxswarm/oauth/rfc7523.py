"""JWT client assertions: ``client_secret_jwt`` and ``private_key_jwt``.

RFC 7523 section 2.2 and 3, as profiled by OpenID Connect Core 1.0 section 9: the
assertion's ``iss`` and ``sub`` are the client id, ``aud`` the token endpoint URL (the
issuer is accepted too), ``exp`` is required, ``jti`` is required and single use
(replays are refused through a :class:`~oxswarm.oauth.interfaces.ReplayGuard`).
``client_secret_jwt`` is HMAC-signed with the client secret (HS256/384/512);
``private_key_jwt`` is signed by a key in the client's ``jwks`` or ``jwks_uri``.
"""

from __future__ import annotations

import math
import time
from typing import Any, TypeGuard

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey

from oxswarm.oauth import client_metadata, jose
from oxswarm.oauth.interfaces import JwksFetcher, ReplayGuard
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.rfc6749.client_auth import JWT_BEARER_ASSERTION
from oxswarm.oauth.rfc6749.errors import InvalidClient
from oxswarm.oauth.rfc6749.requests import OAuthRequest

HMAC_ALGS = list(client_metadata.HMAC_ALGS)
ASYMMETRIC_ALGS = list(client_metadata.ASYMMETRIC_ALGS)
CLOCK_SKEW = 60
MAX_LIFETIME = 3600
MAX_JTI = 256


def unverified_claims(assertion: str) -> dict[str, Any]:
    """The payload of a compact JWS, not yet verified (to find out which client sent it);
    its size, shape and nesting are checked (:func:`oxswarm.oauth.jose.parts`)."""
    return jose.parts(assertion, "client_assertion", InvalidClient)[1]


class ClientAssertion:
    """The two JWT-based authentication methods, registered as one."""

    names: tuple[str, ...] = ("client_secret_jwt", "private_key_jwt")

    def __init__(self, issuer: str, replay: ReplayGuard, fetcher: JwksFetcher | None) -> None:
        self._issuer = issuer.rstrip("/")
        self._replay = replay
        self._fetcher = fetcher

    def client_id(self, request: OAuthRequest) -> str | None:
        if "client_assertion" not in request.form:
            return None
        if request.form.get("client_assertion_type") != JWT_BEARER_ASSERTION:
            raise InvalidClient("client_assertion_type must be " + JWT_BEARER_ASSERTION)
        claims = unverified_claims(request.form["client_assertion"])
        sub = claims.get("sub")
        return sub if isinstance(sub, str) else ""

    async def _key(self, client: ClientMetadata) -> tuple[Any, list[str]]:
        method = client.token_endpoint_auth_method
        if method == "client_secret_jwt":
            if not client.client_secret:
                raise InvalidClient("client has no secret")
            key = OctKey.import_key(client.client_secret)
            return key, HMAC_ALGS
        jwks: Any = client.jwks
        if jwks is None and client.jwks_uri and self._fetcher is not None:
            jwks = await self._fetcher.fetch(client.jwks_uri)
        if not jwks:
            raise InvalidClient("client has no registered keys (jwks or jwks_uri)")
        try:
            return KeySet.import_key_set(jwks), ASYMMETRIC_ALGS
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise InvalidClient("client's registered keys cannot be read") from exc

    async def verify(self, request: OAuthRequest, client: ClientMetadata) -> None:
        jose.parts(request.form["client_assertion"], "client_assertion", InvalidClient)
        key, algs = await self._key(client)
        if client.token_endpoint_auth_signing_alg:
            algs = [a for a in algs if a == client.token_endpoint_auth_signing_alg]
        try:
            token = jwt.decode(request.form["client_assertion"], key, algorithms=algs)
        except (JoseError, ValueError) as exc:
            raise InvalidClient(f"client_assertion signature is not valid: {exc}") from exc
        claims = token.claims
        self._check_claims(claims, client.client_id, request.url)
        jti = claims["jti"]
        ttl = max(int(claims["exp"]) - int(time.time()) + CLOCK_SKEW, 1)
        if not await self._replay.first_use(f"jti:{client.client_id}:{jti}", ttl):
            raise InvalidClient("client_assertion was already used (jti replay)")

    def _check_claims(self, claims: dict[str, Any], client_id: str, endpoint: str) -> None:
        now = time.time()
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise InvalidClient("client_assertion iss and sub must be the client_id")
        aud = claims.get("aud")
        audiences = {a for a in (aud if isinstance(aud, list) else [aud]) if isinstance(a, str)}
        if not {endpoint, self._issuer, self._issuer + "/"} & audiences:
            raise InvalidClient("client_assertion aud must be the token endpoint URL")
        exp = claims.get("exp")
        if not _number(exp) or exp + CLOCK_SKEW < now:
            raise InvalidClient("client_assertion is expired or has no exp")
        if exp > now + MAX_LIFETIME + CLOCK_SKEW:
            raise InvalidClient("client_assertion exp is too far in the future")
        nbf = claims.get("nbf")
        if _number(nbf) and nbf > now + CLOCK_SKEW:
            raise InvalidClient("client_assertion is not valid yet (nbf)")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI:
            raise InvalidClient(f"client_assertion jti must be 1 to {MAX_JTI} characters")


def _number(value: Any) -> TypeGuard[float]:
    """A JSON number that is a finite time (not a bool, NaN or infinity)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
