"""The admin API over HTTP: one table of operations, served by Starlette and described
by the OpenAPI document built from the same table (:mod:`oxswarm.oxtrust.api.openapi`).

Order of checks for every request: the bearer token (RFC 6750: none or a bad one is 401
with ``WWW-Authenticate: Bearer``), its scope (403 ``insufficient_scope``), then the query
and the body (400 naming the field). Bodies over 64 KiB are refused unread (413).
Errors are one JSON shape (``models.Error``), rendered in :func:`_error`; directory or
store outages answer 503, never a stack trace.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from oxswarm.errors import (
    AssertionFailed,
    Conflict,
    InvalidInput,
    NotFound,
    OxSwarmError,
    Unavailable,
)
from oxswarm.oauth.models import AccessTokenRecord
from oxswarm.oxtrust.api import models as m
from oxswarm.oxtrust.api.service import Actor, AdminService, ClientRefused, Listed
from oxswarm.oxtrust.scim.auth import TokenLookup

log = logging.getLogger(__name__)

PREFIX: Final = "/identity/restv1/api/v1"
READ: Final = "https://gluu.org/oxtrust/api.read"
WRITE: Final = "https://gluu.org/oxtrust/api.write"
API_SCOPES: Final = (READ, WRITE)
MAX_BODY: Final = 64 * 1024
MAX_LIMIT: Final = 200
DEFAULT_LIMIT: Final = 50


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, description: str, field: str | None = None,
        challenge: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(description)
        self.status, self.error, self.description = status, error, description
        self.field, self.challenge = field, challenge


@dataclass
class Call:
    """One request after its checks: the caller, path parameters, query and body."""

    request: Request
    actor: Actor
    path: dict[str, str]
    start: int = 0
    limit: int = DEFAULT_LIMIT
    q: str | None = None
    body: Any = None


Handler = Callable[[AdminService, Call], Any]


@dataclass(frozen=True)
class Op:
    """One operation: HTTP method and path, scope, models in and out, and the handler."""

    method: str
    path: str
    op_id: str
    summary: str
    tag: str
    handler: Handler
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    listing: bool = False
    search: bool = True
    errors: tuple[int, ...] = (400, 401, 403, 404, 503)
    route_path: str | None = None  # Starlette's, when it differs (``{name:path}``)
    params: dict[str, str] = field(default_factory=dict)  # path parameter -> description
    current: Handler | None = None  # reads the resource: ETag on GET, If-Match on PUT/DELETE

    @property
    def scope(self) -> str:
        return READ if self.method == "GET" else WRITE


# -- request checks ----------------------------------------------------------------------------
def _bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(401, "invalid_token", "a bearer access token is required",
                       challenge='Bearer realm="oxtrust"')  # fmt: skip
    return value.strip()


async def _authorize(lookup: TokenLookup, request: Request, scope: str) -> AccessTokenRecord:
    record = await lookup.active(_bearer(request))
    if record is None:
        raise ApiError(401, "invalid_token", "the access token is invalid, expired or revoked",
                       challenge='Bearer realm="oxtrust", error="invalid_token"')  # fmt: skip
    allowed = (READ, WRITE) if scope == READ else (WRITE,)
    if not set(allowed) & set(record.scope):
        raise ApiError(
            403, "insufficient_scope", f"the access token lacks the scope {scope}",
            challenge=f'Bearer realm="oxtrust", error="insufficient_scope", scope="{scope}"',
        )  # fmt: skip
    return record


def actor_of(record: AccessTokenRecord, request: Request) -> Actor:
    name = f"client:{record.client_id}"
    if record.sub:
        name = f"user:{record.sub} via {name}"
    return Actor(name, request.client.host if request.client else None)


def _int(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name}: must be an integer", field=name) from None
    if value < low or (high is not None and value > high):
        upper = f" and at most {high}" if high is not None else ""
        raise InvalidInput(f"{name}: must be at least {low}{upper}", field=name)
    return value


async def _body(request: Request, model: type[BaseModel]) -> BaseModel:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, "invalid_request", f"body: larger than {MAX_BODY} bytes", "body")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "invalid_request", f"body: larger than {MAX_BODY} bytes", "body")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("body: must be a JSON object", field="body") from None
    if not isinstance(data, dict):
        raise InvalidInput("body: must be a JSON object", field="body")
    return m.parse(model, data)


# -- rendering ------------------------------------------------------------------------------
def _error(exc: ApiError) -> Response:
    body = {"error": exc.error, "error_description": exc.description, "field": exc.field}
    headers = {"WWW-Authenticate": exc.challenge} if exc.challenge else None
    return JSONResponse(body, status_code=exc.status, headers=headers)


def _translate(exc: OxSwarmError) -> ApiError:
    if isinstance(exc, ClientRefused):
        return ApiError(400, exc.error, str(exc), exc.field)
    if isinstance(exc, InvalidInput):
        return ApiError(400, "invalid_request", str(exc), exc.field)
    if isinstance(exc, NotFound):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, AssertionFailed):  # changed since the If-Match version was read
        return ApiError(412, "precondition_failed", str(exc), "If-Match")
    if isinstance(exc, Conflict):
        return ApiError(409, "conflict", str(exc))
    if isinstance(exc, Unavailable):
        return ApiError(503, "temporarily_unavailable", "the directory or config store is "
                                                        "unavailable, try again")
    return ApiError(503, "temporarily_unavailable", "the directory refused the operation")


def endpoint(
    op: Op, service: AdminService, lookup: TokenLookup
) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        try:
            record = await _authorize(lookup, request, op.scope)
            call = Call(request, actor_of(record, request), dict(request.path_params))
            if op.listing:
                call.start = _int(request, "start", 0, 0, None)
                call.limit = _int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
                call.q = request.query_params.get("q") or None
            if op.body is not None:
                call.body = await _body(request, op.body)
            if_match = request.headers.get("if-match")
            if op.current is not None and if_match and op.method != "GET":
                now = await run_in_threadpool(op.current, service, call)
                if if_match.strip() not in ("*", etag_of(now)):
                    raise ApiError(412, "precondition_failed",
                                   "If-Match: the resource has changed", "If-Match")  # fmt: skip
            result = await run_in_threadpool(op.handler, service, call)
        except ApiError as exc:
            return _error(exc)
        except OxSwarmError as exc:
            translated = _translate(exc)
            if translated.status >= 500:
                log.warning("API %s %s: %s", request.method, request.url.path, exc)
            return _error(translated)
        if op.status == 204:
            return Response(status_code=204)
        if isinstance(result, Listed):
            result = {"total": result.total, "start": call.start, "limit": call.limit,
                      "items": result.items}  # fmt: skip
        headers = {"ETag": etag_of(result)} if op.current is not None else None
        return JSONResponse(result, status_code=op.status, headers=headers)

    return run


def etag_of(resource: Any) -> str:
    """A weak ETag (RFC 9110 8.8.3) of a resource's JSON, secrets left out."""
    if isinstance(resource, dict):
        resource = {k: v for k, v in resource.items() if k != "client_secret"}
    text = json.dumps(resource, sort_keys=True, separators=(",", ":"), default=str)
    return f'W/"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'



def api_routes(ops: list[Op], service: AdminService, lookup: TokenLookup,
               openapi: dict[str, Any]) -> list[BaseRoute]:  # fmt: skip
    """Routes relative to :data:`PREFIX` (mounted there by the app)."""
    by_path: dict[str, dict[str, Op]] = {}
    for op in ops:
        by_path.setdefault(op.route_path or op.path, {})[op.method] = op

    async def document(_request: Request) -> Response:
        return JSONResponse(openapi)

    routes: list[BaseRoute] = [Route("/openapi.json", document, methods=["GET"])]
    for path, methods in by_path.items():
        handlers = {method: endpoint(op, service, lookup) for method, op in methods.items()}

        async def dispatch(request: Request, handlers: dict[str, Any] = handlers) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            return await handlers[method](request)  # type: ignore[no-any-return]

        routes.append(Route(path, dispatch, methods=list(methods)))
    return routes


async def http_error(request: Request, exc: Exception) -> Response:
    """The app's handler of Starlette's own 404/405: JSON under :data:`PREFIX` (any path
    there, even one no route pattern can match, e.g. with a newline), text elsewhere."""
    status = getattr(exc, "status_code", 500)
    if not request.url.path.startswith(PREFIX):
        return PlainTextResponse(str(getattr(exc, "detail", "")), status_code=status,
                                 headers=getattr(exc, "headers", None))  # fmt: skip
    code = "not_found" if status == 404 else "invalid_request"
    return _error(ApiError(status, code, str(getattr(exc, "detail", "")) or code))
