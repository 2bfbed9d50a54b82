"""RFC 7591, Dynamic Client Registration, with OpenID Connect Registration 1.0 metadata.

Section 2: the metadata, checked by :mod:`oxswarm.oauth.client_metadata` (the one
validator): unknown members are dropped, policy is never taken from a request, and a
dynamic client gets only the default scopes and no ``password`` grant
(:func:`dynamic_policy`). Section 3: the endpoint may be open or require an initial
access token, sent as an RFC 6750 bearer token (:class:`InitialAccessTokens`); a wrong,
expired or used-up token is ``invalid_token``; a body over :data:`MAX_BODY` is 413.
Section 3.2.1: 201 with the metadata, ``client_id``, ``client_secret``,
``client_id_issued_at``, ``client_secret_expires_at`` and RFC 7592's
``registration_access_token`` / ``registration_client_uri``. Section 3.2.2:
``invalid_redirect_uri``, ``invalid_client_metadata``. OIDC Registration section 5: the
provider fetches the ``sector_identifier_uri`` (a JSON array of URIs) and refuses the
registration (``invalid_client_metadata``) unless every redirect URI is listed in it
(:func:`check_sector_identifier`, through a :class:`SectorFetcher`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

from oxswarm.oauth.client_metadata import (
    DYNAMIC_GRANT_TYPES,
    MetadataPolicy,
    as_request,
    validate,
)
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.rfc6749.errors import InvalidClientMetadata, InvalidRequest, OAuthError
from oxswarm.oauth.tokens import new_id, token_hash

MAX_BODY: Final = 64 * 1024  # bytes of a registration request (larger: 413)


class BodyTooLarge(InvalidRequest):
    """413: the request body is larger than :data:`MAX_BODY`."""

    status_code = 413


class TooManyRegistrations(OAuthError):
    """429 with ``Retry-After``: too many registrations from one client address."""

    error = "temporarily_unavailable"
    status_code = 429


class SectorFetcher(Protocol):
    """Fetches a ``sector_identifier_uri`` document (bounded in time and size).

    Returns the parsed JSON; raises :class:`InvalidClientMetadata` naming the reason when
    it cannot be fetched or is not JSON."""

    async def fetch(self, uri: str) -> Any: ...


class InitialAccessTokens(Protocol):
    """Initial access tokens (section 3), by the SHA-256 of the token.

    ``valid`` is true for a known, unexpired token with uses left; ``use`` takes one use,
    atomically (two concurrent calls cannot both take the last one), and is false when
    none was left."""

    async def valid(self, token_sha256: str) -> bool: ...

    async def use(self, token_sha256: str) -> bool: ...


def dynamic_policy(
    *, default_scopes: Sequence[str], signing_algs: Sequence[str], allow_http: bool
) -> MetadataPolicy:
    """What a dynamically registered client may have: the default scopes, every grant
    type but ``password`` (an administrator's choice), http URIs only in development."""
    return MetadataPolicy(
        signing_algs=tuple(signing_algs),
        scopes=tuple(default_scopes),
        default_scopes=tuple(default_scopes),
        grant_types=DYNAMIC_GRANT_TYPES,
        allow_http=allow_http,
    )


def parse_metadata(
    data: Mapping[str, Any], policy: MetadataPolicy, *, client_id: str | None = None
) -> ClientMetadata:
    """Validate a registration request body into client metadata (no credentials yet)."""
    return validate(data, policy, client_id=client_id or str(uuid.uuid4()))


def with_credentials(client: ClientMetadata) -> tuple[ClientMetadata, str]:
    """Add a secret (unless public), issue time and a registration access token."""
    secret = None if client.is_public else new_id(32)
    access_token = new_id(32)
    issued = ClientMetadata.from_dict(
        {
            **client.to_dict(),
            "client_secret": secret,
            "client_id_issued_at": int(time.time()),
            "registration_access_token_hash": token_hash(access_token),
        }
    )
    return issued, access_token


def client_response(client: ClientMetadata, registration_client_uri: str) -> dict[str, Any]:
    """The client information response (RFC 7591 3.2.1 / RFC 7592 3): the accepted
    metadata only (never policy nor anything a request could not set)."""
    body: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": client.client_id_issued_at,
        **as_request(client),
        "registration_client_uri": registration_client_uri,
    }
    if client.client_secret is not None:
        body["client_secret"] = client.client_secret
        body["client_secret_expires_at"] = client.client_secret_expires_at
    return body


async def check_sector_identifier(client: ClientMetadata, fetcher: SectorFetcher) -> None:
    """OIDC Registration 5: every redirect URI must be in the sector identifier document."""
    uri = client.sector_identifier_uri
    if not uri:
        return
    listed = await fetcher.fetch(uri)
    if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
        raise InvalidClientMetadata("sector_identifier_uri must return a JSON array of URIs")
    missing = [u for u in client.redirect_uris if u not in set(listed)]
    if missing:
        raise InvalidClientMetadata(
            f"redirect URI {missing[0]!r} is not listed at the sector_identifier_uri"
        )
