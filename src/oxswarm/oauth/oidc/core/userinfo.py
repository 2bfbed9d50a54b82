"""The UserInfo endpoint, OpenID Connect Core 1.0 section 5.3.

5.3.1: the access token must carry the ``openid`` scope (else 403
``insufficient_scope``); 5.3.2: ``sub`` plus the claims of the token's scopes (5.4) and
of the ``claims`` request parameter's ``userinfo`` member (5.5); as a signed JWT with
``iss`` and ``aud`` when the client registered ``userinfo_signed_response_alg``.
"""

from __future__ import annotations

from typing import Any

from oxswarm.oauth.interfaces import UserStore
from oxswarm.oauth.models import AccessTokenRecord, ClientMetadata
from oxswarm.oauth.oidc.core import claims as oidc_claims
from oxswarm.oauth.rfc6749.errors import InsufficientScope, InvalidToken


async def userinfo_claims(
    record: AccessTokenRecord, client: ClientMetadata, users: UserStore, subject: str
) -> dict[str, Any]:
    """The claims to return for a valid access token."""
    if "openid" not in record.scope or record.sub is None:
        raise InsufficientScope("the access token does not have the openid scope")
    user = await users.get(record.sub)
    if user is None or not user.active:
        raise InvalidToken("the user of this access token no longer exists")
    names = oidc_claims.requested_names(record.scope, record.claims, "userinfo")
    body = oidc_claims.release(user.claims, names)
    body["sub"] = subject
    return body
