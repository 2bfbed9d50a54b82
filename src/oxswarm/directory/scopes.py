"""OAuth scopes (``ou=scopes``) and the standard OpenID Connect ones.

OIDC Core 1.0 section 5.4 ("Requesting Claims using Scope Values") defines which claims
``profile``, ``email``, ``address`` and ``phone`` release; ``openid`` marks an OpenID
Connect request (section 3.1.2.1) and ``offline_access`` asks for a refresh token
(section 11).
"""

from __future__ import annotations

from typing import Final

from pydantic import ValidationError

from oxswarm.directory.connection import LEVEL, Directory, Entry
from oxswarm.directory.models import Scope
from oxswarm.directory.tree import Tree, ldap_bool, rdn_of
from oxswarm.errors import DirectoryError, NotFound

SCOPE_CLASSES: Final = ("top", "oxScopeEntry")

STANDARD_SCOPES: Final = (
    Scope(name="openid", description="OpenID Connect sign-in", claims=["sub"], default=True),
    Scope(
        name="profile",
        description="Default profile claims",
        claims=[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
        default=True,
    ),
    Scope(
        name="email", description="E-mail address", claims=["email", "email_verified"], default=True
    ),
    Scope(name="address", description="Postal address", claims=["address"]),
    Scope(
        name="phone", description="Phone number", claims=["phone_number", "phone_number_verified"]
    ),
    Scope(name="offline_access", description="Refresh tokens while the user is away", claims=[]),
)

#: SCIM 2.0 (docs/scim.md): OAuth scopes, never granted by default
SCIM_SCOPES: Final = tuple(
    Scope(name=f"https://gluu.org/scim/{name}", description=text, scope_type="oauth")
    for name, text in (
        ("users.read", "Read users through SCIM"),
        ("users.write", "Create, change and delete users through SCIM"),
        ("groups.read", "Read groups through SCIM"),
        ("groups.write", "Create, change and delete groups through SCIM"),
        ("bulk", "Send SCIM bulk requests"),
    )
)


def scope_from_entry(entry: Entry) -> Scope:
    try:
        return Scope(
            name=entry.get("oxId") or rdn_of(entry.dn),
            description=entry.get("description"),
            claims=entry.all("oxClaim"),
            default=entry.flag("oxDefaultScope"),
            scope_type=entry.get("oxScopeType") or "openid",  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        raise DirectoryError(f"entry {entry.dn} is not a valid scope: {exc}") from exc


def scope_attributes(scope: Scope) -> dict[str, list[str]]:
    attrs: dict[str, list[str]] = {
        "objectClass": list(SCOPE_CLASSES),
        "oxId": [scope.name],
        "oxDefaultScope": [ldap_bool(scope.default)],
        "oxScopeType": [scope.scope_type],
    }
    if scope.description:
        attrs["description"] = [scope.description]
    if scope.claims:
        attrs["oxClaim"] = list(scope.claims)
    return attrs


class ScopeRepository:
    """OAuth scopes, keyed by name (``oxId=<name>``)."""

    def __init__(self, directory: Directory, tree: Tree | None = None) -> None:
        self.directory = directory
        self.tree = tree or Tree()

    def add(self, scope: Scope) -> Scope:
        self.directory.add(self.tree.scope(scope.name), scope_attributes(scope))
        return self.get(scope.name)

    def get(self, name: str) -> Scope:
        try:
            return scope_from_entry(self.directory.read(self.tree.scope(name)))
        except NotFound:
            raise NotFound(f"no scope {name!r}") from None

    def list(self) -> list[Scope]:
        found = self.directory.search(self.tree.ou("scopes"), "(objectClass=oxScopeEntry)", LEVEL)
        return sorted((scope_from_entry(e) for e in found), key=lambda s: s.name)
