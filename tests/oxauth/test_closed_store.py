"""oxAuth on a closed store: TLS with its own client certificate and etcd's ``oxauth``
role (read config and secrets only), as ``oxswarm up`` deploys it; a real oxAuth process,
a real 1-member TLS etcd with auth on, slapd, Redis and Twemproxy."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.oxauth.conftest import DirectoryTools

from oxswarm.config.etcd_auth import password
from oxswarm.errors import StoreAuthError
from oxswarm.local.process import Daemon, free_port
from oxswarm.local.stack import Stack, start_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def closed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("closed"), store_tls=True)
    try:
        yield running
    finally:
        running.stop()


def test_oxauth_serves_tokens_with_read_only_store_rights(closed_stack: Stack,
                                                          tmp_path: Path) -> None:
    stack = closed_stack
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "oxswarm", "run", "oxauth", *stack.store_args("oxauth"),
            "--master-key-file", str(stack.master_key_file), "--bind", f"127.0.0.1:{port}",
            "--issuer", url, "--cache", stack.cache_address, "--ldap-url", stack.ldap_urls[0]]
    daemon = Daemon(f"oxauth-{port}", argv, tmp_path, env={"PYTHONUNBUFFERED": "1"}).start()
    try:
        daemon.wait_tcp("127.0.0.1", port, timeout=60)
        client = DirectoryTools(stack).add_client()
        with httpx.Client(base_url=url, timeout=10.0, trust_env=False) as http:
            reply = http.post("/oxauth/restv1/token", data={"grant_type": "client_credentials"},
                              auth=(client.client_id, client.client_secret))
            assert reply.status_code == 200, reply.text
            assert reply.json()["access_token"]
    finally:
        daemon.stop()
    key = stack.etcd.credentials("oxauth", stack.cluster).key_file
    assert key is not None
    log = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    assert password(key.read_bytes()) not in log and "PRIVATE KEY" not in log


def test_oxauth_credentials_cannot_change_ldap_peers(closed_stack: Stack) -> None:
    settings = closed_stack.settings("oxauth")
    from oxswarm.config.etcd import EtcdStore

    with EtcdStore.from_settings(settings) as store, \
            pytest.raises(StoreAuthError, match="has no right"):
        store.put(f"{settings.prefix}/config/ldap_peers", b'["ldap://evil:389"]')
