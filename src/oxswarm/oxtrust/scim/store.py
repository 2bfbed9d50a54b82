"""SCIM Users and Groups kept in the directory (blocking: call from a worker thread).

Listing and search (RFC 7644 3.4.2) are two directory searches. The first runs the
client's filter, translated to LDAP, and reads only the sort attribute of the entries
that match (at most ``Limits.max_matches`` of them, else ``tooMany``); they are sorted
here (slapd's server-side sort overlay is not loaded: sorting ids and one attribute
here costs the same and keeps replication simple), and the page ``startIndex``/``count``
is cut. The second reads the full entries of that page only, in one search. Nothing
else is read: a group renders its members from its own ``member`` DNs.

Writes are single LDAP operations where the protocol allows it; a password is stored
as an Argon2id hash made once, before it leaves the process
(:meth:`~oxswarm.directory.connection.Directory.set_password`). If it fails on a new
user, the user is deleted again; on an update the previous attributes are written
back: nothing stays half-written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from oxswarm.directory.connection import DELETE, LEVEL, REPLACE, Directory, Entry
from oxswarm.directory.people import GROUP_CLASSES, PERSON_CLASSES
from oxswarm.directory.tree import Tree, filter_value
from oxswarm.errors import AssertionFailed, Conflict, InvalidInput
from oxswarm.errors import NotFound as DirNotFound
from oxswarm.oxtrust.scim import mapping
from oxswarm.scim.errors import InvalidValue, NotFound, PreconditionFailed, TooMany, Uniqueness
from oxswarm.scim.etag import check_if_match
from oxswarm.scim.filter import parse_attr_path, parse_filter
from oxswarm.scim.ldap_filter import AttributeMap, to_ldap
from oxswarm.scim.schemas import GROUP_TYPE, USER_TYPE, Limits, ResourceType

_CHUNK = 200


@dataclass(frozen=True)
class Page:
    total: int
    resources: list[dict[str, Any]]


@dataclass(frozen=True)
class Query:
    filter: str | None = None
    sort_by: str | None = None
    descending: bool = False
    start_index: int = 1
    count: int | None = None


class ScimDirectory:
    """CRUD and search of SCIM resources over :class:`Directory`."""

    def __init__(self, directory: Directory, tree: Tree, limits: Limits) -> None:
        self.directory = directory
        self.tree = tree
        self.limits = limits
        self.maps = {"User": mapping.user_map(tree), "Group": mapping.group_map(tree)}

    # -- helpers -----------------------------------------------------------------------
    def _base(self, rtype: ResourceType) -> str:
        return self.tree.ou("people" if rtype is USER_TYPE else "groups")

    def _dn(self, rtype: ResourceType, inum: str) -> str:
        return self.tree.person(inum) if rtype is USER_TYPE else self.tree.group(inum)

    def _class(self, rtype: ResourceType) -> str:
        return "(objectClass=oxPerson)" if rtype is USER_TYPE else "(objectClass=oxGroup)"

    def _entry(self, rtype: ResourceType, inum: str) -> Entry:
        try:
            entry = self.directory.read(self._dn(rtype, inum), mapping.USER_ATTRS)
        except (DirNotFound, InvalidInput):
            raise NotFound(f"{rtype.name} {inum!r} not found") from None
        classes = {c.lower() for c in entry.all("objectClass")}
        if ("oxperson" if rtype is USER_TYPE else "oxgroup") not in classes:
            raise NotFound(f"{rtype.name} {inum!r} not found")
        return entry

    def _by_inums(
        self, rtype: ResourceType, inums: Sequence[str], attrs: Sequence[str]
    ) -> list[Entry]:
        found: list[Entry] = []
        for i in range(0, len(inums), _CHUNK):
            chunk = "".join(f"(inum={filter_value(x)})" for x in inums[i : i + _CHUNK])
            found += self.directory.search(
                self._base(rtype), f"(&{self._class(rtype)}(|{chunk}))", LEVEL, attrs
            )
        return found

    def _groups_of(self, dns: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """person DN (lower) -> [(group inum, displayName)] in one search per chunk."""
        out: dict[str, list[tuple[str, str]]] = {dn.lower(): [] for dn in dns}
        for i in range(0, len(dns), _CHUNK):
            chunk = "".join(f"(member={filter_value(dn)})" for dn in dns[i : i + _CHUNK])
            for group in self.directory.search(
                self.tree.ou("groups"),
                f"(&(objectClass=oxGroup)(|{chunk}))",
                LEVEL,
                ["inum", "displayName", "member"],
            ):
                pair = (group.get("inum") or "", group.get("displayName") or "")
                for member in group.all("member"):
                    if member.lower() in out:
                        out[member.lower()].append(pair)
        return out

    def render(
        self, rtype: ResourceType, entries: Sequence[Entry], base: str
    ) -> list[dict[str, Any]]:
        if rtype is GROUP_TYPE:
            return [mapping.group_from_entry(e, base) for e in entries]
        groups = self._groups_of([e.dn for e in entries]) if entries else {}
        return [mapping.user_from_entry(e, base, groups.get(e.dn.lower(), [])) for e in entries]

    # -- reads ---------------------------------------------------------------------------
    def get(self, rtype: ResourceType, inum: str, base: str) -> tuple[dict[str, Any], str]:
        entry = self._entry(rtype, inum)
        return self.render(rtype, [entry], base)[0], mapping.version_of(entry)

    def sort_attr(self, rtype: ResourceType, sort_by: str) -> str:
        attr = self.maps[rtype.name].resolve(parse_attr_path(sort_by))
        return attr.name

    def search(self, rtype: ResourceType, query: Query, base: str) -> Page:
        amap: AttributeMap = self.maps[rtype.name]
        ldap_filter = self._class(rtype)
        if query.filter:
            ldap_filter = f"(&{ldap_filter}{to_ldap(parse_filter(query.filter), amap)})"
        sort = self.sort_attr(rtype, query.sort_by) if query.sort_by else None
        cap = self.limits.max_matches
        ids = self.directory.search(
            self._base(rtype), ldap_filter, LEVEL, ["inum", *([sort] if sort else [])], cap + 1
        )
        if len(ids) > cap:
            raise TooMany(f"the filter matches more than {cap} resources: narrow it")
        if sort:
            ids = _sorted(ids, sort, query.descending)
        total = len(ids)
        count = self.limits.max_results if query.count is None else query.count
        count = max(0, min(count, self.limits.max_results))
        page = ids[query.start_index - 1 : query.start_index - 1 + count]
        if not page:
            return Page(total, [])
        inums = [e.get("inum") or "" for e in page]
        entries = {e.get("inum"): e for e in self._by_inums(rtype, inums, mapping.USER_ATTRS)}
        ordered = [entries[i] for i in inums if i in entries]
        return Page(total, self.render(rtype, ordered, base))

    # -- writes --------------------------------------------------------------------------
    def _unique_user_name(self, user_name: str, inum: str | None) -> None:
        found = self.directory.search(
            self.tree.ou("people"),
            f"(&(objectClass=oxPerson)(uid={filter_value(user_name)}))",
            LEVEL,
            ["inum"],
            2,
        )
        if any(e.get("inum") != inum for e in found):
            raise Uniqueness(f"userName: {user_name!r} is already taken")

    def _check_members(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        found = {(e.get("inum") or "").lower() for e in self._by_inums(USER_TYPE, ids, ["inum"])}
        missing = [i for i in ids if i.lower() not in found]
        if missing:
            raise InvalidValue(f"members: no user with id {missing[0]!r}")

    def create(
        self, rtype: ResourceType, resource: dict[str, Any], base: str
    ) -> tuple[dict[str, Any], str]:
        inum = str(uuid.uuid4())
        dn = self._dn(rtype, inum)
        if rtype is USER_TYPE:
            attrs = mapping.user_to_attrs(resource, inum)
            self._unique_user_name(resource["userName"], None)
            classes = list(PERSON_CLASSES)
        else:
            attrs = mapping.group_to_attrs(resource, self.tree)
            self._check_members(mapping.member_ids(resource))
            classes = list(GROUP_CLASSES)
        values = {k: v for k, v in attrs.items() if v}
        values.update({"objectClass": classes, "inum": [inum]})
        _translate(lambda: self.directory.add(dn, values))
        password = resource.get("password")
        if password:
            try:
                _translate(lambda: self.directory.set_password(dn, password))
            except BaseException:
                self.directory.delete(dn)
                raise
        return self.get(rtype, inum, base)

    def replace(
        self,
        rtype: ResourceType,
        inum: str,
        resource: dict[str, Any],
        base: str,
        if_match: str | None = None,
    ) -> tuple[dict[str, Any], str]:
        entry = self._entry(rtype, inum)
        check_if_match(if_match, mapping.version_of(entry))
        dn = self._dn(rtype, inum)
        if rtype is USER_TYPE:
            attrs = mapping.user_to_attrs(resource, inum, entry.get("oxMetadata"))
            if resource["userName"].lower() != (entry.get("uid") or "").lower():
                self._unique_user_name(resource["userName"], inum)
            previous = {k: entry.all(k) for k in attrs}
        else:
            attrs = mapping.group_to_attrs(resource, self.tree)
            old = {dn.lower() for dn in entry.all("member")}
            added = [
                m for m in mapping.member_ids(resource) if self.tree.person(m).lower() not in old
            ]
            self._check_members(added)
            previous = {}
        changes = {k: [(REPLACE, v)] for k, v in attrs.items() if v or entry.all(k)}
        guard = _unchanged(entry) if if_match else None
        if changes:
            _translate(lambda: self.directory.modify(dn, changes, assertion=guard))
        password = resource.get("password")
        if password:
            try:
                _translate(lambda: self.directory.set_password(dn, password))
            except BaseException:
                undo = {k: [(REPLACE, v)] for k, v in previous.items() if k in changes}
                if undo:
                    self.directory.modify(dn, undo)
                raise
        return self.get(rtype, inum, base)

    def delete(self, rtype: ResourceType, inum: str, if_match: str | None = None) -> None:
        entry = self._entry(rtype, inum)
        check_if_match(if_match, mapping.version_of(entry))
        guard = _unchanged(entry) if if_match else None
        _translate(lambda: self.directory.delete(entry.dn, assertion=guard))
        if rtype is USER_TYPE:  # no referential integrity overlay: drop the memberships
            for group in self.directory.search(
                self.tree.ou("groups"), f"(member={filter_value(entry.dn)})", LEVEL, ["1.1"]
            ):
                try:
                    self.directory.modify(group.dn, {"member": [(DELETE, [entry.dn])]})
                except (DirNotFound, Conflict, InvalidInput):
                    continue


def _sorted(entries: list[Entry], attr: str, descending: bool) -> list[Entry]:
    """Sorted on the first value, case-insensitively; unassigned values last (RFC 7644 3.4.2.3)."""
    have = [e for e in entries if e.get(attr) is not None]
    missing = [e for e in entries if e.get(attr) is None]
    have.sort(key=lambda e: ((e.get(attr) or "").lower(), e.get("inum") or ""), reverse=descending)
    return have + missing


def _unchanged(entry: Entry) -> str:
    """An assertion (RFC 4528) that ``entry`` is still at the version read: If-Match is
    then checked by the directory at the write itself, not only before it."""
    return f"(entryCSN={filter_value(mapping.version_of(entry))})"


def _translate(operation: Callable[[], None]) -> None:
    """Directory refusals as SCIM errors naming what the directory said."""
    try:
        operation()
    except AssertionFailed as exc:
        raise PreconditionFailed("If-Match: the resource changed meanwhile") from exc
    except Conflict as exc:
        raise Uniqueness(str(exc)) from exc
    except InvalidInput as exc:
        raise InvalidValue(f"the directory refused a value: {exc}") from exc
