"""RFC 6750, Bearer Token Usage: finding the token and validating it.

Section 2.1 (``Authorization: Bearer``) and 2.2 (form body ``access_token``); a client
MUST NOT use more than one method (section 2). Query parameters (2.3) are not accepted.
Errors (section 3.1): no token -> 401 with a bare challenge; a bad token -> 401
``invalid_token``; a token without the needed scope -> 403 ``insufficient_scope``.
"""

from __future__ import annotations

import time

from oxswarm.oauth.interfaces import GrantStore, TokenStore
from oxswarm.oauth.models import AccessTokenRecord
from oxswarm.oauth.rfc6749.errors import InvalidRequest, InvalidToken, MissingToken
from oxswarm.oauth.rfc6749.requests import OAuthRequest


def bearer_token(request: OAuthRequest) -> str:
    """The token of the request; :class:`MissingToken` when none is present."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    from_header = value.strip() if scheme.lower() == "bearer" else ""
    from_form = request.form.get("access_token", "")
    if from_header and from_form:
        raise InvalidRequest("the access token was sent by more than one method")
    token = from_header or from_form
    if not token:
        raise MissingToken()
    return token


async def active_record(
    token: str, tokens: TokenStore, grants: GrantStore
) -> AccessTokenRecord | None:
    """The token's record when it is known, not expired and its grant not revoked."""
    record = await tokens.get(token)
    if record is None or record.expires_at <= time.time():
        return None
    if await grants.is_revoked(record.grant_id):
        return None
    return record


async def validate(token: str, tokens: TokenStore, grants: GrantStore) -> AccessTokenRecord:
    """The record of a usable token; :class:`InvalidToken` otherwise."""
    record = await active_record(token, tokens, grants)
    if record is None:
        raise InvalidToken("the access token is invalid, expired or revoked")
    return record
