"""RFC 7592, Dynamic Client Registration Management Protocol.

The client configuration endpoint is ``<register>?client_id=<id>`` (Gluu's form); the
registration access token is an RFC 6750 bearer token whose SHA-256 is kept with the
client. Section 2.1 read (200 with the metadata), 2.2 update (the body replaces the
metadata; ``client_id`` must match; a ``client_secret`` in it must match the current one),
2.3 delete (204). A missing, wrong or unknown token or client is 401 ``invalid_token``
(section 2: the server must not reveal whether the client exists).

An update is checked by the same validator and rules as a registration
(:mod:`oxswarm.oauth.client_metadata`), except that what an administrator gave the client
stays available: its scopes and grant types beyond the dynamic defaults may be kept (not
added), and its policy (``trusted``, ``resource_server``, ``allow_password_grant``,
``access_token_lifetime``) is carried over unchanged, never read from the body.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Mapping
from typing import Any

from oxswarm.oauth.client_metadata import MetadataPolicy, carry_over, validate
from oxswarm.oauth.interfaces import ClientStore
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.rfc6749.errors import InvalidClientMetadata, InvalidToken
from oxswarm.oauth.tokens import token_hash


async def authorize(clients: ClientStore, client_id: str | None, token: str) -> ClientMetadata:
    """The client the registration access token ``token`` manages."""
    client = await clients.get(client_id) if client_id else None
    expected = client.registration_access_token_hash if client else None
    if client is None or expected is None or not hmac.compare_digest(
        token_hash(token).encode(), expected.encode()
    ):
        raise InvalidToken("the registration access token is invalid")
    return client


def update_policy(client: ClientMetadata, policy: MetadataPolicy) -> MetadataPolicy:
    """``policy`` widened by what the client already has (an administrator may have given
    it more than registration would)."""
    scopes = None if policy.scopes is None else (*policy.scopes, *client.scopes)
    grants = (*policy.grant_types, *client.grant_types)
    return dataclasses.replace(policy, scopes=scopes, grant_types=tuple(dict.fromkeys(grants)))


def updated(
    client: ClientMetadata, body: Mapping[str, Any], policy: MetadataPolicy
) -> ClientMetadata:
    """The client after a PUT (section 2.2): new metadata, same credentials and policy."""
    if body.get("client_id") != client.client_id:
        raise InvalidClientMetadata("client_id: must match the client")
    secret = body.get("client_secret")
    if secret is not None and (
        client.client_secret is None
        or not hmac.compare_digest(str(secret).encode(), client.client_secret.encode())
    ):
        raise InvalidClientMetadata("client_secret: does not match")
    fresh = validate(body, update_policy(client, policy), client_id=client.client_id)
    return carry_over(fresh, client)
