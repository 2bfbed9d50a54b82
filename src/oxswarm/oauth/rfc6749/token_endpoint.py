"""RFC 6749 section 3.2, the token endpoint: authenticate the client, dispatch by grant.

Grant types are registered (:meth:`TokenEndpoint.register_grant`), not chained. Errors
(section 5.2): a missing ``grant_type`` is ``invalid_request``, an unknown one
``unsupported_grant_type``, one the client did not register ``unauthorized_client``.
"""

from __future__ import annotations

from typing import Any

from oxswarm.oauth.rfc6749.client_auth import ClientAuthenticator
from oxswarm.oauth.rfc6749.errors import (
    InvalidRequest,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from oxswarm.oauth.rfc6749.grants.base import Grant
from oxswarm.oauth.rfc6749.requests import OAuthRequest


class TokenEndpoint:
    """Dispatches token requests to the registered grants."""

    def __init__(self, authenticator: ClientAuthenticator) -> None:
        self.authenticator = authenticator
        self._grants: dict[str, Grant] = {}

    def register_grant(self, grant: Grant) -> None:
        self._grants[grant.grant_type] = grant

    @property
    def grant_types(self) -> list[str]:
        return list(self._grants)

    async def handle(self, request: OAuthRequest) -> dict[str, Any]:
        """The success body; raises an ``OAuthError`` for every failure."""
        if request.method != "POST":
            raise InvalidRequest("the token endpoint accepts POST only")
        grant_type = request.form.get("grant_type")
        if not grant_type:
            raise InvalidRequest("grant_type is required")
        grant = self._grants.get(grant_type)
        if grant is None:
            raise UnsupportedGrantType(f"grant_type {grant_type!r} is not supported")
        client = await self.authenticator.authenticate(request)
        if grant_type not in client.grant_types:
            raise UnauthorizedClient(f"client may not use the {grant_type} grant")
        return await grant.issue(request, client)
