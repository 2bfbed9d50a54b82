"""The guarded client connects to the address it checked, yet TLS (SNI, certificate name)
and ``Host`` keep the URL's name; bodies past the cap are dropped. A real TLS server on
loopback (``dev`` rules allow loopback)."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from oxswarm.local.process import free_port
from oxswarm.oxauth.adapters.outbound import FetchError, FetchRules, Outbound

DEV = FetchRules(dev=True)


def certificate(name: str, folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert_file, key_file


class TlsSite:
    def __init__(self, cert: Path, key: Path) -> None:
        self.sni: list[str | None] = []
        self.hosts: list[str | None] = []
        self.port = free_port()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hosts.append(self.headers.get("host"))
                body = b'{"keys": []}'
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda sock, name, ctx: site.sni.append(name)  # type: ignore[assignment,misc,func-returns-value]
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TlsSite, ssl.SSLContext]]:
    cert, key = certificate("localhost", tmp_path)
    running = TlsSite(cert, key)
    trust = ssl.create_default_context(cafile=str(cert))
    yield running, trust
    running.stop()


def fetch(outbound: Outbound, url: str) -> tuple[int, bytes]:
    async def go() -> tuple[int, bytes]:
        try:
            return await outbound.request("GET", url)
        finally:
            await outbound.close()

    return asyncio.run(go())


def test_connects_to_the_checked_address_with_the_name_for_tls_and_host(
    site: tuple[TlsSite, ssl.SSLContext],
) -> None:
    server, trust = site
    status, body = fetch(Outbound(DEV, verify=trust), f"https://localhost:{server.port}/jwks")
    assert (status, body) == (200, b'{"keys": []}')
    # it connected to 127.0.0.1 (pinned), yet verified the certificate for localhost
    assert server.sni == ["localhost"]
    assert server.hosts == [f"localhost:{server.port}"]


def test_certificate_is_checked_against_the_url_host(
    site: tuple[TlsSite, ssl.SSLContext],
) -> None:
    server, trust = site  # the certificate names localhost only
    with pytest.raises(FetchError):
        fetch(Outbound(DEV, verify=trust), f"https://127.0.0.1:{server.port}/jwks")
    assert server.hosts == []


def test_loopback_refused_without_dev_before_connecting(
    site: tuple[TlsSite, ssl.SSLContext],
) -> None:
    server, trust = site
    with pytest.raises(FetchError, match="loopback"):
        fetch(Outbound(FetchRules(), verify=trust), f"https://localhost:{server.port}/jwks")
    assert server.hosts == [] and server.sni == []
