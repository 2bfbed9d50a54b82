"""RFC 9068, JWT Profile for OAuth 2.0 Access Tokens.

Section 2.1: header ``typ`` is ``at+jwt``; section 2.2: claims ``iss``, ``exp``, ``aud``,
``sub``, ``client_id``, ``iat``, ``jti``, plus ``scope`` (2.2.3) and the authentication
claims ``auth_time``, ``acr``, ``amr`` (2.2.1). ``sub`` is the client id when no end-user
is involved (client credentials, section 2.2). ``aud`` is the requested resource
(RFC 8707) or, without one, the client itself. The private claim ``gid`` names the grant,
so that revoking the grant revokes the token at introspection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oxswarm.oauth.oidc.core.id_token import Authentication

TYP = "at+jwt"


def access_token_claims(
    *,
    issuer: str,
    client_id: str,
    subject: str | None,
    scope: Sequence[str],
    now: int,
    lifetime: int,
    jti: str,
    grant_id: str,
    authn: Authentication | None = None,
    audience: str | None = None,
) -> dict[str, Any]:
    """The payload of a JWT access token."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "exp": now + lifetime,
        "aud": audience or client_id,
        "sub": subject or client_id,
        "client_id": client_id,
        "iat": now,
        "jti": jti,
        "scope": " ".join(scope),
        "gid": grant_id,
    }
    if authn is not None:
        if authn.auth_time is not None:
            claims["auth_time"] = authn.auth_time
        if authn.acr:
            claims["acr"] = authn.acr
        if authn.amr:
            claims["amr"] = list(authn.amr)
        if authn.sid:
            claims["sid"] = authn.sid
    return claims
