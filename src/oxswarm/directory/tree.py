"""Where things live under the suffix (``o=gluu``): the DIT layout shared by everyone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from oxswarm.errors import InvalidInput

#: the organisational units created by ``oxswarm ldap init`` (parents before children)
OUS: Final = (
    "people",
    "groups",
    "clients",
    "scopes",
    "attributes",
    "tokens",
    "authorizations",
    "sessions",
    "configuration",
    "trustRelationships",
    "sector_identifiers",
    "scripts",
    "audit",
)
CONFIGURATION_OUS: Final = ("oxauth", "oxtrust", "oxidp", "oxpassport")


@dataclass(frozen=True)
class Tree:
    """DNs under one suffix."""

    suffix: str = "o=gluu"

    def ou(self, name: str) -> str:
        return f"ou={name},{self.suffix}"

    def person(self, inum: str) -> str:
        return f"inum={rdn_value(inum)},{self.ou('people')}"

    def group(self, inum: str) -> str:
        return f"inum={rdn_value(inum)},{self.ou('groups')}"

    def client(self, client_id: str) -> str:
        return f"inum={rdn_value(client_id)},{self.ou('clients')}"

    def scope(self, name: str) -> str:
        return f"oxId={rdn_value(name)},{self.ou('scopes')}"

    def configuration(self, name: str) -> str:
        return f"ou={rdn_value(name)},{self.ou('configuration')}"


def rdn_value(value: str) -> str:
    """Escape a value for use in an RDN (RFC 4514 section 2.4)."""
    if not value:
        raise InvalidInput("an identifier must not be empty", field="id")
    return str(escape_rdn(value))


def filter_value(value: str) -> str:
    """Escape a value for use in a search filter (RFC 4515 section 3)."""
    return str(escape_filter_chars(value))


def rdn_of(dn: str) -> str:
    """The (unescaped enough for our identifiers) value of the first RDN of ``dn``."""
    first = dn.split(",", 1)[0]
    return first.split("=", 1)[1].replace("\\", "")


def parse_generalized_time(value: str | None) -> datetime | None:
    """``20261126005355Z`` (RFC 4517 3.3.13, as slapd writes it) -> aware datetime."""
    if not value:
        return None
    try:
        return datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def ldap_bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def base_entry(suffix: str) -> dict[str, list[str]]:
    """Attributes of the suffix entry (``o=``, ``ou=`` or ``dc=`` as its first RDN)."""
    attr, _, value = suffix.split(",", 1)[0].partition("=")
    attr, value = attr.strip().lower(), value.strip()
    classes = {
        "o": ["organization"],
        "ou": ["organizationalUnit"],
        "dc": ["dcObject", "organization"],
    }.get(attr)
    if classes is None or not value:
        raise InvalidInput(f"suffix: {suffix!r} must start with o=, ou= or dc=", field="suffix")
    attrs = {"objectClass": ["top", *classes], attr: [value]}
    if attr == "dc":
        attrs["o"] = [value]
    return attrs
