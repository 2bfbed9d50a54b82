"""Single logout in real headless Chromium (Debian's ``chromium``, driven by Playwright):
an OIDC application's logout at oxAuth reaches two SAML SPs through oxAuth's front-channel
frame, the IdP's frame page and its inner chain frame (CSP ``frame-src`` and
``frame-ancestors``, the IdP's SameSite=Lax cookie in a same-site frame, the redirects
between the IdP and the SPs) as a browser really runs them. The SPs are pysaml2 SPs
behind a real loopback HTTP server."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode

import pytest
from tests.oxauth.conftest import DirectoryTools, Server
from tests.oxshibboleth.conftest import PASSWORD, Saml
from tests.oxshibboleth.sp import ServiceProvider

playwright = pytest.importorskip("playwright.sync_api")  # a test extra (pyproject)
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _wait(page: Any, condition: Any, what: str, timeout: float = 20.0) -> None:
    """Until ``condition()``; Playwright's wait (the route handlers run meanwhile)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        page.wait_for_timeout(100)


def _go(page: Any, url: str) -> None:
    """Navigate; the IdP's auto-submitted form may take over before goto returns."""
    try:
        page.goto(url, wait_until="commit")
    except playwright.Error as exc:
        if "interrupted by another navigation" not in str(exc):
            raise


class _Sites(BaseHTTPRequestHandler):
    """The SPs' and the RP's endpoints on one loopback port (real HTTP: Playwright's routing
    does not see a redirect's target)."""

    sps: ClassVar[list[ServiceProvider]] = []
    signed_in: ClassVar[dict[str, Any]] = {}
    answered: ClassVar[list[str]] = []

    def log_message(self, *_args: Any) -> None:
        pass

    def _send(self, status: int, location: str | None = None) -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<p>ok</p>")

    def do_GET(self) -> None:
        url = f"http://{self.headers['Host']}{self.path}"
        sp = next((s for s in self.sps if url.startswith(s.slo + "?SAMLRequest=")), None)
        if sp is None:
            self._send(200)  # the RP's redirect URI
            return
        _, back = sp.take_logout(url)
        self.answered.append(sp.entity_id)
        self._send(303, back)

    def do_POST(self) -> None:
        url = f"http://{self.headers['Host']}{self.path}"
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        sp = next(s for s in self.sps if url == s.acs)
        form = {k: v[0] for k, v in parse_qs(body).items()}
        self.signed_in[sp.entity_id] = sp.accept(form["SAMLResponse"])
        self._send(200)


@pytest.fixture
def sites(saml: Saml) -> Iterator[tuple[str, type[_Sites]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sites)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    _Sites.sps = [ServiceProvider(f"{base}/sp-{i}-{uuid.uuid4().hex[:6]}",
                                  saml.folder / uuid.uuid4().hex[:10], saml.idp_metadata)
                  for i in (1, 2)]
    _Sites.signed_in, _Sites.answered = {}, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, _Sites
    finally:
        server.shutdown()
        server.server_close()


def test_an_oidc_logout_reaches_saml_sps_in_chromium(
    saml: Saml, oxauth: Server, directory_tools: DirectoryTools, chromium: Any,
    sites: tuple[str, type[_Sites]],
) -> None:
    base, site = sites
    sps, signed_in, answered = site.sps, site.signed_in, site.answered
    person = directory_tools.add_person()
    for sp in sps:
        saml.trust(sp, "--nameid-format", "persistent")
    rp_uri = base + "/rp/cb"
    rp = directory_tools.add_client(redirect_uris=[rp_uri], trusted=True)
    context = chromium.new_context()
    page = context.new_page()
    _, url = sps[0].redirect_request()
    page.goto(url)
    page.fill("#username", person.uid)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(sps[0].acs)
    assert sps[0].entity_id in signed_in
    _, url = sps[1].redirect_request()
    _go(page, url)  # no password: oxAuth's session
    page.wait_for_url(sps[1].acs)
    assert sps[1].entity_id in signed_in
    page.goto(oxauth.url + "/oxauth/restv1/authorize?" + urlencode({
        "client_id": rp.client_id, "redirect_uri": rp_uri, "response_type": "code",
        "scope": "openid", "state": "s1", "nonce": "n1"}))
    assert page.url.startswith(rp_uri + "?code="), page.url
    # the OIDC application's logout at oxAuth, confirmed on oxAuth's page
    began = time.monotonic()
    page.goto(oxauth.url + "/oxauth/restv1/end_session?" + urlencode({"client_id": rp.client_id}))
    page.click("button[name=logout]")
    _wait(page, lambda: len(answered) == 2, f"LogoutRequests answered: {answered}")
    _wait(page, lambda: any("You are signed out" in f.content() for f in page.frames
                            if "/idp/" in f.url), "no end page in the chain frame")
    took = time.monotonic() - began
    text = next(f.content() for f in page.frames
                if "/idp/" in f.url and "You are signed out" in f.content())
    for sp in sps:
        assert f'data-sp="{sp.entity_id}" data-ok="true"' in text, text
        assert len(sp.logouts) == 1
        assert sp.logouts[0].name_id.text == signed_in[sp.entity_id].name_id.text
    print(f"OIDC logout to two SAML SPs signed out, in Chromium: {took:.2f} s")
    # oxAuth's session is over: the next SAML sign-in asks for the password
    _, url = sps[0].redirect_request()
    page.goto(url)
    assert page.locator("#password").count() == 1
    context.close()
