"""Two IdP processes behind one public URL (two nodes behind the load balancer): a sign-in
started at one is finished by the other (its state is in the shared cache), a trust added
while both run is served by both, and neither keeps anything of its own."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from tests.oxauth.conftest import DirectoryTools, Server
from tests.oxshibboleth.conftest import Browser, Saml, start_idp
from tests.oxshibboleth.sp import form_fields

from oxswarm.local.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def second_idp(stack: Stack, idp: Server, oxauth: Server,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_idp(stack, tmp_path_factory.mktemp("idp2"), oxauth.url, public_url=idp.url)
    try:
        yield server
    finally:
        server.daemon.stop()


def at(server: Server, url: str) -> str:
    """``url`` sent to ``server``'s own port (what the load balancer does)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=urlsplit(server.url).netloc))


def test_a_sign_in_started_at_one_process_ends_at_the_other(
    saml: Saml, idp: Server, second_idp: Server, browser: Browser,
    directory_tools: DirectoryTools,
) -> None:
    person = directory_tools.add_person()
    sp = saml.sp()
    saml.trust(sp, "--nameid-format", "persistent")  # added while both run
    _, url = sp.redirect_request()
    began = time.monotonic()
    first = browser.http.get(at(second_idp, url))  # AuthnRequest at process 2
    assert first.status_code == 303
    page = browser.run(first, person.uid)  # oxAuth sends the browser back to process 1
    assert page.url.port == urlsplit(idp.url).port
    one = sp.accept(form_fields(page.text)["SAMLResponse"])
    print(f"first sign-in (with the password) {1000 * (time.monotonic() - began):.0f} ms")
    # and the reverse, with the oxAuth session: no prompt; the same persistent NameID
    timings = []
    for server in (idp, second_idp) * 5:
        _, url = sp.redirect_request()
        began = time.monotonic()
        page = browser.run(browser.http.get(at(server, url)), None)
        timings.append(1000 * (time.monotonic() - began))
        assert sp.accept(form_fields(page.text)["SAMLResponse"]).name_id.text == \
            one.name_id.text
    assert browser.prompts == 1
    print(f"SSO with an oxAuth session: median {statistics.median(timings):.0f} ms, "
          f"max {max(timings):.0f} ms over {len(timings)}")
