"""A tiny HTTP backend that names itself: for checking routes, health and failover locally.

Used by the catalogue and edge integration tests and by ``oxswarm dev`` smoke checks: it
answers every GET with ``<name> <path>`` and an ``X-Backend: <name>`` header, and its
``health_path`` with 200 or, after :meth:`EchoBackend.set_healthy` ``(False)``, 503.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from oxswarm.local.process import free_port


class EchoBackend:
    """An HTTP server on ``host:port`` in a thread of this process."""

    def __init__(
        self, name: str, host: str = "127.0.0.1", port: int = 0, health_path: str = "/health"
    ) -> None:
        self.name = name
        self.host = host
        self.port = port or free_port(host)
        self.health_path = health_path
        self.healthy = True
        self.delay = 0.0  # seconds every non-health answer waits (a slow backend)
        self.hits = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def set_healthy(self, healthy: bool) -> None:
        self.healthy = healthy

    def start(self) -> EchoBackend:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == backend.health_path:
                    status = 200 if backend.healthy else 503
                    body = b"ok\n" if backend.healthy else b"unhealthy\n"
                else:
                    with backend._lock:
                        backend.hits += 1
                    time.sleep(backend.delay)
                    status, body = 200, f"{backend.name} {self.path}\n".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Backend", backend.name)
                for name in ("X-Forwarded-Proto", "X-Forwarded-For", "X-Forwarded-Host"):
                    self.send_header(f"X-Seen-{name}", self.headers.get(name, ""))
                self.end_headers()
                self.wfile.write(body)

            def setup(self) -> None:
                super().setup()
                with backend._lock:
                    backend._conns.add(self.connection)

            def finish(self) -> None:
                with backend._lock:
                    backend._conns.discard(self.connection)
                super().finish()

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True, name=self.name)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut open connections, as a killed process would."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> EchoBackend:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(OSError):
            self.stop()
