"""Real daemons for oxTrust's SCIM tests: the oxAuth test stack, ``oxswarm run oxtrust``
processes on free ports, and real access tokens from a real oxAuth (client_credentials)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from tests.oxauth.conftest import (  # noqa: F401  (fixtures shared with oxAuth's tests)
    DirectoryTools,
    Server,
    directory_tools,
    oxauth_servers,
    stack,
    start_server,
)

from oxswarm.directory.models import Client
from oxswarm.local.process import Daemon, free_port
from oxswarm.local.stack import Stack
from oxswarm.oxtrust.scim.auth import ALL_SCOPES

PREFIX = "/identity/restv1/scim/v2"


def start_oxtrust(stack: Stack, workdir: Path) -> Server:  # noqa: F811
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        sys.executable, "-m", "oxswarm", "run", "oxtrust",
        "--store", stack.store_url, "--cluster", stack.cluster,
        "--master-key-file", str(stack.master_key_file),
        "--bind", f"127.0.0.1:{port}", "--cache", stack.cache_address,
        "--ldap-url", stack.ldap_urls[0], "--public-url", url,
    ]  # fmt: skip
    daemon = Daemon(f"oxtrust-{port}", argv, workdir, env={"PYTHONUNBUFFERED": "1"}).start()
    daemon.wait_tcp("127.0.0.1", port, timeout=60)
    return Server(daemon, url)


@pytest.fixture(scope="session")
def oxtrust(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:  # noqa: F811
    server = start_oxtrust(stack, tmp_path_factory.mktemp("oxtrust"))
    try:
        yield server
    finally:
        server.daemon.stop()


@pytest.fixture(scope="session")
def oxauth(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:  # noqa: F811
    server = start_server(stack, tmp_path_factory.mktemp("oxauth"))
    try:
        yield server
    finally:
        server.daemon.stop()


@pytest.fixture(scope="session")
def scim_client(directory_tools: DirectoryTools) -> Client:  # noqa: F811
    return directory_tools.add_client(
        grant_types=["client_credentials", "password"],
        allow_password_grant=True,
        scopes=["openid", *ALL_SCOPES],
    )


Tokens = Callable[..., str]


@pytest.fixture(scope="session")
def token(oxauth: Server, scim_client: Client) -> Tokens:
    """``token(*scopes)``: a real access token from the real oxAuth with those scopes."""

    def get(*scopes: str) -> str:
        with oxauth.client() as http:
            r = http.post(
                "/oxauth/restv1/token",
                auth=(scim_client.client_id, scim_client.client_secret or ""),
                data={"grant_type": "client_credentials", "scope": " ".join(scopes)},
            )
        assert r.status_code == 200, r.text
        assert set(r.json()["scope"].split()) == set(scopes), r.text
        return str(r.json()["access_token"])

    return get


@pytest.fixture(scope="session")
def scim(oxtrust: Server, token: Tokens) -> Iterator[httpx.Client]:
    """An HTTP client on SCIM with every SCIM scope."""
    headers = {"Authorization": f"Bearer {token(*ALL_SCOPES)}"}
    with httpx.Client(
        base_url=oxtrust.url + PREFIX, timeout=20.0, trust_env=False, headers=headers
    ) as http:
        yield http
