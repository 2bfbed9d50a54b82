"""A SCIM filter AST (:mod:`oxswarm.scim.filter`) as an LDAP search filter (RFC 4515).

The directory evaluates the filter: nothing is filtered in memory. Each SCIM attribute
path maps to one LDAP attribute (:class:`LdapAttr`); a path without a mapping, or an
operator the attribute's LDAP syntax cannot evaluate, is refused with
``invalidFilter`` naming it. Values are escaped per RFC 4515 section 3 (``* ( ) \\ NUL``).

Kinds of mapping:

* ``string``: ``eq ne co sw ew pr`` (and ``gt ge lt le`` when ``ordered``);
* ``boolean``: LDAP ``TRUE``/``FALSE``; ``status``: ``active`` <-> ``oxStatus``;
* ``time``: generalized time (``meta.created`` -> ``createTimestamp``), every operator
  but the substring ones;
* ``dn``: a resource id stored as the DN of an entry (``members.value`` -> ``member``);
* ``json``: a key of JSON objects stored one per value (``emails.type``), ``eq ne pr``.

A value path ``emails[type eq "work" and value co "@x"]`` becomes the conjunction of its
terms on the attribute's LDAP attributes: LDAP cannot correlate two terms to the *same*
value of a multi-valued attribute, so the terms may match different e-mails of one user
(documented in docs/scim.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from oxswarm.scim.errors import InvalidFilter
from oxswarm.scim.filter import (
    And,
    AttrPath,
    Filter,
    Not,
    Or,
    Present,
    Value,
    ValuePath,
)


@dataclass(frozen=True)
class LdapAttr:
    """Where a SCIM attribute (or sub-attribute) lives in the directory."""

    name: str
    kind: str = "string"  # string | boolean | status | time | dn | json
    ordered: bool = False
    json_key: str | None = None
    to_dn: Callable[[str], str] | None = None


class AttributeMap:
    """SCIM paths (lower-cased, ``attr``, ``attr.sub`` or ``urn:attr``) -> :class:`LdapAttr`.

    ``core`` is the resource's core schema URN: a path qualified with it is the same as
    the bare path.
    """

    def __init__(self, core: str, entries: Mapping[str, LdapAttr]) -> None:
        self.core = core.lower()
        self.entries = {k.lower(): v for k, v in entries.items()}

    def key(self, path: AttrPath, parent: AttrPath | None = None) -> str:
        if parent is not None:
            if path.urn or path.sub:
                raise InvalidFilter(f"{path}: a value filter names sub-attributes of {parent}")
            path = AttrPath(parent.attr, path.attr, parent.urn)
        base = path.attr + (f".{path.sub}" if path.sub else "")
        if path.urn and path.urn.lower() != self.core:
            base = f"{path.urn}:{base}"
        return base.lower()

    def resolve(self, path: AttrPath, parent: AttrPath | None = None) -> LdapAttr:
        key = self.key(path, parent)
        found = self.entries.get(key)
        if found is None and "." not in key.rsplit(":", 1)[-1]:
            found = self.entries.get(f"{key}.value")  # ``emails eq x`` means emails.value
        if found is None:
            shown = f"{parent}.{path}" if parent else str(path)
            raise InvalidFilter(f"the attribute {shown!r} cannot be filtered on")
        return found


_ESCAPES = {ord("\\"): "\\5c", ord("*"): "\\2a", ord("("): "\\28", ord(")"): "\\29", 0: "\\00"}


def _escape(value: str) -> str:
    """RFC 4515 section 3: ``\\ * ( ) NUL`` as ``\\XX`` (UTF-8 passes through)."""
    return value.translate(_ESCAPES)


def _time(value: Value, shown: str) -> str:
    if not isinstance(value, str):
        raise InvalidFilter(f"{shown}: a date-time value must be a string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidFilter(f"{shown}: {value!r} is not an RFC 3339 date-time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def _compare(attr: LdapAttr, op: str, value: Value, shown: str) -> str:
    name = attr.name
    if op == "ne":
        return f"(!{_compare(attr, 'eq', value, shown)})"
    if attr.kind in ("boolean", "status"):
        if op != "eq" or not isinstance(value, bool):
            raise InvalidFilter(f"{shown}: a boolean takes 'eq' or 'ne' with true or false")
        if attr.kind == "status":
            return f"(|({name}=active)(!({name}=*)))" if value else f"({name}=inactive)"
        return f"({name}={'TRUE' if value else 'FALSE'})"
    if value is None:
        raise InvalidFilter(f"{shown}: null is only meaningful as 'not ({shown} pr)'")
    if attr.kind == "time":
        if op in ("co", "sw", "ew"):
            raise InvalidFilter(f"{shown}: {op!r} does not apply to a date-time")
        return _ordered(name, op, _time(value, shown))
    if attr.kind == "json":
        if op != "eq":
            raise InvalidFilter(f"{shown}: only 'eq', 'ne' and 'pr' apply to this sub-attribute")
        pair = json.dumps({attr.json_key: value}, ensure_ascii=False, separators=(",", ":"))
        return f"({name}=*{_escape(pair[1:-1])}*)"
    if isinstance(value, bool):
        raise InvalidFilter(f"{shown}: expects a string, not {str(value).lower()}")
    text = _escape(str(value))
    if attr.kind == "dn":
        if op != "eq" or attr.to_dn is None:
            raise InvalidFilter(f"{shown}: only 'eq', 'ne' and 'pr' apply to a reference")
        return f"({name}={_escape(attr.to_dn(str(value)))})"
    if op == "eq":
        return f"({name}={text})"
    if op == "co":
        return f"({name}=*{text}*)"
    if op == "sw":
        return f"({name}={text}*)"
    if op == "ew":
        return f"({name}=*{text})"
    if not attr.ordered:
        raise InvalidFilter(
            f"{shown}: {op!r} is not supported (the directory has no ordering for it)"
        )
    return _ordered(name, op, text)


def _ordered(name: str, op: str, text: str) -> str:
    if op == "eq":
        return f"({name}={text})"
    if op == "ge":
        return f"({name}>={text})"
    if op == "le":
        return f"({name}<={text})"
    if op == "gt":
        return f"(&({name}>={text})(!({name}={text})))"
    if op == "lt":
        return f"(&({name}<={text})(!({name}={text})))"
    raise InvalidFilter(f"{op!r} does not apply here")


def _present(attr: LdapAttr) -> str:
    if attr.kind == "json":
        return f"({attr.name}=*{_escape(json.dumps(attr.json_key))}:*)"
    if attr.kind == "status":
        return "(objectClass=*)"  # every entry has a status (absent means active)
    return f"({attr.name}=*)"


def to_ldap(node: Filter, attrs: AttributeMap, parent: AttrPath | None = None) -> str:
    """The LDAP filter string for ``node`` over ``attrs``."""
    if isinstance(node, And):
        return f"(&{to_ldap(node.left, attrs, parent)}{to_ldap(node.right, attrs, parent)})"
    if isinstance(node, Or):
        return f"(|{to_ldap(node.left, attrs, parent)}{to_ldap(node.right, attrs, parent)})"
    if isinstance(node, Not):
        return f"(!{to_ldap(node.inner, attrs, parent)})"
    if isinstance(node, ValuePath):
        return to_ldap(node.filter, attrs, node.path)
    shown = f"{parent}.{node.path}" if parent else str(node.path)
    attr = attrs.resolve(node.path, parent)
    if isinstance(node, Present):
        return _present(attr)
    return _compare(attr, node.op, node.value, shown)
