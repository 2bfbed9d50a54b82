"""OIDC Registration 5 on a real ``oxswarm run oxauth``: the ``sector_identifier_uri`` is
fetched from a real HTTP server on a loopback port and every redirect URI must be listed
in it; otherwise 400 ``invalid_client_metadata``.

``server`` runs with ``--dev`` (loopback may be fetched); ``strict`` does not: there a
loopback URI is refused before any connection, with the same answer for a listening and
a closed port, unless the operator's allow-list (``oxauth_fetch_allow``) opens it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from tests.oxauth.conftest import Server

from oxswarm.config import keys as K
from oxswarm.local.process import free_port
from oxswarm.local.stack import Stack

pytestmark = pytest.mark.integration

REGISTER = "/oxauth/restv1/register"
A = "https://a.rp.example/cb"
B = "https://b.rp.example/cb"
GENERIC = "sector_identifier_uri could not be fetched"


class SectorSite:
    """Serves ``documents[path]`` (bytes, status); counts requests per path."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[int, bytes]] = {}
        self.hits: dict[str, int] = {}
        self.port = free_port()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits[self.path] = site.hits.get(self.path, 0) + 1
                status, body = site.documents.get(self.path, (404, b"not found"))
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, path: str, value: object, status: int = 200) -> str:
        body = value if isinstance(value, bytes) else json.dumps(value).encode()
        self.documents[path] = (status, body)
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def server(oxauth_servers: Callable[..., Server]) -> Server:
    return oxauth_servers(dev=True)


@pytest.fixture(scope="module")
def site() -> Iterator[SectorSite]:
    running = SectorSite()
    yield running
    running.stop()


def register(http: httpx.Client, sector: str, redirect_uris: list[str]) -> httpx.Response:
    return http.post(
        REGISTER,
        json={
            "redirect_uris": redirect_uris,
            "subject_type": "pairwise",
            "sector_identifier_uri": sector,
        },
    )


def assert_metadata_error(r: httpx.Response, words: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "invalid_client_metadata"
    assert words in body["error_description"]


def test_every_redirect_uri_listed(http: httpx.Client, site: SectorSite) -> None:
    sector = site.publish("/ok.json", [A, B, "https://c.rp.example/cb"])
    r = register(http, sector, [A, B])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["sector_identifier_uri"] == sector and body["subject_type"] == "pairwise"
    assert site.hits["/ok.json"] == 1


def test_unlisted_redirect_uri(http: httpx.Client, site: SectorSite) -> None:
    sector = site.publish("/partial.json", [A])
    assert_metadata_error(register(http, sector, [A, B]), f"{B!r} is not listed")


def test_not_an_array(http: httpx.Client, site: SectorSite) -> None:
    sector = site.publish("/object.json", {"redirect_uris": [A]})
    assert_metadata_error(register(http, sector, [A]), "JSON array")


def test_not_json(http: httpx.Client, site: SectorSite) -> None:
    sector = site.publish("/text", b"<html>")
    assert_metadata_error(register(http, sector, [A]), "document is not valid JSON")


def test_http_error(http: httpx.Client, site: SectorSite) -> None:
    sector = site.publish("/gone.json", [A], status=404)
    assert_metadata_error(register(http, sector, [A]), GENERIC)
    assert "404" not in register(http, sector, [A]).text


def test_unreachable(http: httpx.Client) -> None:
    sector = f"http://127.0.0.1:{free_port()}/sector.json"
    r = register(http, sector, [A])
    assert_metadata_error(r, GENERIC)
    assert r.json()["error_description"] == GENERIC  # no "All connection attempts failed"


def test_update_is_checked_too(http: httpx.Client, site: SectorSite) -> None:
    sector = site.publish("/update.json", [A])
    created = register(http, sector, [A]).json()
    url = f"{REGISTER}?client_id={created['client_id']}"
    headers = {"Authorization": f"Bearer {created['registration_access_token']}"}
    changed = {
        "client_id": created["client_id"], "redirect_uris": [A, B], "subject_type": "pairwise",
        "sector_identifier_uri": sector,
    }
    assert_metadata_error(http.put(url, json=changed, headers=headers), "is not listed")
    site.publish("/update.json", [A, B])
    assert http.put(url, json=changed, headers=headers).status_code == 200


def test_https_required_when_the_issuer_is_https(
    oxauth_servers: Callable[..., Server], site: SectorSite
) -> None:
    sector = site.publish("/secure.json", [A])
    with oxauth_servers(issuer="https://id.oxswarm.test").client() as secure:
        assert_metadata_error(register(secure, sector, [A]), "sector_identifier_uri: ")
        assert "must use https" in register(secure, sector, [A]).json()["error_description"]
    assert "/secure.json" not in site.hits  # refused before any fetch


class BigSite:
    """Answers any GET with a 10 MB JSON body sent in 64 KiB pieces (5 ms apart); counts
    the bytes it managed to send before the reader went away."""

    SIZE = 10 * 1024 * 1024
    PIECE = 64 * 1024

    def __init__(self) -> None:
        self.sent = 0
        self.finished = threading.Event()
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.recv(65536)
            head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" \
                   f"content-length: {self.SIZE}\r\n\r\n"
            try:
                conn.sendall(head.encode())
                while self.sent < self.SIZE:
                    conn.sendall(b" " * self.PIECE)
                    self.sent += self.PIECE
                    time.sleep(0.005)
            except OSError:
                pass
        self.finished.set()

    def stop(self) -> None:
        self.listener.close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def strict(oxauth_servers: Callable[..., Server]) -> Iterator[httpx.Client]:
    """An oxAuth without ``--dev`` (its issuer is http, so http URLs may be fetched; its
    host name resolves nowhere, so no loopback address is the issuer's own)."""
    with oxauth_servers(issuer="http://strict.oxswarm.test").client() as client:
        yield client


def test_loopback_refused_without_dev(strict: httpx.Client, site: SectorSite) -> None:
    sector = site.publish("/strict.json", [A])
    listening = register(strict, sector, [A])
    closed = register(strict, f"http://127.0.0.1:{free_port()}/strict.json", [A])
    decimal = register(strict, f"http://2130706433:{site.port}/strict.json", [A])
    for r in (listening, closed):
        assert_metadata_error(r, GENERIC)
        assert r.json()["error_description"] == GENERIC
    # a decimal loopback address is no loopback host name: http is refused by the
    # metadata rules already, before any fetch
    assert_metadata_error(decimal, "must use https")
    assert "/strict.json" not in site.hits  # refused before any connection


def test_allow_list_opens_loopback_live(
    strict: httpx.Client, site: SectorSite, stack: Stack
) -> None:
    sector = site.publish("/allowed.json", [A])
    manager = stack.manager()
    try:
        manager.set(K.OXAUTH_FETCH_ALLOW, "127.0.0.0/8")
        deadline = time.monotonic() + 15
        while (r := register(strict, sector, [A])).status_code != 201:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.3)
        assert site.hits["/allowed.json"] >= 1
    finally:
        manager.set(K.OXAUTH_FETCH_ALLOW, "")
        manager.store.close()


def test_a_large_body_is_cut_at_the_cap(http: httpx.Client) -> None:
    big = BigSite()
    try:
        started = time.monotonic()
        r = register(http, f"http://127.0.0.1:{big.port}/big.json", [A])
        assert_metadata_error(r, GENERIC)
        assert big.finished.wait(10)
        assert time.monotonic() - started < 5
        assert big.sent < 1024 * 1024, big.sent  # 256 KiB read, then the line dropped
    finally:
        big.stop()
