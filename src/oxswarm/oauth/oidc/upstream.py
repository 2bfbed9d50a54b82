"""OxSwarm as the relying party of an upstream OpenID Provider (inbound federation).

OpenID Connect Core 1.0 section 3.1 from the client's side: the authorization request
(3.1.2.1) with ``state``, ``nonce`` and PKCE S256 (RFC 7636 4.1-4.2), and the ID token's
validation (3.1.3.7): ``iss`` exactly the provider's issuer, ``aud`` containing our
client id (and ``azp`` our client id when there are several audiences or ``azp`` is
present), the signature by a key of the provider's JWKS (``kid`` named; asymmetric
algorithms only, never ``none`` nor HMAC with a public key), ``exp`` in the future,
``iat`` recent, ``nonce`` the one we sent. Discovery documents (OpenID Connect
Discovery 1.0 section 4.3): ``issuer`` must equal the issuer they were fetched for.

No web framework and no store here: callers fetch, keep state and answer. Every refusal
is a :class:`FederationError` whose ``reason`` names the check that failed.
"""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
import time
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from oxswarm.oauth import jose
from oxswarm.oauth.compare import equal
from oxswarm.oauth.rfc6749.errors import InvalidRequest, OAuthError

ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                     "ES256", "ES384", "ES512", "EdDSA")
LEEWAY: Final = 60  # seconds of clock skew accepted on exp and iat
MAX_IAT_AGE: Final = 600  # an ID token issued longer ago than this is refused


class FederationError(Exception):
    """A refused upstream answer; ``code`` is shown on the error page, ``reason`` names
    the check (never a secret)."""

    def __init__(self, reason: str, code: str = "access_denied") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class UnknownKey(FederationError):
    """The ID token names a ``kid`` the JWKS lacks: refetch the JWKS once (rotation)."""


def random_value() -> str:
    return secrets.token_urlsafe(32)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_discovery(doc: Mapping[str, Any], issuer: str) -> dict[str, str]:
    """The endpoints of a discovery document fetched for ``issuer`` (Discovery 4.3)."""
    if doc.get("issuer") != issuer:
        raise FederationError(f"discovery: issuer is {doc.get('issuer')!r}, not {issuer!r}",
                              "temporarily_unavailable")
    out: dict[str, str] = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = doc.get(name)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise FederationError(f"discovery: {name} missing", "temporarily_unavailable")
        out[name] = value
    userinfo = doc.get("userinfo_endpoint")
    if isinstance(userinfo, str) and userinfo.startswith(("https://", "http://")):
        out["userinfo_endpoint"] = userinfo
    return out


def authorization_url(endpoint: str, *, client_id: str, redirect_uri: str,
                      scope: str, state: str, nonce: str, verifier: str) -> str:
    """The authorization request (Core 3.1.2.1) with PKCE S256 (RFC 7636 4.3)."""
    params = {
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "scope": scope, "state": state, "nonce": nonce,
        "code_challenge": s256(verifier), "code_challenge_method": "S256",
    }
    joiner = "&" if "?" in endpoint else "?"
    return f"{endpoint}{joiner}{urlencode(params)}"


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        return list(aud)
    raise FederationError("id_token: aud missing or malformed")


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FederationError(f"id_token: {name} missing or not a number")
    return float(value)


def _error(description: str) -> OAuthError:
    return InvalidRequest(description)


def validate_id_token(token: str, keys: KeySet, *, issuer: str, client_id: str,
                      nonce: str, now: float | None = None) -> dict[str, Any]:
    """The claims of ``token`` when every check of Core 3.1.3.7 passes; else
    :class:`FederationError` (:class:`UnknownKey` when its ``kid`` is not in ``keys``)."""
    try:
        header, _ = jose.parts(token, "id_token", _error)
    except OAuthError as exc:
        raise FederationError(str(exc.description)) from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise FederationError(f"id_token: alg {alg!r} is not accepted")
    kid = header.get("kid")
    candidates = [k for k in keys.keys if kid is None or k.kid == kid]
    if not candidates:
        raise UnknownKey(f"id_token: signed with a key the provider does not publish ({kid})")
    claims: dict[str, Any] | None = None
    for key in candidates:
        try:
            claims = dict(jwt.decode(token, key, algorithms=[str(alg)]).claims)
            break
        except (JoseError, ValueError, TypeError):
            continue
    if claims is None:
        raise FederationError("id_token: signature does not verify")
    at = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise FederationError(f"id_token: iss {claims.get('iss')!r} is not the provider")
    audiences = _audiences(claims)
    if client_id not in audiences:
        raise FederationError("id_token: aud is another client")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise FederationError("id_token: azp is not this client")
    if _number(claims, "exp") + LEEWAY <= at:
        raise FederationError("id_token: expired")
    iat = _number(claims, "iat")
    if iat > at + LEEWAY or iat < at - MAX_IAT_AGE:
        raise FederationError("id_token: iat is not recent")
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not equal(sent, nonce):
        raise FederationError("id_token: nonce does not match the request")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise FederationError("id_token: sub missing")
    return claims
