"""The ID token, OpenID Connect Core 1.0 section 2 (claims) and 3.1.3.6 / 3.3.2.11 (hashes).

``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``auth_time``, ``nonce``, ``acr``, ``amr``,
``sid`` (Front-/Back-Channel Logout 1.0), ``azp`` when there is more than one audience,
``at_hash`` with an access token, ``c_hash`` with a code, ``s_hash`` with a state
(Financial-grade API, section 5.1), signed with the client's
``id_token_signed_response_alg`` (default RS256).

:func:`hint_problem` tells whether a JWT this provider signed is one of its ID tokens, as
an ``id_token_hint`` must be (Core 3.1.2.1, RP-Initiated Logout 1.0 section 2): not a JWT
access token (RFC 9068, ``typ: at+jwt``, ``client_id``/``scope``), a Logout Token
(``logout+jwt``, ``events``) or a signed userinfo response (no ``exp``/``iat``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from oxswarm.oauth.interfaces import KeySet
from oxswarm.oauth.jose import half_hash, sign_with
from oxswarm.oauth.models import ClientMetadata


@dataclass(frozen=True, slots=True)
class Authentication:
    """How and when the end-user authenticated (from the session or the grant)."""

    sub: str
    auth_time: int | None = None
    acr: str | None = None
    amr: Sequence[str] = ()
    sid: str | None = None


def id_token_claims(
    *,
    issuer: str,
    client: ClientMetadata,
    subject: str,
    authn: Authentication,
    now: int,
    lifetime: int,
    nonce: str | None = None,
    access_token: str | None = None,
    code: str | None = None,
    state: str | None = None,
    user_claims: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload of an ID token for ``client`` (``subject`` already pairwise if needed)."""
    alg = client.id_token_signed_response_alg
    claims: dict[str, Any] = dict(user_claims or {})
    claims.update(
        iss=issuer, sub=subject, aud=client.client_id, exp=now + lifetime, iat=now
    )
    if authn.auth_time is not None:
        claims["auth_time"] = authn.auth_time
    if nonce:
        claims["nonce"] = nonce
    if authn.acr:
        claims["acr"] = authn.acr
    if authn.amr:
        claims["amr"] = list(authn.amr)
    if authn.sid:
        claims["sid"] = authn.sid
    if access_token:
        claims["at_hash"] = half_hash(access_token, alg)
    if code:
        claims["c_hash"] = half_hash(code, alg)
    if state:
        claims["s_hash"] = half_hash(state, alg)
    return claims


ID_TOKEN_TYPES = (None, "JWT")  # what this provider writes in an ID token's typ header
NOT_IN_ID_TOKENS = ("client_id", "scope", "events")


def hint_audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [str(a) for a in aud]
    return []


def hint_problem(
    header: Mapping[str, Any], claims: Mapping[str, Any], *, issuer: str, client_id: str | None
) -> str | None:
    """Why a verified JWT is not an ID token of ``issuer`` for ``client_id`` (None: it is).

    ``exp`` is not checked: an expired ID token is still a valid hint.
    """
    if header.get("typ") not in ID_TOKEN_TYPES:
        return f"typ {header.get('typ')!r} is not an ID token's"
    if claims.get("iss") != issuer:
        return "iss is not this provider"
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        return "sub is missing"
    if not all(isinstance(claims.get(n), int) for n in ("exp", "iat")):
        return "exp or iat is missing"
    extra = [n for n in NOT_IN_ID_TOKENS if n in claims]
    if extra:
        return f"{', '.join(extra)} belong to another kind of token"
    audiences = hint_audiences(claims)
    if not audiences:
        return "aud is missing"
    if client_id is not None and client_id not in audiences:
        return "the client is not an audience"
    return None


def sign_id_token(keys: KeySet, client: ClientMetadata, claims: Mapping[str, Any]) -> str:
    """Sign with the client's registered algorithm (``none`` is never used)."""
    return sign_with(keys, claims, client.id_token_signed_response_alg)
