"""OpenID Connect sector identifiers hosted by the provider (Gluu's ``ou=sector_identifiers``).

A sector identifier groups the redirect URIs of relying parties that must see the same
pairwise subject (OpenID Connect Core 8.1, Registration 5). Each entry
(``oxSectorIdentifier``: ``oxId``, ``oxRedirectURI``, ``description``) is published by
oxAuth at ``<issuer>/oxauth/sectoridentifier/<id>`` as the JSON array of its redirect URIs,
the document a client's ``sector_identifier_uri`` names (:func:`sector_uri`). oxAuth reads
its own hosted documents from the directory (never over HTTP: it never fetches from its
own addresses), and a hosted sector is named by host and path in pairwise subjects
(:func:`oxswarm.oauth.oidc.core.pairwise.sector_identifier`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final

from oxswarm.directory.connection import LEVEL, Directory, Entry
from oxswarm.directory.tree import Tree, filter_value, rdn_of, rdn_value
from oxswarm.errors import InvalidInput, NotFound
from oxswarm.oauth.oidc.core.pairwise import HOSTED_SECTOR_PATH

SECTOR_CLASSES: Final = ("top", "oxSectorIdentifier")
OU: Final = "sector_identifiers"
_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class SectorIdentifier:
    id: str
    redirect_uris: tuple[str, ...]
    description: str = ""


def check_id(value: str) -> str:
    if not _ID.match(value):
        raise InvalidInput(f"id: {value[:80]!r} is not a sector identifier id", field="id")
    return value


def sector_uri(issuer: str, sector_id: str) -> str:
    """The ``sector_identifier_uri`` of a hosted sector."""
    return f"{issuer.rstrip('/')}{HOSTED_SECTOR_PATH}{sector_id}"


def hosted_id(issuer: str, uri: str) -> str | None:
    """The id when ``uri`` names a sector this issuer hosts, else None."""
    prefix = sector_uri(issuer, "")
    if not uri.startswith(prefix):
        return None
    rest = uri[len(prefix):]
    return rest if _ID.match(rest) else None


def _from_entry(entry: Entry) -> SectorIdentifier:
    return SectorIdentifier(id=entry.get("oxId") or rdn_of(entry.dn),
                            redirect_uris=tuple(entry.all("oxRedirectURI")),
                            description=entry.get("description") or "")


class SectorRepository:
    """Sector identifiers under ``ou=sector_identifiers``, keyed by ``oxId``."""

    def __init__(self, directory: Directory, tree: Tree | None = None) -> None:
        self.directory = directory
        self.tree = tree or Tree()

    def dn(self, sector_id: str) -> str:
        return f"oxId={rdn_value(check_id(sector_id))},{self.tree.ou(OU)}"

    def add(self, redirect_uris: list[str], description: str = "") -> SectorIdentifier:
        sector_id = secrets.token_hex(8)
        attrs: dict[str, list[str]] = {"objectClass": list(SECTOR_CLASSES), "oxId": [sector_id],
                                       "oxRedirectURI": list(redirect_uris)}
        if description:
            attrs["description"] = [description]
        self.directory.add(self.dn(sector_id), attrs)
        return self.get(sector_id)

    def get(self, sector_id: str) -> SectorIdentifier:
        try:
            return _from_entry(self.directory.read(self.dn(sector_id)))
        except (NotFound, InvalidInput):
            raise NotFound(f"no sector identifier {sector_id[:80]!r}") from None

    def list(self) -> list[SectorIdentifier]:
        found = self.directory.search(self.tree.ou(OU), "(objectClass=oxSectorIdentifier)", LEVEL)
        return sorted((_from_entry(e) for e in found), key=lambda s: (s.description, s.id))

    def users(self, uri: str) -> tuple[str, ...]:
        """The client ids whose ``sector_identifier_uri`` is ``uri``."""
        found = self.directory.search(
            self.tree.ou("clients"), f"(oxSectorIdentifierURI={filter_value(uri)})", LEVEL,
            ["inum"])
        return tuple(sorted(e.get("inum") or rdn_of(e.dn) for e in found))

    def remove(self, sector_id: str) -> None:
        self.get(sector_id)
        self.directory.delete(self.dn(sector_id))
