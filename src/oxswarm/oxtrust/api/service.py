"""The admin API's operations on the directory and the config store, free of HTTP.

Each change is checked in full before anything is written (nothing half-written: a
person whose password slapd refuses is removed again) and is then recorded in the audit
log (:mod:`oxswarm.oxtrust.audit`). Client metadata goes through
``oauth/client_metadata.py``'s :func:`validate` with the administrator's policy
(``oxauth/clients_admin.py``), like ``oxswarm clients``; oxAuth's live policy keys through
``oxauth/policy.py``'s :func:`read_policy`. Everything here blocks (LDAP, etcd): the routes
run it in a worker thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from oxswarm.config.manager import ConfigManager
from oxswarm.directory.clients import ClientRepository, SecretCipher
from oxswarm.directory.connection import LEVEL, REPLACE, Directory, Entry
from oxswarm.directory.models import Client, Group, Person, Scope
from oxswarm.directory.people import GroupRepository, PeopleRepository
from oxswarm.directory.scopes import ScopeRepository
from oxswarm.directory.tree import Tree, filter_value, rdn_of, rdn_value
from oxswarm.errors import Conflict, InvalidInput, NotFound, OxSwarmError
from oxswarm.oauth.client_metadata import (
    MetadataError,
    RedirectUriError,
    carry_over,
    validate,
)
from oxswarm.oxauth.adapters.directory import from_metadata, to_metadata
from oxswarm.oxauth.clients_admin import ADMIN_POLICY, client_json
from oxswarm.oxauth.policy import read_policy
from oxswarm.oxtrust import audit
from oxswarm.oxtrust.api import models as m
from oxswarm.oxtrust.api.providers import ProviderOperations
from oxswarm.oxtrust.api.trusts import TrustOperations

log = logging.getLogger(__name__)

SETTING_KEYS: Final = tuple(m.Settings.model_fields)
_FLAGS: Final = ("trusted", "resource_server")


@dataclass(frozen=True)
class Actor:
    """Who asks (``client:<id>`` or ``user:<sub> via client:<id>``) and from where."""

    name: str
    address: str | None


@dataclass(frozen=True)
class Listed:
    total: int
    items: list[dict[str, Any]]


def _window(items: list[dict[str, Any]], start: int, limit: int) -> Listed:
    return Listed(len(items), items[start : start + limit])


def _matches(item: Mapping[str, Any], q: str | None, keys: tuple[str, ...]) -> bool:
    if not q:
        return True
    needle = q.lower()
    return any(needle in str(item.get(k) or "").lower() for k in keys)


def person_out(person: Person) -> dict[str, Any]:
    data = person.model_dump(exclude={"created", "updated"})
    data["created"] = person.created.isoformat() if person.created else None
    data["updated"] = person.updated.isoformat() if person.updated else None
    return data


def client_out(client: Client, *, secret: bool = False) -> dict[str, Any]:
    return client_json(client, secret=secret)


def _client_from(body: m.ClientIn, client_id: str, old: Client | None) -> Client:
    """A client from API metadata: the one validator's rules, then the admin flags."""
    data = body.model_dump(exclude=set(_FLAGS), exclude_none=True)
    data.update({k: v for k, v in (body.model_extra or {}).items() if k not in _FLAGS})
    try:
        meta = validate(data, ADMIN_POLICY, client_id=client_id)
    except (MetadataError, RedirectUriError) as exc:
        raise ClientRefused(exc) from None
    if old is not None:
        meta = carry_over(meta, to_metadata(old))
    meta = dataclasses.replace(
        meta,
        trusted=meta.trusted if body.trusted is None else body.trusted,
        resource_server=meta.resource_server
        if body.resource_server is None
        else body.resource_server,
    )
    if meta.is_public:
        meta = dataclasses.replace(meta, client_secret=None)
    elif meta.client_secret is None:
        meta = dataclasses.replace(meta, client_secret=secrets.token_urlsafe(32))
    client = from_metadata(meta)
    if old is not None:
        client = client.model_copy(update={"created_at": old.created_at})
    return client


class ClientRefused(InvalidInput):
    """What ``client_metadata.py`` refused, with its wire code and wording."""

    def __init__(self, exc: MetadataError | RedirectUriError) -> None:
        super().__init__(str(exc.description), field=exc.field)
        self.error = exc.error


class AdminService(TrustOperations, ProviderOperations):
    """One method per API operation; changes take the :class:`Actor` for the audit log
    (SAML trust relationships: :class:`~oxswarm.oxtrust.api.trusts.TrustOperations`;
    oxPassport providers: :class:`~oxswarm.oxtrust.api.providers.ProviderOperations`)."""

    def __init__(
        self, directory: Directory, tree: Tree, cipher: SecretCipher, config: ConfigManager
    ) -> None:
        self.directory = directory
        self.tree = tree
        self.people = PeopleRepository(directory, tree)
        self.groups = GroupRepository(directory, tree)
        self.clients = ClientRepository(directory, cipher, tree)
        self.scopes = ScopeRepository(directory, tree)
        self.config = config

    def _audit(
        self, actor: Actor, action: str, target: str, detail: Mapping[str, Any] | None = None
    ) -> None:
        try:
            audit.record(
                self.directory, actor.name, action, target,
                address=actor.address, detail=detail, tree=self.tree,
            )  # fmt: skip
        except OxSwarmError as exc:  # the change is made: report, never undo it
            log.error("audit record of %s %s by %s failed: %s", action, target, actor.name, exc)

    # -- people ---------------------------------------------------------------------------
    def list_people(self, start: int, limit: int, q: str | None) -> Listed:
        found = self.people.search(q, limit=0) if q else self.people.list()
        items = sorted((person_out(p) for p in found), key=lambda p: p["uid"])
        return _window(items, start, limit)

    def get_person(self, inum: str) -> dict[str, Any]:
        return person_out(self.people.get_by_inum(inum))

    def _person(self, body: m.PersonIn, inum: str) -> Person:
        return Person(inum=inum, **body.model_dump(exclude={"password"}))

    def create_person(self, actor: Actor, body: m.PersonIn) -> dict[str, Any]:
        person = self._person(body, str(uuid.uuid4()))
        created = self.people.add(person)
        if body.password:
            try:
                self.people.set_password(created.inum, body.password)
            except OxSwarmError:
                self.people.remove(created.inum)  # nothing half-written
                raise
        self._audit(actor, "person.create", created.inum, body.model_dump(exclude_none=True))
        return person_out(self.people.get_by_inum(created.inum))

    def replace_person(self, actor: Actor, inum: str, body: m.PersonIn) -> dict[str, Any]:
        old = self.people.get_by_inum(inum)
        updated = self.people.update(self._person(body, inum))
        if body.password:
            try:
                self.people.set_password(inum, body.password)
            except OxSwarmError:
                self.people.update(old)  # nothing half-written
                raise
        self._audit(actor, "person.update", inum, body.model_dump(exclude_none=True))
        return person_out(updated)

    def delete_person(self, actor: Actor, inum: str) -> None:
        person = self.people.get_by_inum(inum)
        self.people.remove(inum)
        self._audit(actor, "person.delete", inum, {"uid": person.uid})

    # -- groups ---------------------------------------------------------------------------
    def list_groups(self, start: int, limit: int, q: str | None) -> Listed:
        items = [g.model_dump() for g in self.groups.list()]
        items = sorted(
            (g for g in items if _matches(g, q, ("display_name", "description", "inum"))),
            key=lambda g: (g["display_name"].lower(), g["inum"]),
        )
        return _window(items, start, limit)

    def get_group(self, inum: str) -> dict[str, Any]:
        return self.groups.get(inum).model_dump()

    def _check_members(self, members: list[str]) -> list[str]:
        for index, member in enumerate(members):
            try:
                self.people.get_by_inum(member)
            except (NotFound, InvalidInput):
                field = f"members.{index}"
                raise InvalidInput(f"{field}: no person with inum {member!r}", field) from None
        return list(dict.fromkeys(members))

    def create_group(self, actor: Actor, body: m.GroupIn) -> dict[str, Any]:
        members = self._check_members(body.members)
        group = Group(inum=str(uuid.uuid4()), **body.model_dump(exclude={"members"}))
        created = self.groups.add(group.model_copy(update={"members": members}))
        self._audit(actor, "group.create", created.inum, body.model_dump())
        return created.model_dump()

    def replace_group(self, actor: Actor, inum: str, body: m.GroupIn) -> dict[str, Any]:
        self.groups.get(inum)
        members = self._check_members(body.members)
        changes: dict[str, Any] = {
            "displayName": [(REPLACE, [body.display_name])],
            "description": [(REPLACE, [body.description] if body.description else [])],
            "oxStatus": [(REPLACE, [body.status])],
            "member": [(REPLACE, [self.tree.person(p) for p in members])],
        }
        self.directory.modify(self.tree.group(inum), changes)
        self._audit(actor, "group.update", inum, body.model_dump())
        return self.groups.get(inum).model_dump()

    def delete_group(self, actor: Actor, inum: str) -> None:
        group = self.groups.get(inum)
        self.groups.remove(inum)
        self._audit(actor, "group.delete", inum, {"display_name": group.display_name})

    def add_members(self, actor: Actor, inum: str, body: m.MembersIn) -> list[str]:
        self.groups.get(inum)
        members = self._check_members(body.members)
        group = self.groups.add_members(inum, members)
        self._audit(actor, "group.members.add", inum, {"members": members})
        return group.members

    def remove_member(self, actor: Actor, inum: str, member: str) -> None:
        group = self.groups.get(inum)
        if member not in group.members:
            raise NotFound(f"person {member!r} is not a member of group {inum!r}")
        self.groups.remove_members(inum, [member])
        self._audit(actor, "group.members.remove", inum, {"members": [member]})

    # -- clients --------------------------------------------------------------------------
    def list_clients(self, start: int, limit: int, q: str | None) -> Listed:
        items = [client_out(c) for c in self.clients.list()]
        items = sorted(
            (c for c in items if _matches(c, q, ("client_id", "client_name"))),
            key=lambda c: ((c["client_name"] or "").lower(), c["client_id"]),
        )
        return _window(items, start, limit)

    def get_client(self, client_id: str) -> dict[str, Any]:
        return client_out(self.clients.get(client_id))

    def create_client(self, actor: Actor, body: m.ClientIn) -> dict[str, Any]:
        client = _client_from(body, str(uuid.uuid4()), None)
        self.clients.add(client)
        self._audit(actor, "client.create", client.client_id, client_out(client))
        return client_out(client, secret=True)

    def replace_client(self, actor: Actor, client_id: str, body: m.ClientIn) -> dict[str, Any]:
        old = self.clients.get(client_id)
        client = _client_from(body, client_id, old)
        self.clients.update(client)
        self._audit(actor, "client.update", client_id, client_out(client))
        new_secret = client.client_secret not in (None, old.client_secret)
        return client_out(client, secret=new_secret)

    def delete_client(self, actor: Actor, client_id: str) -> None:
        self.clients.get(client_id)
        self.clients.remove(client_id)
        self._audit(actor, "client.delete", client_id)

    # -- scopes ---------------------------------------------------------------------------
    def list_scopes(self, start: int, limit: int, q: str | None) -> Listed:
        items = [s.model_dump() for s in self.scopes.list()]
        items = [s for s in items if _matches(s, q, ("name", "description"))]
        return _window(items, start, limit)

    def get_scope(self, name: str) -> dict[str, Any]:
        return self.scopes.get(name).model_dump()

    def create_scope(self, actor: Actor, body: m.ScopeIn) -> dict[str, Any]:
        scope = Scope(**body.model_dump())
        if self.directory.exists(self.tree.scope(scope.name)):
            raise Conflict(f"a scope named {scope.name!r} already exists")
        created = self.scopes.add(scope)
        self._audit(actor, "scope.create", scope.name, body.model_dump())
        return created.model_dump()

    def replace_scope(self, actor: Actor, name: str, body: m.ScopeIn) -> dict[str, Any]:
        if body.name != name:
            raise InvalidInput("name: must be the scope's name in the path", field="name")
        updated = self.scopes.update(Scope(**body.model_dump()))
        self._audit(actor, "scope.update", name, body.model_dump())
        return updated.model_dump()

    def delete_scope(self, actor: Actor, name: str) -> None:
        self.scopes.get(name)
        self.scopes.remove(name)
        self._audit(actor, "scope.delete", name)

    # -- attributes ------------------------------------------------------------------------
    def _attribute(self, entry: Entry) -> dict[str, Any]:
        return {
            "inum": entry.get("inum") or rdn_of(entry.dn),
            "name": entry.get("oxAttributeName") or "",
            "claim": entry.get("oxClaim"),
            "display_name": entry.get("displayName"),
            "description": entry.get("description"),
            "status": "inactive" if entry.get("oxStatus") == "inactive" else "active",
        }

    def _attr_dn(self, inum: str) -> str:
        return f"inum={rdn_value(inum)},{self.tree.ou('attributes')}"

    def list_attributes(self, start: int, limit: int, q: str | None) -> Listed:
        found = self.directory.search(
            self.tree.ou("attributes"), "(objectClass=oxAttribute)", LEVEL
        )
        items = sorted((self._attribute(e) for e in found), key=lambda a: a["name"].lower())
        items = [a for a in items if _matches(a, q, ("name", "claim", "display_name"))]
        return _window(items, start, limit)

    def get_attribute(self, inum: str) -> dict[str, Any]:
        try:
            return self._attribute(self.directory.read(self._attr_dn(inum)))
        except NotFound:
            raise NotFound(f"no attribute with inum {inum!r}") from None

    def _attribute_attrs(self, body: m.AttributeIn) -> dict[str, list[str]]:
        return {
            "oxAttributeName": [body.name],
            "oxClaim": [body.claim] if body.claim else [],
            "displayName": [body.display_name] if body.display_name else [],
            "description": [body.description] if body.description else [],
            "oxStatus": [body.status],
        }

    def _name_free(self, name: str, inum: str | None) -> None:
        found = self.directory.search(
            self.tree.ou("attributes"),
            f"(&(objectClass=oxAttribute)(oxAttributeName={filter_value(name)}))",
            LEVEL,
            ["inum"],
        )
        if any((e.get("inum") or rdn_of(e.dn)) != inum for e in found):
            raise Conflict(f"an attribute named {name!r} already exists")

    def create_attribute(self, actor: Actor, body: m.AttributeIn) -> dict[str, Any]:
        self._name_free(body.name, None)
        inum = str(uuid.uuid4())
        attrs = {k: v for k, v in self._attribute_attrs(body).items() if v}
        attrs.update(objectClass=["top", "oxAttribute"], inum=[inum])
        self.directory.add(self._attr_dn(inum), attrs)
        self._audit(actor, "attribute.create", inum, body.model_dump())
        return self.get_attribute(inum)

    def replace_attribute(self, actor: Actor, inum: str, body: m.AttributeIn) -> dict[str, Any]:
        self.get_attribute(inum)
        self._name_free(body.name, inum)
        changes = {k: [(REPLACE, v)] for k, v in self._attribute_attrs(body).items()}
        self.directory.modify(self._attr_dn(inum), changes)
        self._audit(actor, "attribute.update", inum, body.model_dump())
        return self.get_attribute(inum)

    def delete_attribute(self, actor: Actor, inum: str) -> None:
        self.get_attribute(inum)
        self.directory.delete(self._attr_dn(inum))
        self._audit(actor, "attribute.delete", inum)

    # -- configuration ----------------------------------------------------------------------
    def configuration(self) -> dict[str, Any]:
        return self.config.masked()

    def settings(self) -> dict[str, str | None]:
        return {key: self.config.get(key) for key in SETTING_KEYS}

    def change_settings(self, actor: Actor, body: m.Settings) -> dict[str, str | None]:
        """Write the keys given, after checking the whole result with ``read_policy``."""
        given = body.model_dump(exclude_unset=True)
        current = self.settings()
        merged = {**current, **given}
        get: Callable[[str], str | None] = merged.get
        read_policy(get)  # InvalidInput naming the key: nothing written
        written: list[str] = []
        try:
            for key, value in given.items():
                self._put_setting(key, value)
                written.append(key)
        except OxSwarmError:  # the store failed midway: put back what was written
            for key in written:
                with contextlib.suppress(OxSwarmError):
                    self._put_setting(key, current[key])
            raise
        changed = {k: v for k, v in given.items() if current.get(k) != v}
        self._audit(actor, "settings.update", "oxauth", changed)
        return self.settings()

    def _put_setting(self, key: str, value: str | None) -> None:
        if value is None:
            self.config.store.delete(self.config.config_key(key))
        else:
            self.config.set(key, value)

    # -- audit ---------------------------------------------------------------------------------
    def audit_page(self, start: int, limit: int) -> Listed:
        found = audit.page(self.directory, start, limit, tree=self.tree)
        return Listed(found.total, [e.to_json() for e in found.events])
