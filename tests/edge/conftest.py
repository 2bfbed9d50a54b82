"""Fixtures for the edge tests: a real etcd, a TLS certificate from the cluster CA,
real HTTP backends on loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from oxswarm.crypto.pki import create_ca, issue_server_cert
from oxswarm.local.backend import EchoBackend

HOSTNAME = "id.oxswarm.test"


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """The cluster CA and a server certificate for HOSTNAME and 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    ca = create_ca("OxSwarm Test")
    server = issue_server_cert(ca.cert_pem, ca.key_pem, [HOSTNAME, "127.0.0.1"])
    files = TlsFiles(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    files.ca.write_text(ca.cert_pem)
    files.cert.write_text(server.cert_pem)
    files.key.write_text(server.key_pem)
    files.key.chmod(0o600)
    return files


@pytest.fixture
def backends() -> Iterator[list[EchoBackend]]:
    """Two oxAuth-like backends and one oxTrust-like, stopped after the test."""
    items = [EchoBackend(name).start() for name in ("auth1", "auth2", "trust1")]
    try:
        yield items
    finally:
        for backend in items:
            backend.stop()
