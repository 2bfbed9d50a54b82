"""Checking a resource sent by a client, and projecting one sent back (RFC 7643/7644).

:func:`normalize` turns a POST/PUT body (or the result of a PATCH) into a resource with
the schema's attribute names (names are case-insensitive, section 2.1), checks each
value's type, drops read-only attributes (RFC 7644 3.5.1: "SHALL be ignored") and
unknown ones, and requires the required ones. Errors name the attribute:
``invalidValue`` for a wrong type or a missing required value, ``invalidSyntax`` for a
body that is not a resource.

:func:`project` applies ``attributes`` / ``excludedAttributes`` (RFC 7644 3.4.2.5,
3.9) to a rendered resource; ``returned: always`` attributes always stay,
``returned: never`` ones never appear.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from oxswarm.scim.errors import InvalidSyntax, InvalidValue, ScimError
from oxswarm.scim.filter import AttrPath, parse_attr_path
from oxswarm.scim.schemas import COMMON, Attr, ResourceType

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "reference": (str,),
    "dateTime": (str,),
    "binary": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "decimal": (int, float),
}


def _check_value(attr: Attr, value: Any, where: str) -> Any:
    if attr.type == "complex":
        if not isinstance(value, dict):
            raise InvalidValue(f"{where}: must be an object")
        out: dict[str, Any] = {}
        for key, sub_value in value.items():
            sub = attr.child(key)
            if sub is None or sub_value is None or sub.mutability == "readOnly":
                continue
            out[sub.name] = _check_value(sub, sub_value, f"{where}.{sub.name}")
        return out
    allowed = _JSON_TYPES.get(attr.type, (str,))
    if isinstance(value, bool) and bool not in allowed:
        raise InvalidValue(f"{where}: must be a {attr.type}, not a boolean")
    if not isinstance(value, allowed):
        raise InvalidValue(f"{where}: must be a {attr.type}")
    if attr.canonical and isinstance(value, str):
        canon = next((c for c in attr.canonical if c.lower() == value.lower()), None)
        if canon is None:
            raise InvalidValue(f"{where}: {value!r} is not one of {', '.join(attr.canonical)}")
        return canon
    return value


def _check_attr(attr: Attr, value: Any, where: str) -> Any:
    if attr.multi:
        if not isinstance(value, list):
            value = [value]  # a single value for a multi-valued attribute
        items = [
            _check_value(attr, v, f"{where}[{i}]") for i, v in enumerate(value) if v is not None
        ]
        if items and any(isinstance(i, dict) and i.get("primary") is True for i in items):
            seen = False
            for item in items:  # RFC 7643 2.4: "primary" true at most once
                if item.get("primary") is True:
                    if seen:
                        item["primary"] = False
                    seen = True
        return items
    return _check_value(attr, value, where)


def normalize(body: Any, rtype: ResourceType) -> dict[str, Any]:
    """A checked copy of ``body`` with canonical names; read-only values dropped."""
    if not isinstance(body, dict):
        raise InvalidSyntax("the body must be a JSON object")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(s, str) and s.lower() == rtype.schema.id.lower() for s in schemas
    ):
        raise InvalidValue(f"schemas: must include {rtype.schema.id}")
    out: dict[str, Any] = {"schemas": [rtype.schema.id]}
    for key, value in body.items():
        if key == "schemas" or value is None:
            continue
        ext = rtype.extension(key)
        if ext is not None:
            if not isinstance(value, dict):
                raise InvalidValue(f"{ext.id}: must be an object")
            part = _extension(ext.id, value, rtype)
            if part:
                out[ext.id] = part
            continue
        try:
            path = parse_attr_path(key)
        except ScimError:  # not an attribute name: unknown, ignored like other unknown keys
            path = AttrPath("")
        if path.urn and path.urn.lower() != rtype.schema.id.lower():
            ext = rtype.extension(path.urn)
            if ext is not None and (a := ext.attr(path.attr)) is not None:
                out.setdefault(ext.id, {})[a.name] = _check_attr(a, value, str(path))
            continue
        attr = rtype.attr(path.attr)
        if attr is None or attr.mutability == "readOnly":
            continue
        if path.sub:
            sub = attr.child(path.sub)
            if sub is not None and sub.mutability != "readOnly":
                out.setdefault(attr.name, {})[sub.name] = _check_value(sub, value, str(path))
            continue
        out[attr.name] = _check_attr(attr, value, attr.name)
    for attr in rtype.schema.attributes:
        if attr.required and out.get(attr.name) in (None, "", []):
            raise InvalidValue(f"{attr.name}: is required")
    for ext_id in [e.id for e in rtype.extensions if e.id in out]:
        if ext_id not in out["schemas"]:
            out["schemas"].append(ext_id)
    return out


def _extension(urn: str, value: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    ext = rtype.extension(urn)
    out: dict[str, Any] = {}
    if ext is None:
        return out
    for key, sub_value in value.items():
        attr = ext.attr(key)
        if attr is None or sub_value is None or attr.mutability == "readOnly":
            continue
        out[attr.name] = _check_attr(attr, sub_value, f"{urn}:{attr.name}")
    return out


def _parse_list(names: Iterable[str]) -> list[AttrPath]:
    paths = []
    for name in names:
        if name.strip():
            paths.append(parse_attr_path(name.strip()))
    return paths


def _target(
    resource: dict[str, Any], path: AttrPath, rtype: ResourceType
) -> tuple[str | None, str]:
    """(extension URN or None, attribute name as rendered) for ``path``."""
    if path.urn and path.urn.lower() != rtype.schema.id.lower():
        ext = rtype.extension(path.urn)
        if ext is None:
            # ``urn:...:gluu:2.0:User`` alone names the whole extension
            whole = rtype.extension(f"{path.urn}:{path.attr}")
            return (whole.id, "") if whole else (None, "")
        attr = ext.attr(path.attr)
        return ext.id, attr.name if attr else ""
    attr = rtype.attr(path.attr)
    return None, attr.name if attr else ""


def _always(rtype: ResourceType) -> set[str]:
    names = {a.name for a in COMMON if a.returned == "always"}
    names |= {a.name for a in rtype.schema.attributes if a.returned == "always"}
    return names | {"schemas", "meta"}


def project(
    resource: dict[str, Any],
    rtype: ResourceType,
    attributes: Iterable[str] = (),
    excluded: Iterable[str] = (),
) -> dict[str, Any]:
    """``resource`` reduced to ``attributes`` (if any) minus ``excluded``."""
    wanted = _parse_list(attributes)
    unwanted = _parse_list(excluded)
    always = _always(rtype)
    if wanted:
        out: dict[str, Any] = {k: v for k, v in resource.items() if k in always}
        for path in wanted:
            urn, name = _target(resource, path, rtype)
            source = resource.get(urn, {}) if urn else resource
            if urn and not name:
                if urn in resource:
                    out[urn] = resource[urn]
                continue
            if not name or name not in source:
                continue
            target = out.setdefault(urn, {}) if urn else out
            if path.sub and isinstance(source[name], dict):
                sub = {k: v for k, v in source[name].items() if k.lower() == path.sub.lower()}
                target.setdefault(name, {}).update(sub)
            elif path.sub and isinstance(source[name], list):
                target[name] = [
                    {k: v for k, v in item.items() if k.lower() == path.sub.lower()}
                    for item in source[name]
                    if isinstance(item, dict)
                ]
            else:
                target[name] = source[name]
        resource = out
    else:
        resource = dict(resource)
    for path in unwanted:
        urn, name = _target(resource, path, rtype)
        if name in always and not urn:
            continue
        if urn and not name:
            resource.pop(urn, None)
            continue
        holder = resource.get(urn) if urn else resource
        if not isinstance(holder, dict) or name not in holder:
            continue
        if path.sub and isinstance(holder[name], dict):
            holder[name] = {k: v for k, v in holder[name].items() if k.lower() != path.sub.lower()}
        elif path.sub and isinstance(holder[name], list):
            holder[name] = [
                {k: v for k, v in item.items() if k.lower() != path.sub.lower()}
                for item in holder[name]
            ]
        else:
            holder = dict(holder)
            holder.pop(name)
            if urn:
                resource[urn] = holder
            else:
                resource = holder
    schemas = [s for s in resource.get("schemas", []) if s == rtype.schema.id or s in resource]
    resource["schemas"] = schemas
    return resource
