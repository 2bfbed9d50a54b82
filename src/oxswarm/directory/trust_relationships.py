"""SAML trust relationships in the directory (``ou=trustRelationships``), the source of truth
every IdP process reads (docs/saml.md).

One ``oxTrustRelationship`` entry per service provider, ``inum=<inum>``: ``displayName``,
``oxEntityId``, ``oxSamlMetadata`` (the SP's metadata XML), ``oxSamlReleaseAttribute``
(names), ``oxSamlNameIdFormat``, ``oxSamlSignAssertions``, ``oxSamlEncryptAssertions``,
``oxStatus``. An entityID is trusted once: adding a second trust for it is a conflict.
"""

from __future__ import annotations

from typing import Final

from oxswarm.directory.connection import LEVEL, REPLACE, Directory, Entry
from oxswarm.directory.tree import Tree, filter_value, ldap_bool, rdn_of, rdn_value
from oxswarm.errors import Conflict, DirectoryError, InvalidInput, NotFound
from oxswarm.oxshibboleth.trust import NAMEID_CHOICES, Trust

OU: Final = "trustRelationships"
CLASSES: Final = ("top", "oxTrustRelationship")
_FILTER: Final = "(objectClass=oxTrustRelationship)"


def trust_from_entry(entry: Entry) -> Trust:
    fmt = entry.get("oxSamlNameIdFormat") or "transient"
    if fmt not in NAMEID_CHOICES:
        raise DirectoryError(f"entry {entry.dn}: oxSamlNameIdFormat {fmt!r} is not known")
    return Trust(
        inum=entry.get("inum") or rdn_of(entry.dn),
        name=entry.get("displayName") or "",
        entity_id=entry.get("oxEntityId") or "",
        metadata=entry.get("oxSamlMetadata") or "",
        release=tuple(entry.all("oxSamlReleaseAttribute")),
        nameid_format=fmt,  # type: ignore[arg-type]
        sign_assertions=entry.flag("oxSamlSignAssertions"),
        encrypt_assertions=entry.flag("oxSamlEncryptAssertions"),
        enabled=(entry.get("oxStatus") or "active") == "active",
    )


def trust_attributes(trust: Trust) -> dict[str, list[str]]:
    attrs: dict[str, list[str]] = {
        "objectClass": list(CLASSES),
        "inum": [trust.inum],
        "displayName": [trust.name],
        "oxEntityId": [trust.entity_id],
        "oxSamlMetadata": [trust.metadata],
        "oxSamlNameIdFormat": [trust.nameid_format],
        "oxSamlSignAssertions": [ldap_bool(trust.sign_assertions)],
        "oxSamlEncryptAssertions": [ldap_bool(trust.encrypt_assertions)],
        "oxStatus": ["active" if trust.enabled else "inactive"],
    }
    if trust.release:
        attrs["oxSamlReleaseAttribute"] = list(trust.release)
    return attrs


class TrustRepository:
    """Trust relationships, keyed by inum; found by entityID too."""

    def __init__(self, directory: Directory, tree: Tree | None = None) -> None:
        self.directory = directory
        self.tree = tree or Tree()

    def dn(self, inum: str) -> str:
        return f"inum={rdn_value(inum)},{self.tree.ou(OU)}"

    def add(self, trust: Trust) -> Trust:
        trust.check()
        if self.by_entity_id(trust.entity_id) is not None:
            raise Conflict(f"entity-id: {trust.entity_id} is already trusted")
        self.directory.add(self.dn(trust.inum), trust_attributes(trust))
        return self.get(trust.inum)

    def get(self, inum: str) -> Trust:
        try:
            return trust_from_entry(self.directory.read(self.dn(inum)))
        except NotFound:
            raise NotFound(f"no trust relationship {inum!r}") from None

    def find(self, ident: str) -> Trust:
        """By inum or entityID (what a person types)."""
        found = self.by_entity_id(ident)
        if found is not None:
            return found
        try:
            return self.get(ident)
        except InvalidInput:
            raise NotFound(f"no trust relationship {ident!r}") from None

    def by_entity_id(self, entity_id: str) -> Trust | None:
        found = self.directory.search(
            self.tree.ou(OU), f"(&{_FILTER}(oxEntityId={filter_value(entity_id)}))", LEVEL
        )
        return trust_from_entry(found[0]) if found else None

    def list(self) -> list[Trust]:
        found = self.directory.search(self.tree.ou(OU), _FILTER, LEVEL)
        return sorted((trust_from_entry(e) for e in found), key=lambda t: t.name.lower())

    def update(self, trust: Trust) -> Trust:
        """Replace everything of the stored trust but its inum (checked first)."""
        current = self.get(trust.inum)
        trust.check()
        if trust.entity_id != current.entity_id:
            other = self.by_entity_id(trust.entity_id)
            if other is not None and other.inum != trust.inum:
                raise Conflict(f"entity-id: {trust.entity_id} is already trusted")
        attrs = trust_attributes(trust)
        changes = {k: [(REPLACE, v)] for k, v in attrs.items() if k not in ("objectClass", "inum")}
        changes.setdefault("oxSamlReleaseAttribute", [(REPLACE, [])])
        self.directory.modify(self.dn(trust.inum), changes)
        return self.get(trust.inum)

    def remove(self, inum: str) -> None:
        self.get(inum)
        self.directory.delete(self.dn(inum))
