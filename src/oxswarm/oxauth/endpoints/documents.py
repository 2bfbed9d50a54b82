"""Discovery metadata and the JWKS as bytes made once, served before any middleware.

Both documents change only when what they are made of changes: the config (a live policy
change replaces ``deps.config``), the key ring (a rotation replaces its public set), the
provider. :class:`Document` renders one again only then (compared by identity, no work
per request) and keeps its bytes, a strong ``ETag`` (RFC 9110 section 8.8.3, a hash of
the bytes) and its ``Cache-Control``. A ``GET`` or ``HEAD`` whose ``If-None-Match`` names
the current tag gets ``304 Not Modified`` (RFC 9110 section 13.1.2), without a body.

:class:`DocumentFastPath` answers those paths as a bare ASGI app in front of Starlette
(counting its requests in the same metrics series); the Starlette routes of
:mod:`~oxswarm.oxauth.endpoints.discovery` and :mod:`~oxswarm.oxauth.endpoints.jwks`
serve the same bytes through :func:`respond` for anything the fast path passes on.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from oxswarm.metrics.asgi import FixedRoute
from oxswarm.oauth.oidc.discovery import provider_metadata
from oxswarm.oxauth.provider import Provider
from oxswarm.oxauth.web import i18n

JWKS_MAX_AGE: Final = 60  # relying parties re-read within the rotation's propagation delay
DISCOVERY_MAX_AGE: Final = 300
_LOCALES: Final = i18n.available()  # the pages' languages: files shipped with the package


@dataclass(frozen=True, slots=True)
class Rendered:
    """A document's bytes and the headers of its 200 and 304 answers."""

    sources: tuple[object, ...]
    body: bytes
    etag: bytes
    headers: list[tuple[bytes, bytes]]  # 200 (content type and length included)
    not_modified: list[tuple[bytes, bytes]]  # 304


class Document:
    """One document, rendered again only when one of its sources is another object."""

    def __init__(self, sources: Callable[[Provider], tuple[object, ...]],
                 make: Callable[[Provider], Any], cache_control: str) -> None:
        self._sources = sources
        self._make = make
        self._cache_control = cache_control.encode()
        self._rendered: Rendered | None = None

    def get(self, prov: Provider) -> Rendered:
        sources = self._sources(prov)
        rendered = self._rendered
        if rendered is None or not _same(rendered.sources, sources):
            rendered = self._rendered = self._render(prov, sources)
        return rendered

    def _render(self, prov: Provider, sources: tuple[object, ...]) -> Rendered:
        body = json.dumps(self._make(prov), separators=(",", ":")).encode()
        etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
        common = [(b"cache-control", self._cache_control), (b"etag", etag)]
        return Rendered(sources, body, etag, [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()), *common], common)


def _same(old: tuple[object, ...], new: tuple[object, ...]) -> bool:
    return len(old) == len(new) and all(a is b for a, b in zip(old, new, strict=True))


def _metadata(prov: Provider) -> dict[str, Any]:
    config = prov.deps.config
    doc = provider_metadata(
        config.issuer,
        signing_algs=prov.deps.keys.algorithms(),
        scopes=prov.scopes,
        grant_types=prov.token_endpoint.grant_types,
        auth_methods=prov.authenticator.method_names,
        registration=config.registration_enabled,
    )
    doc["ui_locales_supported"] = list(_LOCALES)
    return doc


DISCOVERY: Final = Document(
    lambda p: (p, p.deps.config, p.deps.keys.public_jwks()), _metadata,
    f"public, max-age={DISCOVERY_MAX_AGE}")
JWKS: Final = Document(
    lambda p: (p.deps.keys.public_jwks(),), lambda p: dict(p.deps.keys.public_jwks()),
    f"public, max-age={JWKS_MAX_AGE}")
PATHS: Final = {
    "/.well-known/openid-configuration": DISCOVERY,
    "/oxauth/.well-known/openid-configuration": DISCOVERY,
    "/oxauth/restv1/jwks": JWKS,
}


def matches(if_none_match: str | None, etag: bytes) -> bool:
    """``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 section 13.1.2)."""
    if not if_none_match:
        return False
    tag = etag.decode()
    items = (item.strip() for item in if_none_match.split(","))
    return any(item == "*" or item.removeprefix("W/") == tag for item in items)


def respond(request: Request, document: Document) -> Response:
    """The Starlette answer: the same bytes and headers as the fast path's."""
    rendered = document.get(request.app.state.provider)
    if matches(request.headers.get("if-none-match"), rendered.etag):
        status, headers, body = 304, rendered.not_modified, b""
    else:
        status, headers, body = 200, rendered.headers, rendered.body
    response = Response(body if request.method != "HEAD" else b"", status_code=status)
    response.raw_headers = list(headers)
    return response


class DocumentFastPath:
    """ASGI middleware answering ``GET``/``HEAD`` of the documents' paths directly."""

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state
        self.counted = {(path, method): FixedRoute(path, method)
                        for path in PATHS for method in ("GET", "HEAD")}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        document = PATHS.get(scope["path"]) if scope["type"] == "http" else None
        method = scope.get("method")
        if document is None or method not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        rendered = document.get(self.state.provider)
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        if matches(if_none_match, rendered.etag):
            status, headers, body = 304, rendered.not_modified, b""
        else:
            status, headers, body = 200, rendered.headers, rendered.body
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body if method == "GET" else b""})
        self.counted[(scope["path"], method)].record(status, time.perf_counter() - began)
