"""oxPassport on real daemons: etcd, slapd, Redis + Twemproxy, two ``oxswarm run oxauth``
processes behind one public issuer (any node finishes what another started), the upstream
OpenID Provider node-oidc-provider (npm ``oidc-provider``, installed outside the project
under ``$PEER_OIDC_HOME`` as ../shared/bench/peer-oidc does) with its own users, and, for
tokens no honest provider would sign, a small provider in Python (the attacker).

Providers are added with the real ``oxswarm providers add`` (secret from a file).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from tests.oxauth.conftest import (  # noqa: F401  (fixtures)
    DirectoryTools,
    Server,
    directory_tools,
    oxauth_servers,
    stack,
)

from oxswarm.directory.models import Client, Person
from oxswarm.directory.people import PeopleRepository
from oxswarm.local.process import Daemon, free_port
from oxswarm.local.stack import Stack

ISSUER = "http://id.oxswarm.test"
CB = "https://rp.example/cb"
OP_SECRET = "op-secret-" + uuid.uuid4().hex
OP_CLIENT = "oxswarm-passport"
NODE_PROVIDERS = ("node", "nodelink", "nodedeny", "nodeonly")
RUN = uuid.uuid4().hex[:6]
TAKEN = f"taken-{RUN}@example.org"  # an e-mail a local person already has
TAKEN_TOO = f"taken2-{RUN}@example.org"
# the upstream provider's own users: login -> claims
ACCOUNTS: dict[str, dict[str, Any]] = {
    f"ann{RUN}": {"email": f"ann-{RUN}@example.org", "email_verified": True,
                  "given_name": "Ann", "family_name": "Upstream",
                  "preferred_username": f"ann{RUN}"},
    f"bob{RUN}": {"email": f"bob-{RUN}@example.org", "email_verified": True,
                  "family_name": "Builder"},
    f"verified{RUN}": {"email": TAKEN, "email_verified": True, "family_name": "V"},
    f"unverified{RUN}": {"email": TAKEN_TOO, "email_verified": False, "family_name": "U"},
    f"carl{RUN}": {"email": f"carl-{RUN}@example.org", "email_verified": True,
                   "family_name": "C"},
    f"dave{RUN}": {"email": f"dave-{RUN}@example.org", "email_verified": True,
                   "family_name": "D"},
}


def op_home() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("PEER_OIDC_HOME") or Path(base) / "peer-oidc")


def installed_op() -> Path:
    """The folder where node-oidc-provider is installed (installed first when missing)."""
    home = op_home()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "node_modules" / "oidc-provider").is_dir():
        shutil.copy(Path("/work/shared/bench/peer-oidc/package.json")
                    if not (home / "package.json").exists() else home / "package.json",
                    home / "package.json")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=home, check=True,
                       capture_output=True, timeout=600)
    return home


@pytest.fixture(scope="session")
def node_op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """node-oidc-provider on a free port: its issuer URL."""
    home = installed_op()
    script = home / "passport-test-op.mjs"
    shutil.copy(Path(__file__).parent / "op" / "server.mjs", script)
    port = free_port()
    redirects = [f"{ISSUER}/passport/auth/{p}/callback" for p in NODE_PROVIDERS]
    daemon = Daemon(f"node-op-{port}", ["node", str(script)],
                    tmp_path_factory.mktemp("node-op"),
                    env={"PORT": str(port), "ACCOUNTS": json.dumps(ACCOUNTS),
                         "CLIENT_ID": OP_CLIENT, "CLIENT_SECRET": OP_SECRET,
                         "REDIRECT_URIS": json.dumps(redirects)}).start()
    try:
        daemon.wait_tcp("127.0.0.1", port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        daemon.stop()


@dataclass
class Passport:
    stack: Stack
    servers: list[Server]
    tools: DirectoryTools
    folder: Path

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "oxswarm", *args, "--store", self.stack.store_url,
                "--cluster", self.stack.cluster,
                "--master-key-file", str(self.stack.master_key_file)]
        if args[0] == "users" or (args[0] == "providers" and args[1] not in ("list", "show")):
            argv += ["--ldap-url", self.stack.ldap_urls[0]]  # the audit log
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60,
                              check=False)

    def add_provider(self, provider_id: str, issuer: str, *options: str,
                     secret: str = OP_SECRET, client_id: str = OP_CLIENT) -> dict[str, Any]:
        path = self.folder / f"{provider_id}.secret"
        path.write_text(secret + "\n")
        path.chmod(0o600)
        done = self.cli("providers", "add", "--id", provider_id, "--issuer", issuer,
                        "--client-id", client_id, "--client-secret-file", str(path),
                        "--json", *options)
        assert done.returncode == 0, done.stderr
        shown: dict[str, Any] = json.loads(done.stdout)
        return shown

    def client(self) -> Client:
        return self.tools.add_client(name="RP", redirect_uris=[CB], trusted=True,
                                     scopes=["openid", "profile", "email"])

    def person(self, **fields: Any) -> Person:
        return self.tools.add_person("Pass-word-1", **fields)

    def linked(self, link: str) -> Person | None:
        with self.stack.directory() as directory:
            return PeopleRepository(directory).get_by_external_uid(link)

    def with_email(self, email: str) -> list[Person]:
        with self.stack.directory() as directory:
            return [p for p in PeopleRepository(directory).list()
                    if (p.email or "").lower() == email.lower()]

    def links(self, inum: str) -> list[str]:
        with self.stack.directory() as directory:
            return PeopleRepository(directory).external_uids(inum)

    def has_password(self, inum: str) -> bool:
        with self.stack.directory() as directory:
            entry = directory.read(PeopleRepository(directory).tree.person(inum),
                                   ["userPassword"])
        return bool(entry.all("userPassword"))

    def logs(self) -> str:
        return "\n".join(s.daemon.log_file.read_text(errors="replace") for s in self.servers)


@pytest.fixture(scope="module")
def servers(oxauth_servers: Callable[..., Server]) -> list[Server]:  # noqa: F811
    return [oxauth_servers(issuer=ISSUER, dev=True), oxauth_servers(issuer=ISSUER, dev=True)]


@pytest.fixture(scope="module")
def passport(stack: Stack, servers: list[Server], directory_tools: DirectoryTools,  # noqa: F811
             tmp_path_factory: pytest.TempPathFactory) -> Passport:
    return Passport(stack, servers, directory_tools, tmp_path_factory.mktemp("passport"))


@dataclass
class Browser:
    """One user agent (one cookie jar); our URLs under ISSUER go to ``servers[at]``."""

    servers: list[Server]
    http: httpx.Client = field(default_factory=lambda: httpx.Client(
        timeout=20.0, trust_env=False, headers={"X-Forwarded-For": "10.9.8.7"}))

    def ours(self, url: str, at: int) -> str:
        if url.startswith(ISSUER):
            return self.servers[at].url + url[len(ISSUER):]
        if url.startswith("/"):
            return self.servers[at].url + url
        return url

    def authorize(self, client: Client, at: int = 0, **params: str) -> httpx.Response:
        query = {"client_id": client.client_id, "redirect_uri": CB, "response_type": "code",
                 "scope": "openid profile email", "state": "rp-state", "nonce": "rp-nonce",
                 **params}
        return self.http.get(self.ours("/oxauth/restv1/authorize", at), params=query)

    def upstream(self, start: httpx.Response, login: str, at: int = 0) -> httpx.Response:
        """From our 302 to the provider, through node-oidc-provider's sign-in page, to
        the 30x back to our callback (not followed)."""
        response = self.http.get(start.headers["location"])
        for _ in range(12):
            if response.status_code == 200 and 'name="login"' in response.text:
                action = re.search(r'action="([^"]+)"', response.text)
                assert action
                response = self.http.post(action.group(1).replace("&amp;", "&"),
                                          data={"prompt": "login", "login": login,
                                                "password": "any"})
                continue
            assert response.status_code in (302, 303), (response.status_code, response.text)
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith(ISSUER):
                return response
            response = self.http.get(location)
        raise AssertionError("the provider never sent the browser back")

    def callback_url(self, back: httpx.Response, at: int) -> str:
        return self.ours(back.headers["location"], at)

    def start(self, client: Client, provider: str, at: int = 0) -> httpx.Response:
        """The sign-in page, then its button for ``provider``: our 302 to the provider."""
        page = self.authorize(client, at)
        assert page.status_code == 200, page.text
        button = re.search(rf'href="(/passport/auth/{provider}\?authz=[^"]+)"', page.text)
        assert button, page.text
        start = self.http.get(self.ours(button.group(1).replace("&amp;", "&"), at))
        assert start.status_code == 302, start.text
        return start

    def sign_in(self, client: Client, provider: str, login: str, *, start_at: int = 0,
                finish_at: int = 1) -> httpx.Response:
        back = self.upstream(self.start(client, provider, start_at), login)
        return self.http.get(self.callback_url(back, finish_at))

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def new_browser(servers: list[Server]) -> Iterator[Callable[[], Browser]]:
    made: list[Browser] = []

    def make() -> Browser:
        made.append(Browser(servers))
        return made[-1]

    try:
        yield make
    finally:
        for agent in made:
            agent.close()


def code_of(response: httpx.Response) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text[:2000])
    location = response.headers["location"]
    assert location.startswith(CB), location
    return parse_qs(urlsplit(location).query)["code"][0]


def refused_page(response: httpx.Response, status: int, *words: str) -> None:
    """A refusal: the status, an error page naming the reason, a link back to sign-in."""
    assert response.status_code == status, (response.status_code, response.text[:2000])
    assert "text/html" in response.headers["content-type"]
    assert 'id="back-link"' in response.text, response.text
    assert "Traceback" not in response.text
    for word in words:
        assert word in response.text, (word, response.text)
