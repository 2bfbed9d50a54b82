"""RFC 7592, Dynamic Client Registration Management Protocol.

The client configuration endpoint is ``<register>?client_id=<id>`` (Gluu's form); the
registration access token is an RFC 6750 bearer token whose SHA-256 is kept with the
client. Section 2.1 read (200 with the metadata), 2.2 update (the body replaces the
metadata; ``client_id`` must match; a ``client_secret`` in it must match the current one),
2.3 delete (204). A missing, wrong or unknown token or client is 401 ``invalid_token``
(section 2: the server must not reveal whether the client exists).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from oxswarm.oauth.interfaces import ClientStore
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.rfc6749.errors import InvalidClientMetadata, InvalidToken
from oxswarm.oauth.rfc7591 import RegistrationPolicy, parse_metadata
from oxswarm.oauth.tokens import token_hash


async def authorize(clients: ClientStore, client_id: str | None, token: str) -> ClientMetadata:
    """The client the registration access token ``token`` manages."""
    client = await clients.get(client_id) if client_id else None
    expected = client.registration_access_token_hash if client else None
    if client is None or expected is None or not hmac.compare_digest(token_hash(token), expected):
        raise InvalidToken("the registration access token is invalid")
    return client


def updated(
    client: ClientMetadata, body: Mapping[str, Any], policy: RegistrationPolicy
) -> ClientMetadata:
    """The client after a PUT (section 2.2): new metadata, same credentials."""
    if body.get("client_id") != client.client_id:
        raise InvalidClientMetadata("client_id in the body must match the client")
    secret = body.get("client_secret")
    if secret is not None and (
        client.client_secret is None
        or not hmac.compare_digest(str(secret).encode(), client.client_secret.encode())
    ):
        raise InvalidClientMetadata("client_secret in the body does not match")
    fresh = parse_metadata(body, policy, client_id=client.client_id)
    return ClientMetadata.from_dict(
        {
            **fresh.to_dict(),
            "client_secret": client.client_secret,
            "client_secret_expires_at": client.client_secret_expires_at,
            "client_id_issued_at": client.client_id_issued_at,
            "registration_access_token_hash": client.registration_access_token_hash,
            "allow_password_grant": client.allow_password_grant,
        }
    )
