"""Subject identifiers, OpenID Connect Core 1.0 section 8.

Public: the user's stable id. Pairwise (section 8.1): a value no two sectors share,
computed as ``HMAC-SHA256(pairwise_key, sector_identifier || local_id || salt)``, base64url.
The sector identifier is the host of the ``sector_identifier_uri`` when registered, else
the host of the client's single redirect URI (section 8.1; registration refuses pairwise
clients with redirect URIs on several hosts and no sector identifier).

One exception: a sector identifier the provider hosts itself (Gluu's
``/oxauth/sectoridentifier/<id>``, :data:`HOSTED_SECTOR_PATH`) is named by host *and
path*: every hosted sector is on the issuer's host, and the host alone would give the
clients of unrelated hosted sectors the same pairwise subjects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final
from urllib.parse import urlsplit

from oxswarm.oauth.models import ClientMetadata

HOSTED_SECTOR_PATH: Final = "/oxauth/sectoridentifier/"


def sector_identifier(client: ClientMetadata) -> str:
    """The host the pairwise value is computed for."""
    if client.sector_identifier_uri:
        parts = urlsplit(client.sector_identifier_uri)
        host = parts.hostname or ""
        if parts.path.startswith(HOSTED_SECTOR_PATH):
            return host + parts.path
        return host
    hosts = sorted({urlsplit(uri).hostname or "" for uri in client.redirect_uris})
    return hosts[0] if hosts else client.client_id


def pairwise_sub(local_id: str, sector: str, key: str, salt: str) -> str:
    """The pairwise identifier of ``local_id`` for ``sector``."""
    mac = hmac.new(key.encode(), (sector + local_id + salt).encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def subject_for(client: ClientMetadata, local_id: str, key: str, salt: str) -> str:
    """The ``sub`` this client sees for the user ``local_id``."""
    if client.subject_type == "pairwise":
        return pairwise_sub(local_id, sector_identifier(client), key, salt)
    return local_id
