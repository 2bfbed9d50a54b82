"""The token endpoint answered from uvicorn's parser (:mod:`oxswarm.oxauth.http_protocol`),
against a real oxAuth process (and its etcd, slapd, Twemproxy + Redis): the same answers as
the app's path, pipelined requests in order, one write per answer, and the requests it
leaves to the app (chunked bodies, ``Expect``, HTTP/1.0) answered by the app."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from tests.oxauth.conftest import DirectoryTools, Server

pytestmark = pytest.mark.integration

TOKEN = "/oxauth/restv1/token"


@pytest.fixture(scope="module")
def client(directory_tools: DirectoryTools) -> Any:
    return directory_tools.add_client(grant_types=["client_credentials"])


def post(client: Any, form: bytes, *, secret: str | None = None, version: str = "1.1",
         extra: bytes = b"", chunked: bool = False) -> bytes:
    """A raw token request with Basic credentials."""
    creds = f"{client.client_id}:{client.client_secret if secret is None else secret}"
    head = (f"POST {TOKEN} HTTP/{version}\r\nHost: x\r\n"
            f"Authorization: Basic {base64.b64encode(creds.encode()).decode()}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n").encode() + extra
    if chunked:
        return head + b"Transfer-Encoding: chunked\r\n\r\n" + (
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(form), form))
    return head + b"Content-Length: %d\r\n\r\n" % len(form) + form


def exchange(server: Server, data: bytes, answers: int) -> list[tuple[int, dict[str, str], Any]]:
    """Send ``data`` on one connection; the ``answers`` responses as (status, headers,
    JSON body), interim ``100 Continue`` skipped."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        buffer, out = b"", []
        while len(out) < answers:
            while b"\r\n\r\n" not in buffer:
                chunk = sock.recv(65536)
                assert chunk, f"closed after {len(out)} answers: {buffer!r}"
                buffer += chunk
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            if lines[0].startswith("HTTP/1.1 100 "):
                continue
            headers = {name.lower(): value for name, value in
                       (line.split(": ", 1) for line in lines[1:])}
            length = int(headers["content-length"])
            while len(buffer) < length:
                chunk = sock.recv(65536)
                assert chunk
                buffer += chunk
            body, buffer = buffer[:length], buffer[length:]
            out.append((int(lines[0].split()[1]), headers, json.loads(body) if body else None))
    return out


def writes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise AssertionError("no syscw")


GOOD = b"grant_type=client_credentials&scope=read"


def test_pipelined_token_requests_answer_in_order(server: Server, client: Any) -> None:
    jwks = b"GET /oxauth/restv1/jwks HTTP/1.1\r\nHost: x\r\n\r\n"
    answers = exchange(server, post(client, GOOD) + post(client, GOOD, secret="wrong")
                       + post(client, GOOD) + jwks + post(client, b"grant_type=%ZZ")
                       + post(client, b"grant_type=made-up") + post(client, GOOD), 7)
    assert [status for status, _, _ in answers] == [200, 401, 200, 200, 400, 400, 200]
    assert answers[1][2]["error"] == "invalid_client"
    assert answers[1][1]["www-authenticate"].startswith("Basic")
    assert answers[5][2]["error"] == "unsupported_grant_type"
    tokens = [body["access_token"] for status, _, body in answers if status == 200 and
              "access_token" in body]
    assert len(set(tokens)) == 3
    assert "keys" in answers[3][2]
    for index in (0, 1, 2, 4, 5, 6):
        assert answers[index][1]["cache-control"] == "no-store"
    # each token was stored (introspection reads it back from the cache)
    creds = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode())
    for access_token in tokens:
        form = f"token={access_token}".encode()
        introspect = (b"POST /oxauth/restv1/introspection HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Basic " + creds + b"\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(form) + form)
        (status, _, body), = exchange(server, introspect, 1)
        assert status == 200 and body["active"] is True and body["scope"] == "read"


def test_a_malformed_body_answers_the_spec_error(server: Server, client: Any) -> None:
    (status, headers, body), = exchange(server, post(client, b"\xff\xfe=1"), 1)
    assert status == 400 and body["error"] == "invalid_request"
    assert "UTF-8" in body["error_description"] and headers["cache-control"] == "no-store"
    wrong_type = post(client, GOOD).replace(b"x-www-form-urlencoded", b"json")
    (status, _, body), = exchange(server, wrong_type, 1)
    assert status == 400 and body["error"] == "invalid_request"


def test_what_the_parser_leaves_to_the_app_is_answered_alike(
        server: Server, client: Any) -> None:
    """Chunked, ``Expect: 100-continue`` and HTTP/1.0 requests go through the app's path:
    the same answer (headers and body keys) as one answered from the parser."""
    (status, fast_headers, fast_body), = exchange(server, post(client, GOOD), 1)
    assert status == 200
    others = [post(client, GOOD, chunked=True), post(client, GOOD, version="1.0")]
    answers = [exchange(server, request, 1)[0] for request in others]
    expect = post(client, GOOD, extra=b"Expect: 100-continue\r\n")
    head, form = expect.split(b"\r\n\r\n", 1)
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + b"\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
    answers.append(exchange(server, head + b"\r\n\r\n" + form, 1)[0])
    for status, headers, body in answers:
        assert status == 200 and body.keys() == fast_body.keys()
        assert set(headers) - {"connection"} == set(fast_headers)
        assert body["token_type"] == fast_body["token_type"]


def test_one_write_per_answer(server: Server, client: Any) -> None:
    """Head and body in one write (the app's path writes them apart), plus the token's
    one Redis write: at most two writes a token on a quiet connection."""
    pid = server.daemon.pid
    assert pid is not None
    exchange(server, post(client, GOOD), 1)  # connections to the cache open
    before = writes(pid)
    answers = [exchange(server, post(client, GOOD), 1)[0] for _ in range(10)]
    assert all(status == 200 for status, _, _ in answers)
    assert (writes(pid) - before) / len(answers) <= 2.5
