"""Client authentication at the token, introspection and revocation endpoints.

RFC 6749 section 2.3 (``client_secret_basic``: 2.3.1 with form-urlencoded credentials in
HTTP Basic; ``client_secret_post``; a client MUST NOT use more than one method), OpenID
Connect Core 1.0 section 9 (``client_secret_jwt``, ``private_key_jwt``: RFC 7523, see
:mod:`oxswarm.oauth.rfc7523`; ``none`` for public clients). Methods are registered on a
:class:`ClientAuthenticator`; the method a client registered is the only one it may use.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import unquote_plus

from oxswarm.oauth.compare import equal
from oxswarm.oauth.interfaces import ClientStore
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.rfc6749.errors import InvalidClient, InvalidRequest
from oxswarm.oauth.rfc6749.requests import OAuthRequest

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class AuthMethod(Protocol):
    """One ``token_endpoint_auth_method``."""

    names: tuple[str, ...]

    def client_id(self, request: OAuthRequest) -> str | None:
        """The client id if the request carries this method's credentials, else None."""
        ...

    async def verify(self, request: OAuthRequest, client: ClientMetadata) -> None:
        """Raise :class:`InvalidClient` unless the credentials prove ``client``."""
        ...


def secret_matches(client: ClientMetadata, presented: str) -> bool:
    """Constant-time comparison; an expired secret (RFC 7591 ``client_secret_expires_at``) fails."""
    if client.client_secret is None:
        return False
    if client.client_secret_expires_at and client.client_secret_expires_at < time.time():
        return False
    return equal(presented, client.client_secret)


def basic_credentials(request: OAuthRequest) -> tuple[str, str] | None:
    """(client_id, secret) from ``Authorization: Basic``; each part form-urldecoded."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip().encode("ascii"), validate=True).decode()
    except (binascii.Error, UnicodeError) as exc:
        raise InvalidClient("malformed Basic credentials", basic=True) from exc
    user, sep, password = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic credentials", basic=True)
    return unquote_plus(user), unquote_plus(password)


class ClientSecretBasic:
    names: tuple[str, ...] = ("client_secret_basic",)

    def client_id(self, request: OAuthRequest) -> str | None:
        creds = basic_credentials(request)
        return creds[0] if creds else None

    async def verify(self, request: OAuthRequest, client: ClientMetadata) -> None:
        creds = basic_credentials(request)
        if creds is None or not secret_matches(client, creds[1]):
            raise InvalidClient("client authentication failed", basic=True)


class ClientSecretPost:
    names: tuple[str, ...] = ("client_secret_post",)

    def client_id(self, request: OAuthRequest) -> str | None:
        if "client_secret" in request.form:
            return request.form.get("client_id") or ""
        return None

    async def verify(self, request: OAuthRequest, client: ClientMetadata) -> None:
        if not secret_matches(client, request.form.get("client_secret", "")):
            raise InvalidClient("client authentication failed")


class NoneAuth:
    """Public clients (RFC 6749 2.1): identified by ``client_id`` only, nothing to verify."""

    names: tuple[str, ...] = ("none",)

    def client_id(self, request: OAuthRequest) -> str | None:
        if "client_secret" in request.form or "client_assertion" in request.form:
            return None
        return request.form.get("client_id")

    async def verify(self, request: OAuthRequest, client: ClientMetadata) -> None:
        del request, client


class ClientAuthenticator:
    """Finds which registered method a request uses and verifies it against the client."""

    def __init__(self, clients: ClientStore) -> None:
        self._clients = clients
        self._methods: list[AuthMethod] = []

    def register(self, method: AuthMethod) -> None:
        self._methods.append(method)

    @property
    def method_names(self) -> list[str]:
        return [name for method in self._methods for name in method.names]

    async def authenticate(
        self, request: OAuthRequest, *, allowed: Callable[[str], bool] | None = None
    ) -> ClientMetadata:
        """The authenticated client, or :class:`InvalidClient` (401)."""
        found = [(m, cid) for m in self._methods if (cid := m.client_id(request)) is not None]
        basic = any(isinstance(m, ClientSecretBasic) for m, _ in found)
        used = [pair for pair in found if not isinstance(pair[0], NoneAuth)] or found
        if not used:
            raise InvalidClient("client authentication is required")
        if len(used) > 1:
            raise InvalidRequest("more than one client authentication method was used")
        method, client_id = used[0]
        form_id = request.form.get("client_id")
        if form_id and client_id and form_id != client_id:
            raise InvalidClient("client_id does not match the credentials", basic=basic)
        client = await self._clients.get(client_id) if client_id else None
        if client is None:
            raise InvalidClient("unknown client", basic=basic)
        registered = client.token_endpoint_auth_method
        if registered not in method.names:
            raise InvalidClient(
                f"client is registered for {registered}, not this method", basic=basic
            )
        if allowed is not None and not allowed(registered):
            raise InvalidClient(f"{registered} is not accepted here", basic=basic)
        await method.verify(request, client)
        return client
