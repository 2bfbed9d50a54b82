"""uvicorn's httptools protocol answering discovery and the JWKS from the parser.

Relying parties fetch these two documents more than anything else, and each is bytes made
once (:mod:`oxswarm.oxauth.endpoints.documents`). Through ASGI a request still costs a
task, a scope, the request-response cycle and two writes; :class:`DocumentProtocol`
answers a plain ``GET``/``HEAD`` of their paths as soon as the headers are parsed: one
write, the same bytes and headers (``ETag``, ``Cache-Control``, ``304`` on
``If-None-Match``), counted in the same metrics series. Anything else, and these paths
when the connection is not a plain HTTP/1.1 keep-alive one or a response is still in
progress (pipelining keeps its order), goes to uvicorn as before and through the app
(:class:`~oxswarm.oxauth.endpoints.documents.DocumentFastPath`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from oxswarm.metrics.asgi import FixedRoute
from oxswarm.oxauth.endpoints.documents import PATHS, matches

log = logging.getLogger(__name__)

_RAW_PATHS: Final = {path.encode(): (path, document) for path, document in PATHS.items()}
_COUNTED: Final = {(path, method): FixedRoute(path, method)
                   for path in PATHS for method in ("GET", "HEAD")}


class _NoWaiter:
    """The cycle's ``message_event``: nobody waits for a request answered here."""

    def set(self) -> None:
        """Called by uvicorn when the connection closes (``connection_lost``)."""


class _Answered:
    """Stands for the request-response cycle of a request answered here: complete (what
    uvicorn's protocol reads or sets on a cycle: ``response_complete``, ``keep_alive``,
    ``disconnected``, ``message_event``)."""

    response_complete = True
    keep_alive = True
    disconnected = False
    message_event = _NoWaiter()


_ANSWERED: Final = _Answered()


class DocumentProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` answering the documents' plain GETs directly."""

    def on_headers_complete(self) -> None:
        try:
            answered = self._answer_document()
        except Exception:  # a document that cannot be made: the app's path answers (500)
            log.exception("answering a document from the parser failed")
            answered = False
        if not answered:
            super().on_headers_complete()

    def _answer_document(self) -> bool:
        method = self.parser.get_method()
        if method not in (b"GET", b"HEAD"):
            return False
        found = _RAW_PATHS.get(self.url.split(b"?", 1)[0])
        cycle: Any = self.cycle
        if found is None or (cycle is not None and not cycle.response_complete):
            return False
        parser = self.parser
        if (parser.get_http_version() != "1.1" or not parser.should_keep_alive()
                or parser.should_upgrade() or self.expect_100_continue):
            return False
        provider = getattr(getattr(self.app, "state", None), "provider", None)
        if provider is None:
            return False
        began = time.perf_counter()
        path, document = found
        rendered = document.get(provider)
        if_none_match = next(
            (value.decode("latin-1") for name, value in self.headers if name == b"if-none-match"),
            None)
        if matches(if_none_match, rendered.etag):
            status, headers, body = 304, rendered.not_modified, b""
        else:
            status, headers, body = 200, rendered.headers, rendered.body
        parts = [STATUS_LINE[status]]
        for name, value in (*self.server_state.default_headers, *headers):
            parts += (name, b": ", value, b"\r\n")
        parts += (b"\r\n", body if method == b"GET" else b"")
        self.transport.write(b"".join(parts))
        self.cycle = _ANSWERED  # type: ignore[assignment]
        _COUNTED[(path, method.decode())].record(status, time.perf_counter() - began)
        self.on_response_complete()
        return True
