"""SCIM 2.0 over HTTP (RFC 7644): Starlette routes under ``/identity/restv1/scim/v2``.

Every request's bearer token and scope are checked before its body is read; bodies
larger than ``maxPayloadSize`` are refused (413) unread. Errors are SCIM error bodies
(RFC 7644 3.12), rendered in :func:`_error`; directory outages answer 503, never a
stack trace. Responses are ``application/scim+json``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from oxswarm.errors import DirectoryUnavailable, OxSwarmError
from oxswarm.oauth.models import AccessTokenRecord
from oxswarm.oxtrust.scim.api import ScimApi, ScimDeps, listing
from oxswarm.oxtrust.scim.auth import BearerError, ScopeError, authorize, require
from oxswarm.oxtrust.scim.bulk import run_bulk
from oxswarm.scim.errors import (
    InvalidSyntax,
    NotFound,
    PayloadTooLarge,
    ScimError,
    Unavailable,
)
from oxswarm.scim.etag import etag, none_match
from oxswarm.scim.resource import project
from oxswarm.scim.schemas import (
    GROUP_TYPE,
    LIST_RESPONSE,
    RESOURCE_TYPES,
    SCHEMAS,
    SEARCH_REQUEST,
    USER_TYPE,
    ResourceType,
    service_provider_config,
)

log = logging.getLogger(__name__)
MEDIA_TYPE: Final = "application/scim+json"
Handler = Callable[[Request], Awaitable[Response]]
_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")


def scim_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _error(exc: ScimError) -> Response:
    headers = {}
    if isinstance(exc, (BearerError, ScopeError)):
        headers["WWW-Authenticate"] = exc.challenge
    return scim_response(exc.body(), exc.status, headers)


def _guard(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ScimError as exc:
            return _error(exc)
        except DirectoryUnavailable as exc:
            log.warning("SCIM %s %s: %s", request.method, request.url.path, exc)
            return _error(Unavailable("the directory is unavailable, try again"))
        except OxSwarmError as exc:
            log.warning("SCIM %s %s failed: %s", request.method, request.url.path, exc)
            return _error(ScimError("the directory refused the operation", status=500))

    return run


class ScimHttp:
    """The handlers; ``deps`` and the operations are shared with Bulk."""

    def __init__(self, deps: ScimDeps) -> None:
        self.deps = deps
        self.api = ScimApi(deps)

    def base(self, request: Request) -> str:
        root = self.deps.public_url or f"{request.url.scheme}://{request.url.netloc}"
        return root.rstrip("/") + self.deps.prefix

    async def token(self, request: Request) -> AccessTokenRecord:
        return await authorize(self.deps.tokens, request.headers.get("authorization"))

    async def body(self, request: Request) -> Any:
        limit = self.deps.limits.max_payload_size
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"the body is larger than maxPayloadSize ({limit} bytes)")
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise PayloadTooLarge(f"the body is larger than maxPayloadSize ({limit} bytes)")
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidSyntax(f"the body is not JSON: {exc}") from exc

    def _shown(
        self, request: Request, rtype: ResourceType, resource: dict[str, Any]
    ) -> dict[str, Any]:
        params = listing(dict(request.query_params))
        return project(resource, rtype, params.attributes, params.excluded)

    def _one(
        self,
        request: Request,
        rtype: ResourceType,
        resource: dict[str, Any],
        version: str,
        status: int = 200,
    ) -> Response:
        headers = {"ETag": etag(version)}
        if status == 201:
            headers["Location"] = resource["meta"]["location"]
        return scim_response(self._shown(request, rtype, resource), status, headers)

    # -- resources -----------------------------------------------------------------------
    def collection(self, rtype: ResourceType) -> Handler:
        async def handle(request: Request) -> Response:
            record = await self.token(request)
            if request.method == "GET":
                self.api.check_read(record, rtype)
                params = listing(dict(request.query_params))
                return scim_response(
                    await self.api.search(record, [rtype], params, self.base(request))
                )
            self.api.check_write(record, rtype)
            resource, version = await self.api.create(
                record, rtype, await self.body(request), self.base(request)
            )
            return self._one(request, rtype, resource, version, 201)

        return _guard(handle)

    def search(self, rtype: ResourceType | None) -> Handler:
        async def handle(request: Request) -> Response:
            record = await self.token(request)
            types = [rtype] if rtype else self.api.readable(record)
            if rtype:
                self.api.check_read(record, rtype)
            elif not types:
                require(record, ("https://gluu.org/scim/users.read",))
            body = await self.body(request)
            if not isinstance(body, dict) or SEARCH_REQUEST not in (body.get("schemas") or []):
                raise InvalidSyntax(f"schemas: must be [{SEARCH_REQUEST!r}]")
            params = listing(body)
            return scim_response(await self.api.search(record, types, params, self.base(request)))

        return _guard(handle)

    def item(self, rtype: ResourceType) -> Handler:
        async def handle(request: Request) -> Response:
            record = await self.token(request)
            inum = request.path_params["id"]
            if_match = request.headers.get("if-match")
            base = self.base(request)
            if request.method == "GET":
                resource, version = await self.api.get(record, rtype, inum, base)
                if none_match(request.headers.get("if-none-match"), version):
                    return Response(status_code=304, headers={"ETag": etag(version)})
                return self._one(request, rtype, resource, version)
            self.api.check_write(record, rtype)
            if request.method == "DELETE":
                await self.api.delete(record, rtype, inum, if_match)
                return Response(status_code=204)
            body = await self.body(request)
            if request.method == "PUT":
                resource, version = await self.api.replace(
                    record, rtype, inum, body, base, if_match=if_match
                )
            else:
                resource, version = await self.api.patch(
                    record, rtype, inum, body, base, if_match=if_match
                )
            return self._one(request, rtype, resource, version)

        return _guard(handle)

    async def bulk(self, request: Request) -> Response:
        record = await self.token(request)
        require(record, ("https://gluu.org/scim/bulk",))
        body = await self.body(request)
        result = await run_bulk(self.api, record, body, self.base(request), self.deps.limits)
        return scim_response(result)

    # -- discovery (RFC 7644 section 4): public, nothing secret in it -------------------
    async def spc(self, request: Request) -> Response:
        return scim_response(service_provider_config(self.base(request), self.deps.limits))

    async def resource_types(self, request: Request) -> Response:
        base = self.base(request)
        wanted = request.path_params.get("id")
        found = [t.to_json(base) for t in RESOURCE_TYPES if wanted in (None, t.name)]
        if wanted:
            if not found:
                raise NotFound(f"no resource type {wanted!r}")
            return scim_response(found[0])
        return scim_response(_list(found))

    async def schemas(self, request: Request) -> Response:
        base = self.base(request)
        wanted = request.path_params.get("id")
        found = [s.to_json(base) for s in SCHEMAS if wanted in (None, s.id)]
        if wanted:
            if not found:
                raise NotFound(f"no schema {wanted!r}")
            return scim_response(found[0])
        return scim_response(_list(found))

    async def unknown(self, request: Request) -> Response:
        raise NotFound(f"no SCIM endpoint {request.url.path}")

    async def well_known(self, request: Request) -> Response:
        """Gluu's ``/.well-known/scim-configuration``: where each endpoint is."""
        base = self.base(request)
        root = base.removesuffix(self.deps.prefix)
        return JSONResponse(
            [
                {
                    "version": "2.0",
                    "authorization_endpoint": f"{root}/oxauth/restv1/authorize",
                    "user_endpoint": f"{base}/Users",
                    "group_endpoint": f"{base}/Groups",
                    "bulk_endpoint": f"{base}/Bulk",
                    "service_provider_endpoint": f"{base}/ServiceProviderConfig",
                    "resource_types_endpoint": f"{base}/ResourceTypes",
                    "schemas_endpoint": f"{base}/Schemas",
                }
            ]
        )


def _list(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _route(path: str, handler: Handler, methods: tuple[str, ...]) -> Route:
    """A route answering every method: the others get a SCIM 405 (RFC 7644 3.12)."""

    async def only(request: Request) -> Response:
        if request.method not in methods:
            error = ScimError(f"{request.method} is not allowed here", status=405)
            return scim_response(error.body(), 405, {"Allow": ", ".join(methods)})
        return await handler(request)

    return Route(path, only, methods=list(_METHODS))


def scim_routes(deps: ScimDeps) -> list[BaseRoute]:
    """The routes, relative to ``deps.prefix`` (mount them there)."""
    http = ScimHttp(deps)
    get = ("GET",)
    routes: list[BaseRoute] = []
    for rtype in (USER_TYPE, GROUP_TYPE):
        path = f"/{rtype.endpoint}"
        routes += [
            _route(path, http.collection(rtype), ("GET", "POST")),
            _route(f"{path}/.search", http.search(rtype), ("POST",)),
            _route(f"{path}/{{id}}", http.item(rtype), ("GET", "PUT", "PATCH", "DELETE")),
        ]
    routes += [
        _route("/.search", http.search(None), ("POST",)),
        _route("/Bulk", _guard(http.bulk), ("POST",)),
        _route("/ServiceProviderConfig", _guard(http.spc), get),
        _route("/ResourceTypes", _guard(http.resource_types), get),
        _route("/ResourceTypes/{id}", _guard(http.resource_types), get),
        _route("/Schemas", _guard(http.schemas), get),
        _route("/Schemas/{id:path}", _guard(http.schemas), get),
        _route("/{rest:path}", _guard(http.unknown), _METHODS),
    ]
    return routes


def well_known_routes(deps: ScimDeps) -> list[BaseRoute]:
    """Gluu's ``/identity/restv1/scim-configuration`` (where NGINX sends
    ``/.well-known/scim-configuration``, edge/routes.py), and the well-known path itself."""
    http = ScimHttp(deps)
    handler = _guard(http.well_known)
    return [
        Route("/.well-known/scim-configuration", handler, methods=["GET"]),
        Route("/identity/restv1/scim-configuration", handler, methods=["GET"]),
    ]
