"""People and groups in the directory (``ou=people``, ``ou=groups``).

A person is an ``inetOrgPerson`` (RFC 2798) with the auxiliary ``oxPerson`` class; the
password is stored only as a hash made before it leaves the process (Argon2id,
:meth:`~oxswarm.directory.connection.Directory.set_password`), and checked only by
binding as the person (RFC 4513 section 5.1.3): slapd verifies the hash.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence

from pydantic import ValidationError

from oxswarm.directory.connection import ADD, DELETE, LEVEL, REPLACE, Directory, Entry
from oxswarm.directory.models import Group, Person
from oxswarm.directory.tree import Tree, filter_value, ldap_bool, parse_generalized_time, rdn_of
from oxswarm.errors import Conflict, DirectoryError, InvalidInput, NotFound

PERSON_CLASSES = ("top", "person", "organizationalPerson", "inetOrgPerson", "oxPerson")
GROUP_CLASSES = ("top", "oxGroup")
_OPERATIONAL = ("createTimestamp", "modifyTimestamp")

# model field -> LDAP attribute (single-valued text)
PERSON_ATTRS: Mapping[str, str] = {
    "uid": "uid",
    "family_name": "sn",
    "given_name": "givenName",
    "display_name": "displayName",
    "email": "mail",
    "phone": "telephoneNumber",
    "street_address": "street",
    "locality": "l",
    "region": "st",
    "postal_code": "postalCode",
    "country": "c",
    "status": "oxStatus",
}
EXTERNAL_UID = "oxExternalUid"  # Gluu's attribute: links to upstream identities
_SEARCHABLE = ("uid", "mail", "cn", "sn", "givenName", "displayName")


def person_attributes(person: Person) -> dict[str, list[str]]:
    """The LDAP attributes of ``person`` (every mapped attribute, [] when unset)."""
    attrs: dict[str, list[str]] = {}
    for name, ldap_name in PERSON_ATTRS.items():
        value = getattr(person, name)
        attrs[ldap_name] = [] if value in (None, "") else [str(value)]
    attrs["cn"] = [person.name or person.uid]
    attrs["oxEmailVerified"] = [ldap_bool(person.email_verified)]
    attrs["oxPhoneVerified"] = [ldap_bool(person.phone_verified)]
    return attrs


def person_from_entry(entry: Entry) -> Person:
    values: dict[str, object] = {
        name: entry.get(ldap_name) for name, ldap_name in PERSON_ATTRS.items()
    }
    values = {k: v for k, v in values.items() if v is not None}
    try:
        return Person(
            inum=entry.get("inum") or rdn_of(entry.dn),
            email_verified=entry.flag("oxEmailVerified"),
            phone_verified=entry.flag("oxPhoneVerified"),
            created=parse_generalized_time(entry.get("createTimestamp")),
            updated=parse_generalized_time(entry.get("modifyTimestamp")),
            **values,  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        raise DirectoryError(f"entry {entry.dn} is not a valid person: {exc}") from exc


class PeopleRepository:
    """CRUD, search and password handling for people."""

    def __init__(self, directory: Directory, tree: Tree | None = None) -> None:
        self.directory = directory
        self.tree = tree or Tree()

    def _one(self, search_filter: str) -> Person | None:
        found = self.directory.search(
            self.tree.ou("people"), search_filter, LEVEL, ["*", *_OPERATIONAL], size_limit=2
        )
        return person_from_entry(found[0]) if found else None

    def add(self, person: Person, password: str | None = None,
            external_uids: Sequence[str] = ()) -> Person:
        """Add ``person`` (uid must be unique); set ``password`` (hashed) if given;
        ``external_uids``: links to upstream identities (``oxExternalUid``) in the same add."""
        if self.get_by_uid(person.uid) is not None:
            raise Conflict(f"a person with uid {person.uid!r} already exists")
        attrs = {k: v for k, v in person_attributes(person).items() if v}
        attrs["objectClass"] = list(PERSON_CLASSES)
        attrs["inum"] = [person.inum]
        if external_uids:
            attrs[EXTERNAL_UID] = list(external_uids)
        self.directory.add(self.tree.person(person.inum), attrs)
        if password:
            self.set_password(person.inum, password)
        return self.get_by_inum(person.inum)

    def get_by_inum(self, inum: str) -> Person:
        try:
            entry = self.directory.read(self.tree.person(inum), ["*", *_OPERATIONAL])
        except NotFound:
            raise NotFound(f"no person with inum {inum!r}") from None
        return person_from_entry(entry)

    def get_by_uid(self, uid: str) -> Person | None:
        return self._one(f"(&(objectClass=oxPerson)(uid={filter_value(uid)}))")

    def get_by_email(self, email: str) -> Person | None:
        return self._one(f"(&(objectClass=oxPerson)(mail={filter_value(email)}))")

    def list(self, limit: int = 0) -> list[Person]:
        found = self.directory.search(
            self.tree.ou("people"), "(objectClass=oxPerson)", LEVEL, ["*", *_OPERATIONAL], limit
        )
        return [person_from_entry(e) for e in found]

    def search(self, text: str, limit: int = 100) -> builtins.list[Person]:
        """People whose uid, mail or names contain ``text`` (case-insensitive)."""
        value = filter_value(text)
        any_of = "".join(f"({attr}=*{value}*)" for attr in _SEARCHABLE)
        found = self.directory.search(
            self.tree.ou("people"),
            f"(&(objectClass=oxPerson)(|{any_of}))",
            LEVEL,
            ["*", *_OPERATIONAL],
            limit,
        )
        return [person_from_entry(e) for e in found]

    def update(self, person: Person) -> Person:
        """Replace every mapped attribute of the stored person with ``person``'s values."""
        current = self.get_by_inum(person.inum)
        if current.uid != person.uid:
            other = self.get_by_uid(person.uid)
            if other is not None and other.inum != person.inum:
                raise Conflict(f"a person with uid {person.uid!r} already exists")
        changes = {k: [(REPLACE, v)] for k, v in person_attributes(person).items()}
        self.directory.modify(self.tree.person(person.inum), changes)
        return self.get_by_inum(person.inum)

    def set_password(self, inum: str, password: str) -> None:
        if not password:
            raise InvalidInput("password: must not be empty", field="password")
        self.directory.set_password(self.tree.person(inum), password)

    def authenticate(self, uid: str, password: str) -> Person | None:
        """The person when ``password`` is right (checked by a bind as them), else None.

        Inactive people are refused like a wrong password.
        """
        person = self.get_by_uid(uid)
        if person is None or person.status != "active":
            return None
        if not self.directory.check_password(self.tree.person(person.inum), password):
            return None
        return person

    def remove(self, inum: str) -> None:
        self.directory.delete(self.tree.person(inum))

    # -- links to upstream identities (oxPassport: ``passport-ID:SUBJECT``) -------------

    def get_by_external_uid(self, link: str) -> Person | None:
        return self._one(f"(&(objectClass=oxPerson)({EXTERNAL_UID}={filter_value(link)}))")

    def external_uids(self, inum: str) -> builtins.list[str]:
        try:
            entry = self.directory.read(self.tree.person(inum), [EXTERNAL_UID])
        except NotFound:
            raise NotFound(f"no person with inum {inum!r}") from None
        return sorted(entry.all(EXTERNAL_UID))

    def add_external_uid(self, inum: str, link: str) -> None:
        self.directory.modify(self.tree.person(inum), {EXTERNAL_UID: [(ADD, [link])]})

    def remove_external_uid(self, inum: str, link: str) -> None:
        if link not in self.external_uids(inum):
            raise NotFound(f"the person has no link {link!r}")
        self.directory.modify(self.tree.person(inum), {EXTERNAL_UID: [(DELETE, [link])]})


class GroupRepository:
    """Groups of people; members are stored as person DNs (``member``)."""

    def __init__(self, directory: Directory, tree: Tree | None = None) -> None:
        self.directory = directory
        self.tree = tree or Tree()

    def _from_entry(self, entry: Entry) -> Group:
        try:
            return Group(
                inum=entry.get("inum") or rdn_of(entry.dn),
                display_name=entry.get("displayName") or "",
                description=entry.get("description"),
                members=[rdn_of(dn) for dn in entry.all("member")],
                status=entry.get("oxStatus") or "active",  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            raise DirectoryError(f"entry {entry.dn} is not a valid group: {exc}") from exc

    def add(self, group: Group) -> Group:
        attrs: dict[str, list[str]] = {
            "objectClass": list(GROUP_CLASSES),
            "inum": [group.inum],
            "displayName": [group.display_name],
            "oxStatus": [group.status],
        }
        if group.description:
            attrs["description"] = [group.description]
        if group.members:
            attrs["member"] = [self.tree.person(m) for m in group.members]
        self.directory.add(self.tree.group(group.inum), attrs)
        return self.get(group.inum)

    def get(self, inum: str) -> Group:
        try:
            return self._from_entry(self.directory.read(self.tree.group(inum)))
        except NotFound:
            raise NotFound(f"no group with inum {inum!r}") from None

    def list(self) -> list[Group]:
        found = self.directory.search(self.tree.ou("groups"), "(objectClass=oxGroup)", LEVEL)
        return [self._from_entry(e) for e in found]

    def rename(self, inum: str, display_name: str, description: str | None) -> Group:
        """Change the name and description (members untouched)."""
        self.get(inum)
        changes = {
            "displayName": [(REPLACE, [display_name])],
            "description": [(REPLACE, [description] if description else [])],
        }
        self.directory.modify(self.tree.group(inum), changes)
        return self.get(inum)

    def add_members(self, inum: str, members: Sequence[str]) -> Group:
        current = set(self.get(inum).members)
        new = [self.tree.person(m) for m in members if m not in current]
        if new:
            self.directory.modify(self.tree.group(inum), {"member": [(ADD, new)]})
        return self.get(inum)

    def remove_members(self, inum: str, members: Sequence[str]) -> Group:
        current = set(self.get(inum).members)
        gone = [self.tree.person(m) for m in members if m in current]
        if gone:
            self.directory.modify(self.tree.group(inum), {"member": [(DELETE, gone)]})
        return self.get(inum)

    def remove(self, inum: str) -> None:
        self.directory.delete(self.tree.group(inum))
