"""Bulk (RFC 7644 section 3.7): many operations in one request, ``bulkId`` references.

Operations run in order through the same :class:`~oxswarm.oxtrust.scim.api.ScimApi`
as single requests (each needs its own scope too). A value ``"bulkId:<id>"`` anywhere
in an operation's ``data`` or ``path`` is replaced by the id of the resource that the
operation with that ``bulkId`` created; an operation whose reference is defined by a
later operation waits for it (section 3.7.1), and a reference never resolved (unknown or
circular) fails that operation with 409 ``invalidValue``. ``failOnErrors`` stops the
run after that many errors. ``maxOperations`` and ``maxPayloadSize`` are announced in
ServiceProviderConfig; more operations -> 413.
"""

from __future__ import annotations

import re
from typing import Any

from oxswarm.oauth.models import AccessTokenRecord
from oxswarm.oxtrust.scim.api import ScimApi
from oxswarm.scim.errors import (
    InvalidSyntax,
    InvalidValue,
    PayloadTooLarge,
    ScimError,
)
from oxswarm.scim.schemas import BULK_REQUEST, BULK_RESPONSE, GROUP_TYPE, USER_TYPE, Limits

_PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?$")
_REF = re.compile(r"^bulkId:(.+)$")


class _Unresolved(Exception):
    def __init__(self, ref: str) -> None:
        super().__init__(ref)
        self.ref = ref


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        match = _REF.match(value)
        if match:
            if match.group(1) not in ids:
                raise _Unresolved(match.group(1))
            return ids[match.group(1)]
        return value
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    return value


async def _one(
    api: ScimApi, record: AccessTokenRecord, op: dict[str, Any], ids: dict[str, str], base: str
) -> dict[str, Any]:
    method = str(op.get("method", "")).upper()
    bulk_id = op.get("bulkId")
    path = op.get("path")
    if isinstance(path, str) and "/bulkId:" in path:  # /Users/bulkId:u1
        head, _, ref = path.rpartition("/")
        path = f"{head}/{_resolve(ref, ids)}"
    match = _PATH.match(path) if isinstance(path, str) else None
    if match is None:
        raise InvalidValue(f"path: {path!r} is not /Users, /Groups or one of their resources")
    rtype = USER_TYPE if match.group(1) == "Users" else GROUP_TYPE
    inum = match.group(2)
    data = _resolve(op.get("data"), ids)
    version = op.get("version")
    result: dict[str, Any] = {"method": method}
    if bulk_id:
        result["bulkId"] = bulk_id
    if method == "POST" and inum is None:
        if not isinstance(bulk_id, str) or not bulk_id:
            raise InvalidValue("bulkId: required for POST")
        resource, ver = await api.create(record, rtype, data, base)
        ids[bulk_id] = resource["id"]
        status = "201"
    elif method in ("PUT", "PATCH") and inum:
        call = api.replace if method == "PUT" else api.patch
        resource, ver = await call(record, rtype, inum, data, base, if_match=version)
        status = "200"
    elif method == "DELETE" and inum:
        await api.delete(record, rtype, inum, version)
        result.update(status="204", location=f"{base}/{match.group(1)}/{inum}")
        return result
    else:
        raise InvalidValue(f"method: {method!r} does not apply to {path!r}")
    result.update(status=status, location=resource["meta"]["location"], version=f'W/"{ver}"')
    return result


def _failure(op: Any, exc: ScimError) -> dict[str, Any]:
    result: dict[str, Any] = {"status": str(exc.status), "response": exc.body()}
    if isinstance(op, dict):
        result["method"] = str(op.get("method", "")).upper()
        if op.get("bulkId"):
            result["bulkId"] = op["bulkId"]
    return result


async def run_bulk(
    api: ScimApi, record: AccessTokenRecord, body: Any, base: str, limits: Limits
) -> dict[str, Any]:
    """Run a BulkRequest; the BulkResponse (operations in request order)."""
    if not isinstance(body, dict) or BULK_REQUEST not in (body.get("schemas") or []):
        raise InvalidSyntax(f"schemas: must be [{BULK_REQUEST!r}]")
    operations = body.get("Operations")
    if not isinstance(operations, list):
        raise InvalidSyntax("Operations: must be a list")
    if len(operations) > limits.max_bulk_operations:
        raise PayloadTooLarge(f"Operations: more than maxOperations ({limits.max_bulk_operations})")
    fail_on = body.get("failOnErrors")
    if fail_on is not None and (not isinstance(fail_on, int) or fail_on < 1):
        raise InvalidValue("failOnErrors: must be a positive integer")
    ids: dict[str, str] = {}
    results: dict[int, dict[str, Any]] = {}
    pending = list(range(len(operations)))
    errors = 0
    while pending and not (fail_on and errors >= fail_on):
        waiting: list[int] = []
        for index in pending:
            if fail_on and errors >= fail_on:
                break
            op = operations[index]
            try:
                if not isinstance(op, dict):
                    raise InvalidSyntax(f"Operations[{index}]: must be an object")
                results[index] = await _one(api, record, op, ids, base)
            except _Unresolved:
                waiting.append(index)
            except ScimError as exc:
                results[index] = _failure(op, exc)
                errors += 1
        if len(waiting) == len(pending):  # nothing progressed: unknown or circular refs
            for index in waiting:
                ref = InvalidValue(f"bulkId reference in Operations[{index}] is never defined", 409)
                results[index] = _failure(operations[index], ref)
                errors += 1
            break
        pending = waiting
    return {
        "schemas": [BULK_RESPONSE],
        "Operations": [results[i] for i in sorted(results)],
    }
