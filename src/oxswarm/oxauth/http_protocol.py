"""uvicorn's httptools protocol answering discovery, the JWKS and tokens from the parser.

Relying parties fetch these two documents more than anything else, and each is bytes made
once (:mod:`oxswarm.oxauth.endpoints.documents`). Through ASGI a request still costs a
task, a scope, the request-response cycle and two writes; :class:`DocumentProtocol`
answers a plain ``GET``/``HEAD`` of their paths as soon as the headers are parsed: one
write, the same bytes and headers (``ETag``, ``Cache-Control``, ``304`` on
``If-None-Match``), counted in the same metrics series. A ``POST`` to the token endpoint
(RFC 6749 section 3.2) with a ``Content-Length`` body is answered when its body is parsed,
by :func:`oxswarm.oxauth.endpoints.token.answer` (the same function as the app's fast
path: one rule in one place), in one write. Anything else, and these paths when the
connection is not a plain HTTP/1.1 keep-alive one, the request carries ``Expect`` or a
chunked body, or a response is still in progress (pipelining keeps its order), goes to
uvicorn as before and through the app
(:class:`~oxswarm.oxauth.endpoints.documents.DocumentFastPath`,
:class:`~oxswarm.oxauth.endpoints.token.TokenFastPath`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from oxswarm.metrics.asgi import FixedRoute
from oxswarm.oxauth.endpoints import token
from oxswarm.oxauth.endpoints.documents import PATHS, matches
from oxswarm.oxauth.last_resort import error_response

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
_TOKEN_PATH: Final = token.PATH.encode()


class _Pending:
    """The cycle of a token request answered here while its answer is being made (what
    uvicorn reads or sets on it: a pipelined request waits; ``connection_lost`` sets
    ``disconnected``; ``shutdown`` clears ``keep_alive``)."""

    __slots__ = ("disconnected", "keep_alive", "response_complete")
    message_event = _NoWaiter()

    def __init__(self) -> None:
        self.response_complete = False
        self.keep_alive = True
        self.disconnected = False


class DocumentProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` answering the documents' plain GETs and token POSTs
    directly."""

    _body: list[bytes] | None = None  # the body of a token request answered here

    def on_message_begin(self) -> None:
        self._body = None
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        try:
            answered = self._answer_document() or self._take_token_request()
        except Exception:  # a document that cannot be made: the app's path answers (500)
            log.exception("answering from the parser failed")
            answered = False
        if not answered:
            super().on_headers_complete()

    def _plain(self) -> bool:
        """A keep-alive HTTP/1.1 request, nothing before it still unanswered."""
        cycle: Any = self.cycle
        parser = self.parser
        return ((cycle is None or cycle.response_complete)
                and parser.get_http_version() == "1.1" and parser.should_keep_alive()
                and not parser.should_upgrade() and not self.expect_100_continue)

    def _take_token_request(self) -> bool:
        """Whether this is a token request to answer here (its body read by :meth:`on_body`)."""
        if (self.url != _TOKEN_PATH or self.parser.get_method() != b"POST"
                or self.limit_concurrency is not None or not self._plain()
                or getattr(getattr(self.app, "state", None), "provider", None) is None):
            return False
        length = None
        for name, value in self.headers:
            if name == b"content-length":
                if length is not None or not value.isdigit():
                    return False
                length = int(value)
            elif name == b"transfer-encoding":
                return False
        if length is None or length > token.MAX_BODY:
            return False  # the app answers (chunked bodies; too large: its invalid_request)
        self._body = []
        self.cycle = _Pending()  # type: ignore[assignment]
        return True

    def on_body(self, body: bytes) -> None:
        if self._body is None:
            super().on_body(body)
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self._body is None:
            super().on_message_complete()
            return
        body, self._body = b"".join(self._body), None
        task = self.loop.create_task(self._answer_token(
            self.cycle, self.headers, body))  # type: ignore[arg-type]
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    async def _answer_token(self, cycle: _Pending, headers: list[tuple[bytes, bytes]],
                            body: bytes) -> None:
        began = time.perf_counter()

        async def read_body() -> bytes:
            return body

        try:
            status, answer_headers, content = await token.answer(
                self.app.state.provider, headers, read_body, self.client)
        except Exception:  # what the app's last resort does: logged, a plain 500
            log.exception("unhandled error on POST %s from %s", token.PATH,
                          self.client[0] if self.client else "-")
            error = error_response(token.PATH)
            status, answer_headers, content = 500, error.raw_headers, bytes(error.body)
        if not cycle.disconnected and not self.transport.is_closing():
            parts = [STATUS_LINE[status]]
            for name, value in (*self.server_state.default_headers, *answer_headers):
                parts += (name, b": ", value, b"\r\n")
            if not cycle.keep_alive:  # the server is shutting down
                parts.append(b"connection: close\r\n")
            parts += (b"\r\n", content)
            self.transport.write(b"".join(parts))
        cycle.response_complete = True
        token.COUNTED.record(status, time.perf_counter() - began)
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()

    def _answer_document(self) -> bool:
        method = self.parser.get_method()
        if method not in (b"GET", b"HEAD"):
            return False
        found = _RAW_PATHS.get(self.url.split(b"?", 1)[0])
        if found is None or not self._plain():
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
