"""RFC 6749 section 4.3, Resource Owner Password Credentials Grant.

Off by default: only clients registered with ``allow_password_grant`` and the
``password`` grant type may use it (RFC 9700 section 2.4 says it MUST NOT be used
otherwise). A wrong username or password is ``invalid_grant`` (section 5.2), without
saying which was wrong.

Failures count towards the same lockout as the sign-in form (a :class:`SignInGuard`: per
user, slowed down per client address, in the shared cache): while the user is locked out
the grant answers ``invalid_grant`` without checking the password (RFC 6749 section
10.10 asks the server to protect this grant against brute force).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Protocol

from oxswarm.oauth.models import ClientMetadata, User
from oxswarm.oauth.oidc.core import acr
from oxswarm.oauth.oidc.core.id_token import Authentication
from oxswarm.oauth.rfc6749.errors import InvalidGrant, InvalidRequest, UnauthorizedClient
from oxswarm.oauth.rfc6749.grants.base import resolve_scope
from oxswarm.oauth.rfc6749.requests import OAuthRequest
from oxswarm.oauth.tokens import TokenFactory, new_id, token_response


class SignInLocked(Exception):
    """The user is over its limit of failed sign-ins (its password was not checked)."""


class SignInGuard(Protocol):
    """A password check under the lockout (:class:`oxswarm.oxauth.web.lockout.Lockout`)."""

    async def authenticate(self, username: str, password: str, address: str) -> User | None:
        """The user when the password is right, None when wrong; raises
        :class:`SignInLocked` when locked out."""
        ...


class PasswordGrant:
    grant_type: ClassVar[str] = "password"

    def __init__(self, factory: TokenFactory, guard: SignInGuard | None = None) -> None:
        self._factory = factory
        self._guard = guard

    async def issue(self, request: OAuthRequest, client: ClientMetadata) -> dict[str, Any]:
        if not client.allow_password_grant:
            raise UnauthorizedClient("the password grant is not enabled for this client")
        username = request.form.get("username")
        password = request.form.get("password")
        if not username or not password:
            raise InvalidRequest("username and password are required")
        scope = resolve_scope(request.form.get("scope"), client.scopes, client.scopes)
        address = request.client_address or "unknown"
        if self._guard is None:
            user = await self._factory.users.authenticate(username, password)
        else:
            try:
                user = await self._guard.authenticate(username, password, address)
            except SignInLocked:
                raise InvalidGrant(
                    "too many failed sign-in attempts: wait, then try again"
                ) from None
        if user is None or not user.active:
            raise InvalidGrant("invalid username or password")
        authn = Authentication(
            sub=user.sub, auth_time=int(time.time()), acr=acr.PASSWORD, amr=acr.PASSWORD_AMR
        )
        grant_id = new_id(16)
        access, expires_in = await self._factory.access_token(
            client, grant_id=grant_id, scope=scope, sub=user.sub, authn=authn
        )
        refresh = None
        if "refresh_token" in client.grant_types:
            grant = self._factory.new_grant(client, grant_id=grant_id, scope=scope, authn=authn)
            refresh, _ = await self._factory.refresh_token(grant)
        id_token = None
        if "openid" in scope:
            id_token = await self._factory.id_token(
                client, authn, scope=scope, access_token=access
            )
        return token_response(
            access, expires_in, scope, refresh_token=refresh, id_token=id_token
        )
