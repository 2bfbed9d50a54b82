"""PATCH (RFC 7644 section 3.5.2): ``add``, ``remove``, ``replace`` on one resource.

The operations apply, in order, to the resource as the client would read it; the result
is then checked like a PUT body (:func:`oxswarm.scim.resource.normalize`) and stored in
one write, so a request whose fifth operation fails changes nothing. A value filter
(``emails[type eq "work"].value``) selects values of this one resource's multi-valued
attribute. Errors: ``invalidSyntax`` (not a PatchOp), ``invalidPath``, ``noTarget``
(a filter selecting nothing for ``replace``/``remove``, ``remove`` without a path),
``mutability`` (a read-only attribute).
"""

from __future__ import annotations

import copy
from typing import Any

from oxswarm.scim.errors import InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget
from oxswarm.scim.filter import (
    And,
    Compare,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    parse_path,
)
from oxswarm.scim.schemas import PATCH_OP, Attr, ResourceType

MAX_OPERATIONS = 1000


def _get(item: dict[str, Any], name: str) -> Any:
    return next((v for k, v in item.items() if k.lower() == name.lower()), None)


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def matches(node: Filter, item: Any) -> bool:
    """Whether one value of a multi-valued attribute matches a value filter."""
    if isinstance(node, And):
        return matches(node.left, item) and matches(node.right, item)
    if isinstance(node, Or):
        return matches(node.left, item) or matches(node.right, item)
    if isinstance(node, Not):
        return not matches(node.inner, item)
    if isinstance(node, ValuePath):
        raise InvalidPath("a value filter cannot hold another value path")
    value = _get(item, node.path.attr) if isinstance(item, dict) else item
    if isinstance(node, Present):
        return value not in (None, "", [], {})
    assert isinstance(node, Compare)
    have, want = _norm(value), _norm(node.value)
    if node.op == "eq":
        return bool(have == want)
    if node.op == "ne":
        return bool(have != want)
    if have is None or want is None:
        return False
    if node.op in ("co", "sw", "ew"):
        if not isinstance(have, str) or not isinstance(want, str):
            return False
        return {"co": want in have, "sw": have.startswith(want), "ew": have.endswith(want)}[node.op]
    try:
        return bool(
            {"gt": have > want, "ge": have >= want, "lt": have < want, "le": have <= want}[node.op]
        )
    except TypeError:
        return False


def _locate(
    resource: dict[str, Any], target: PatchPath, rtype: ResourceType
) -> tuple[dict[str, Any], Attr]:
    """The object holding the attribute (the resource or an extension) and its definition."""
    path = target.path
    if path.urn and path.urn.lower() != rtype.schema.id.lower():
        ext = rtype.extension(path.urn)
        attr = ext.attr(path.attr) if ext else None
        whole = rtype.extension(f"{path.urn}:{path.attr}")
        if whole is not None and not path.sub and target.filter is None:
            # the path names an extension as a whole: it is one complex attribute
            if whole.id not in resource["schemas"]:
                resource["schemas"].append(whole.id)
            return resource, Attr(whole.id, "complex", sub=whole.attributes)
        if ext is None or attr is None:
            raise InvalidPath(f"path {path}: no such attribute")
        holder = resource.setdefault(ext.id, {})
        if ext.id not in resource["schemas"]:
            resource["schemas"].append(ext.id)
        return holder, attr
    attr = rtype.attr(path.attr)
    if attr is None:
        raise InvalidPath(f"path {path}: no such attribute")
    return resource, attr


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        merged.update(new)
        return merged
    return new


def _apply_plain(op: str, holder: dict[str, Any], attr: Attr, sub: str | None, value: Any) -> None:
    name = attr.name
    if sub:
        sub_attr = attr.child(sub)
        if sub_attr is None:
            raise InvalidPath(f"path {name}.{sub}: no such sub-attribute")
        if sub_attr.mutability == "readOnly":
            raise Mutability(f"{name}.{sub_attr.name} is read-only")
        if attr.multi:
            items = holder.get(name) or []
            if op == "remove":
                for item in items:
                    item.pop(sub_attr.name, None)
            else:
                for item in items:
                    item[sub_attr.name] = value
            return
        current = dict(holder.get(name) or {})
        if op == "remove":
            current.pop(sub_attr.name, None)
        else:
            current[sub_attr.name] = value
        holder[name] = current
        return
    if op == "remove":
        if attr.multi and value is not None:  # remove the given values (common practice)
            gone = value if isinstance(value, list) else [value]
            keys = [_norm(_get(v, "value")) if isinstance(v, dict) else _norm(v) for v in gone]
            holder[name] = [
                i
                for i in holder.get(name) or []
                if _norm(_get(i, "value") if isinstance(i, dict) else i) not in keys
            ]
            return
        holder.pop(name, None)
        return
    if attr.multi:
        new = value if isinstance(value, list) else [value]
        if op == "add":
            items = list(holder.get(name) or [])
            for item in new:
                if item not in items:
                    items.append(item)
            holder[name] = items
        else:
            holder[name] = new
        return
    holder[name] = _merge(holder.get(name), value) if attr.type == "complex" else value


def _apply_filtered(
    op: str, holder: dict[str, Any], attr: Attr, target: PatchPath, value: Any
) -> None:
    assert target.filter is not None
    if not attr.multi or attr.type != "complex":
        raise InvalidPath(
            f"path {target.path}: a value filter needs a multi-valued complex attribute"
        )
    items = holder.get(attr.name) or []
    chosen = [i for i, item in enumerate(items) if matches(target.filter, item)]
    if not chosen:
        if op == "add" and target.sub:
            raise NoTarget(f"path {target.path}[...]: no value matches the filter")
        raise NoTarget(f"path {target.path}[...]: no value matches the filter")
    sub_attr = attr.child(target.sub) if target.sub else None
    if target.sub and sub_attr is None:
        raise InvalidPath(f"path {attr.name}.{target.sub}: no such sub-attribute")
    if op == "remove":
        if sub_attr:
            for i in chosen:
                items[i].pop(sub_attr.name, None)
        else:
            items = [item for i, item in enumerate(items) if i not in chosen]
    else:
        for i in chosen:
            if sub_attr:
                items[i][sub_attr.name] = value
            elif isinstance(value, dict):
                items[i] = _merge(items[i], value)
            else:
                raise InvalidValue(f"{attr.name}: a value selected by a filter takes an object")
    holder[attr.name] = items


def _apply_one(
    resource: dict[str, Any], op: str, path: str | None, value: Any, rtype: ResourceType
) -> None:
    if path is None or path == "":
        if op == "remove":
            raise NoTarget("remove: a path is required")
        if not isinstance(value, dict):
            raise InvalidValue(f"{op}: without a path the value must be an object")
        for key, sub_value in value.items():
            ext = rtype.extension(key)
            if ext is not None and isinstance(sub_value, dict):
                for ext_key, ext_value in sub_value.items():
                    _apply_one(resource, op, f"{ext.id}:{ext_key}", ext_value, rtype)
            else:
                _apply_one(resource, op, key, sub_value, rtype)
        return
    if not isinstance(path, str):
        raise InvalidPath("path: must be a string")
    target = parse_path(path)
    holder, attr = _locate(resource, target, rtype)
    if attr.mutability == "readOnly":
        raise Mutability(f"{attr.name} is read-only")
    if attr.mutability == "immutable" and holder.get(attr.name) not in (None, [], ""):
        raise Mutability(f"{attr.name} is immutable")
    if op != "remove" and value is None:
        raise InvalidValue(f"{op} {path}: a value is required")
    if target.filter is not None:
        _apply_filtered(op, holder, attr, target, value)
    else:
        _apply_plain(op, holder, attr, target.path.sub, value)


def apply_patch(resource: dict[str, Any], body: Any, rtype: ResourceType) -> dict[str, Any]:
    """A copy of ``resource`` with the PatchOp ``body`` applied (nothing is changed on error)."""
    if not isinstance(body, dict):
        raise InvalidSyntax("the body must be a JSON object")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or PATCH_OP not in schemas:
        raise InvalidSyntax(f"schemas: must be [{PATCH_OP!r}]")
    operations = body.get("Operations", body.get("operations"))
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("Operations: must be a non-empty list")
    if len(operations) > MAX_OPERATIONS:
        raise InvalidSyntax(f"Operations: at most {MAX_OPERATIONS}")
    result = copy.deepcopy(resource)
    result.setdefault("schemas", [rtype.schema.id])
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise InvalidSyntax(f"Operations[{index}]: must be an object")
        op = _get(operation, "op")
        if not isinstance(op, str) or op.lower() not in ("add", "remove", "replace"):
            raise InvalidSyntax(f"Operations[{index}].op: must be add, remove or replace")
        _apply_one(result, op.lower(), _get(operation, "path"), _get(operation, "value"), rtype)
    return result
