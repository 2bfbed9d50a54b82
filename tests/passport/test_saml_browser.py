"""A SAML upstream sign-in in real headless Chromium (Debian's ``chromium``, driven by
Playwright): the browser opens the relying party's authorization request, clicks the SAML
provider's button on oxAuth's sign-in page, signs in at samlify's IdP
(``saml_idp/idp.cjs``), whose page POSTs the Response from its own site to
``/passport/auth/saml/ID/callback`` by itself, and arrives at the relying party with a code.

The IdP (``http://127.0.0.1:PORT``) and oxAuth (``id-*.oxswarm.test``, resolved to loopback
by Chromium's ``--host-resolver-rules``) are different sites, so the POST is cross-site and
only a ``SameSite=None`` cookie goes with it. Over https (a TLS-terminating proxy in front
of oxAuth, as NGINX is in a cluster; the certificate self-signed, so the context ignores
certificate errors) the browser cookie is ``SameSite=None; Secure`` and the sign-in ends
with a code. Over plain http a browser refuses ``None`` without ``Secure``; the cookie stays
``Lax``, Chromium does not send it with the cross-site POST, and the callback is refused
as coming from another browser (what dev on plain http gets; the docs say so).
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from tests.oxauth.conftest import (  # noqa: F401  (fixtures)
    DirectoryTools,
    Server,
    directory_tools,
    oxauth_servers,
    stack,
)
from tests.passport.test_saml_idp import RUN, USERS, saml_idp  # noqa: F401  (fixture)

from oxswarm.crypto import pki
from oxswarm.directory.people import PeopleRepository
from oxswarm.local.process import free_port
from oxswarm.local.stack import Stack

playwright = pytest.importorskip("playwright.sync_api")  # a test extra (pyproject)
pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CB = "https://rp.example/cb"
LOGIN = f"web{RUN}"  # in USERS (test_saml_idp)
PROVIDER = "samlweb"


class Proxy:
    """A TCP proxy on loopback, terminating TLS when given a context: https in front of an
    oxAuth process, as the edge's NGINX is in a cluster."""

    def __init__(self, port: int, tls: ssl.SSLContext | None) -> None:
        self.port, self.tls, self.target = port, tls, 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(
            self._serve, "127.0.0.1", self.port, ssl=self.tls))
        self.ready.set()
        self.loop.run_forever()
        server.close()
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.run_until_complete(server.wait_closed())
        self.loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, ssl.SSLError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class Site:
    issuer: str
    server: Server
    proxy: Proxy


def _tls(folder: Path, host: str) -> ssl.SSLContext:
    made = pki.self_signed_cert(host)
    cert, key = folder / "tls.crt", folder / "tls.key"
    cert.write_text(made.cert_pem)
    key.write_text(made.key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture(scope="module")
def sites(stack: Stack, oxauth_servers: Callable[..., Server],  # noqa: F811
          saml_idp: str, tmp_path_factory: pytest.TempPathFactory,  # noqa: F811
          ) -> Iterator[dict[str, Site]]:
    """One oxAuth process behind https, one behind plain http; the SAML provider added
    with ``oxswarm providers add`` and our SP metadata of each given to the IdP."""
    folder = tmp_path_factory.mktemp("saml-browser")
    made: dict[str, Site] = {}
    for scheme, host in (("https", "id-tls.oxswarm.test"), ("http", "id-plain.oxswarm.test")):
        port = free_port()
        proxy = Proxy(port, _tls(folder, host) if scheme == "https" else None)
        issuer = f"{scheme}://{host}:{port}"
        server = oxauth_servers(issuer=issuer, dev=True)
        proxy.target = int(urlsplit(server.url).port or 0)
        made[scheme] = Site(issuer, server, proxy)
    metadata = folder / "idp.xml"
    metadata.write_text(httpx.get(f"{saml_idp}/metadata", timeout=10).text)
    done = subprocess.run(
        [sys.executable, "-m", "oxswarm", "providers", "add", "--id", PROVIDER, "--type",
         "saml", "--metadata", str(metadata), "--name", "Partner IdP", "--store",
         stack.store_url, "--cluster", stack.cluster, "--master-key-file",
         str(stack.master_key_file), "--ldap-url", stack.ldap_urls[0]],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    time.sleep(2)  # the processes follow the store within a second
    for scheme, site in made.items():
        with site.server.client() as http:
            sp = http.get(f"/passport/auth/meta/idp/{PROVIDER}")
        assert sp.status_code == 200, sp.text
        assert site.issuer in sp.text
        r = httpx.post(f"{saml_idp}/sp", params={"id": f"{PROVIDER}-{scheme}"},
                       content=sp.text, timeout=10)
        assert r.status_code == 204, r.text
    try:
        yield made
    finally:
        for site in made.values():
            site.proxy.stop()


@pytest.fixture(scope="module")
def chromium(sites: dict[str, Site]) -> Iterator[Any]:
    rules = ", ".join(f"MAP {urlsplit(s.issuer).hostname} 127.0.0.1" for s in sites.values())
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", f"--host-resolver-rules={rules}"])
        try:
            yield browser
        finally:
            browser.close()


def _authorize(site: Site, client_id: str) -> str:
    return f"{site.issuer}/oxauth/restv1/authorize?" + urlencode({
        "client_id": client_id, "redirect_uri": CB, "response_type": "code",
        "scope": "openid profile email", "state": "rp-state", "nonce": "rp-nonce"})


def _sign_in(chromium: Any, site: Site, client_id: str) -> tuple[Any, list[str]]:
    """The person's way through: our sign-in page, the provider's button, the IdP's page,
    its self-submitting form. Returns the page and the relying party URLs it reached."""
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    reached: list[str] = []  # the relying party's URLs the browser was sent to (not served)
    page.on("request", lambda r: reached.append(r.url) if r.url.startswith(CB) else None)
    trail: list[str] = []  # what the browser did, for a failure's message
    page.on("response", lambda r: trail.append(f"{r.request.method} {r.url[:120]} {r.status}"))
    page.on("requestfailed", lambda r: trail.append(f"failed {r.url[:120]} {r.failure}"))
    page.trail = trail
    page.goto(_authorize(site, client_id))
    page.click("text=Sign in with Partner IdP")
    page.wait_for_selector("#login")  # the IdP's own page (another site)
    assert page.url.startswith("http://127.0.0.1:")
    page.fill("#login", LOGIN)
    page.click("button:has-text('Sign in at the IdP')", no_wait_after=True)
    deadline = time.monotonic() + 30  # the IdP's page posts itself, then our answer
    while time.monotonic() < deadline and not reached and not any(
            "/callback" in t and not t.endswith(" 302") for t in trail):
        page.wait_for_timeout(200)
    return page, reached


def test_saml_sign_in_in_chromium_over_https(chromium: Any, sites: dict[str, Site],
                                             directory_tools: DirectoryTools,  # noqa: F811
                                             stack: Stack) -> None:  # noqa: F811
    site = sites["https"]
    client = directory_tools.add_client(name="RP", redirect_uris=[CB], trusted=True,
                                        scopes=["openid", "profile", "email"])
    page, reached = _sign_in(chromium, site, client.client_id)
    assert reached, "\n".join(page.trail)  # the relying party got its answer
    cookies = {c["name"]: c for c in page.context.cookies(site.issuer + "/passport/")}
    browser_cookie = cookies["oxpassport_browser"]
    assert (browser_cookie["sameSite"], browser_cookie["secure"]) == ("None", True)
    query = parse_qs(urlsplit(reached[-1]).query)
    assert query["state"] == ["rp-state"] and query["code"], reached[-1]
    with stack.directory() as directory:
        person = PeopleRepository(directory).get_by_external_uid(f"passport-{PROVIDER}:{LOGIN}")
    assert person is not None and person.email == USERS[LOGIN]["email"]
    page.context.close()


def test_saml_over_plain_http_the_lax_cookie_stays_behind(
        chromium: Any, sites: dict[str, Site], directory_tools: DirectoryTools,  # noqa: F811
        stack: Stack) -> None:  # noqa: F811
    site = sites["http"]
    client = directory_tools.add_client(name="RP", redirect_uris=[CB], trusted=True,
                                        scopes=["openid", "profile", "email"])
    page, reached = _sign_in(chromium, site, client.client_id)
    cookies = {c["name"]: c for c in page.context.cookies(site.issuer + "/passport/")}
    assert cookies["oxpassport_browser"]["sameSite"] == "Lax"
    assert not reached, reached  # no code for the relying party
    assert any("/callback 400" in t for t in page.trail), "\n".join(page.trail)
    assert "did not come from the browser that started it" in page.content()
    page.context.close()
