"""SCIM operations (RFC 7644 section 3) on Users and Groups, free of HTTP.

The HTTP routes (:mod:`oxswarm.oxtrust.scim.routes`) and Bulk
(:mod:`oxswarm.oxtrust.scim.bulk`) both call these, so each rule (scopes, input checks,
ETags, paging limits) is written once. Directory calls block: they run in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from oxswarm.oauth.models import AccessTokenRecord
from oxswarm.oxtrust.scim.auth import SCOPES, TokenLookup, can, require
from oxswarm.oxtrust.scim.store import Page, Query, ScimDirectory
from oxswarm.scim.errors import InvalidFilter, InvalidValue, PreconditionFailed, ScimError
from oxswarm.scim.etag import check_if_match, etag
from oxswarm.scim.patch import apply_patch
from oxswarm.scim.resource import normalize, project
from oxswarm.scim.schemas import LIST_RESPONSE, RESOURCE_TYPES, Limits, ResourceType

T = TypeVar("T")


@dataclass(frozen=True)
class ScimDeps:
    """What the SCIM service needs: the directory store, token lookup and limits."""

    store: ScimDirectory
    tokens: TokenLookup
    limits: Limits = field(default_factory=Limits)
    public_url: str | None = None  # https://host; else the request's own scheme and host
    prefix: str = "/identity/restv1/scim/v2"


@dataclass(frozen=True)
class Listing:
    """The query parameters of a list or search request (RFC 7644 3.4.2, 3.4.3)."""

    query: Query
    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidValue(f"{name}: must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"{name}: must be an integer") from None


def _names(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise InvalidValue(f"{name}: must be a list of attribute names")


def listing(params: Mapping[str, Any]) -> Listing:
    """Parse ``filter sortBy sortOrder startIndex count attributes excludedAttributes``."""
    text = params.get("filter")
    if text is not None and not isinstance(text, str):
        raise InvalidFilter("filter: must be a string")
    sort_by = params.get("sortBy")
    if sort_by is not None and not isinstance(sort_by, str):
        raise InvalidValue("sortBy: must be an attribute name")
    order = params.get("sortOrder") or "ascending"
    if order not in ("ascending", "descending"):
        raise InvalidValue("sortOrder: must be ascending or descending")
    start = _int(params.get("startIndex"), "startIndex")
    count = _int(params.get("count"), "count")
    query = Query(
        filter=text or None,
        sort_by=sort_by or None,
        descending=order == "descending",
        start_index=max(1, start or 1),  # RFC 7644 3.4.2.4: below 1 is read as 1
        count=None if count is None else max(0, count),
    )
    return Listing(
        query,
        _names(params.get("attributes"), "attributes"),
        _names(params.get("excludedAttributes"), "excludedAttributes"),
    )


class ScimApi:
    """One method per SCIM operation; ``record`` is the caller's validated token."""

    def __init__(self, deps: ScimDeps) -> None:
        self.deps = deps
        self.store = deps.store

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        return await run_in_threadpool(func, *args)

    def readable(self, record: AccessTokenRecord) -> list[ResourceType]:
        return [t for t in RESOURCE_TYPES if can(record, SCOPES[t.name][0])]

    def check_read(self, record: AccessTokenRecord, rtype: ResourceType) -> None:
        require(record, SCOPES[rtype.name][0])

    def check_write(self, record: AccessTokenRecord, rtype: ResourceType) -> None:
        require(record, (SCOPES[rtype.name][1],))

    async def get(
        self, record: AccessTokenRecord, rtype: ResourceType, inum: str, base: str
    ) -> tuple[dict[str, Any], str]:
        self.check_read(record, rtype)
        return await self._run(self.store.get, rtype, inum, base)

    async def create(
        self, record: AccessTokenRecord, rtype: ResourceType, body: Any, base: str
    ) -> tuple[dict[str, Any], str]:
        self.check_write(record, rtype)
        resource = normalize(body, rtype)
        return await self._run(self.store.create, rtype, resource, base)

    async def replace(
        self,
        record: AccessTokenRecord,
        rtype: ResourceType,
        inum: str,
        body: Any,
        base: str,
        *,
        if_match: str | None,
    ) -> tuple[dict[str, Any], str]:
        self.check_write(record, rtype)
        resource = normalize(body, rtype)
        return await self._run(self.store.replace, rtype, inum, resource, base, if_match)

    async def patch(
        self,
        record: AccessTokenRecord,
        rtype: ResourceType,
        inum: str,
        body: Any,
        base: str,
        *,
        if_match: str | None,
    ) -> tuple[dict[str, Any], str]:
        self.check_write(record, rtype)
        for attempt in range(3):
            current, version = await self._run(self.store.get, rtype, inum, base)
            check_if_match(if_match, version)
            resource = normalize(apply_patch(current, body, rtype), rtype)
            try:  # written only if nobody changed it since it was read
                return await self._run(
                    self.store.replace, rtype, inum, resource, base, etag(version)
                )
            except PreconditionFailed:
                if if_match is not None or attempt == 2:
                    raise  # the client's version is gone; or too much contention
        raise AssertionError("unreachable")  # pragma: no cover

    async def delete(
        self, record: AccessTokenRecord, rtype: ResourceType, inum: str, if_match: str | None
    ) -> None:
        self.check_write(record, rtype)
        await self._run(self.store.delete, rtype, inum, if_match)

    async def search(
        self, record: AccessTokenRecord, types: list[ResourceType], params: Listing, base: str
    ) -> dict[str, Any]:
        """A ListResponse over ``types`` in order (several only for the root search)."""
        query = params.query
        count = self.deps.limits.max_results if query.count is None else query.count
        count = min(count, self.deps.limits.max_results)
        resources: list[dict[str, Any]] = []
        total = 0
        failures: list[ScimError] = []
        for rtype in types:
            offset = max(1, query.start_index - total)
            want = count - len(resources)
            sub = Query(query.filter, query.sort_by, query.descending, offset, max(want, 0))
            try:
                page: Page = await self._run(self.store.search, rtype, sub, base)
            except InvalidFilter as exc:
                if len(types) == 1:
                    raise
                failures.append(exc)
                continue
            resources += [
                project(r, rtype, params.attributes, params.excluded) for r in page.resources
            ]
            total += page.total
        if failures and len(failures) == len(types):
            raise failures[0]
        return {
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": query.start_index,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
