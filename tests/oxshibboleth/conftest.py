"""Real daemons for the SAML IdP's tests: the oxAuth test stack (etcd, slapd, Redis,
Twemproxy; config-init; the directory's load), one real ``oxswarm run oxauth`` and one real
``oxswarm run oxshibboleth``, people in the real directory, trusts added through the real
``oxswarm saml trust`` command, and SPs made with pysaml2's SP side."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from tests.oxauth.conftest import (  # noqa: F401  (fixtures shared with oxAuth's tests)
    DirectoryTools,
    Server,
    directory_tools,
    stack,
    start_server,
)
from tests.oxshibboleth.sp import ServiceProvider, form_fields

from oxswarm.config import keys as K
from oxswarm.directory.bootstrap import allow_idp_at
from oxswarm.directory.clients import ClientRepository
from oxswarm.local.process import Daemon, free_port
from oxswarm.local.stack import Stack

PASSWORD = "Pass-word-1"


def start_idp(stack: Stack, workdir: Path, oxauth_url: str,  # noqa: F811
              public_url: str | None = None, *, ldap_url: str | None = None,
              extra: tuple[str, ...] = ()) -> Server:
    """``oxswarm run oxshibboleth`` on a free port; ``public_url``: the base browsers see
    (default its own address), shared by processes that stand for nodes; ``extra``: more
    options (``--trust-folder``)."""
    port = free_port()
    url = public_url or f"http://127.0.0.1:{port}"
    manager = stack.manager()
    try:
        client_id = manager.get(K.IDP_CLIENT_ID)
    finally:
        manager.store.close()
    assert client_id
    with stack.directory() as directory:
        allow_idp_at(ClientRepository(directory, stack.box()), client_id, url)
    argv = [
        sys.executable, "-m", "oxswarm", "run", "oxshibboleth",
        "--store", stack.store_url, "--cluster", stack.cluster,
        "--master-key-file", str(stack.master_key_file),
        "--bind", f"127.0.0.1:{port}", "--cache", stack.cache_address,
        "--ldap-url", ldap_url or stack.ldap_urls[0], "--public-url", url,
        "--oxauth-url", oxauth_url, *extra,
    ]  # fmt: skip
    daemon = Daemon(f"oxshibboleth-{port}", argv, workdir, env={"PYTHONUNBUFFERED": "1"}).start()
    daemon.wait_tcp("127.0.0.1", port, timeout=60)
    return Server(daemon, f"http://127.0.0.1:{port}")


@pytest.fixture(scope="session")
def oxauth(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:  # noqa: F811
    server = start_server(stack, tmp_path_factory.mktemp("oxauth"), dev=True)
    try:
        yield server
    finally:
        server.daemon.stop()


@pytest.fixture(scope="session")
def idp(stack: Stack, oxauth: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:  # noqa: F811
    server = start_idp(stack, tmp_path_factory.mktemp("idp"), oxauth.url)
    try:
        yield server
    finally:
        server.daemon.stop()


@pytest.fixture(scope="session")
def idp_metadata(idp: Server) -> str:
    with idp.client() as http:
        r = http.get("/idp/shibboleth")
    assert r.status_code == 200, r.text
    return r.text


@dataclass
class Saml:
    """Adds trusts through the real CLI and makes SPs with their own key pairs."""

    stack: Stack
    folder: Path
    idp_metadata: str

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "oxswarm", *args]
        env_args = ["--store", self.stack.store_url, "--cluster", self.stack.cluster,
                    "--master-key-file", str(self.stack.master_key_file),
                    "--ldap-url", self.stack.ldap_urls[0]]
        return subprocess.run([*argv, *env_args], input=stdin, capture_output=True, text=True,
                              timeout=60, check=False)

    def sp(self, *, sign_requests: bool = True, allow_unsolicited: bool = False
           ) -> ServiceProvider:
        name = uuid.uuid4().hex[:10]
        return ServiceProvider(f"https://sp-{name}.test/sp", self.folder / name,
                               self.idp_metadata, sign_requests=sign_requests,
                               allow_unsolicited=allow_unsolicited)

    def trust(self, sp: ServiceProvider, *options: str) -> None:
        path = sp.folder / "metadata.xml"
        path.write_text(sp.metadata)
        done = self.cli("saml", "trust", "add", "--metadata", str(path), *options)
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def saml(stack: Stack, idp_metadata: str, tmp_path_factory: pytest.TempPathFactory) -> Saml:  # noqa: F811
    return Saml(stack, tmp_path_factory.mktemp("sp"), idp_metadata)


@dataclass
class Browser:
    """One cookie jar; follows the IdP -> oxAuth -> IdP hops by hand, counting password
    prompts."""

    http: httpx.Client
    prompts: int = 0
    frames: list[str] = field(default_factory=list)  # front-channel logout iframes seen

    def run(self, response: httpx.Response, person: str | None,
            stop: str = "\0") -> httpx.Response:
        """Follow redirects (not to ``stop``...); sign in at oxAuth's login page when
        ``person`` is given."""
        for _ in range(10):
            location = response.headers.get("location", "")
            if response.status_code in (302, 303) and location and not location.startswith(stop):
                response = self.http.get(location)
                continue
            if response.status_code == 200 and 'id="continue"' in response.text:
                # oxAuth's logged-out page: its iframes (front-channel logout), then on
                self.frames += [html.unescape(u) for u in
                                re.findall(r'<iframe src="([^"]+)"', response.text)]
                found = re.search(r'href="([^"]+)" id="continue"', response.text)
                assert found, response.text
                response = self.http.get(html.unescape(found.group(1)))
                continue
            if response.status_code == 200 and 'name="password"' in response.text:
                self.prompts += 1
                assert person is not None, "a password prompt where none was expected"
                fields = {**form_fields(response.text), "username": person, "password": PASSWORD}
                login = str(response.url.copy_with(path="/oxauth/login", query=None))
                response = self.http.post(login, data=fields)
                continue
            return response
        raise AssertionError("too many hops")


@pytest.fixture
def browser() -> Iterator[Browser]:
    with httpx.Client(timeout=20.0, trust_env=False) as http:
        yield Browser(http)
