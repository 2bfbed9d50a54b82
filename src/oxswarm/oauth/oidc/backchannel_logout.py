"""OpenID Connect Back-Channel Logout 1.0, section 2.4 (the Logout Token) and 2.5 (the OP
POSTs it as ``logout_token`` in a form to the RP's ``backchannel_logout_uri``).

The Logout Token is a JWT signed like an ID token, with ``iss``, ``aud``, ``iat``,
``exp``, ``jti``, ``events`` holding the back-channel logout event, and ``sub`` and/or
``sid``; it MUST NOT contain ``nonce``. Its ``typ`` header is ``logout+jwt`` (section 2.4,
as recommended).
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from oxswarm.oauth.models import ClientMetadata

EVENT: Final = "http://schemas.openid.net/event/backchannel-logout"
TYP: Final = "logout+jwt"
LIFETIME: Final = 120


def logout_token_claims(
    client: ClientMetadata,
    *,
    issuer: str,
    sub: str | None,
    sid: str | None,
    now: int,
    lifetime: int = LIFETIME,
) -> dict[str, Any]:
    """The claims of the Logout Token for ``client`` (section 2.4)."""
    if sub is None and sid is None:
        raise ValueError("a logout token needs sub or sid")
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
        "events": {EVENT: {}},
    }
    if sub is not None:
        claims["sub"] = sub
    if sid is not None and (client.backchannel_logout_session_required or sub is None):
        claims["sid"] = sid
    return claims
