"""SP-initiated single logout: a signed LogoutRequest ends the oxAuth session (through
oxAuth's end_session) and the SP gets a LogoutResponse at its SingleLogoutService; an
unsigned, unknown or replayed one is refused."""

from __future__ import annotations

import pytest
from saml2 import BINDING_HTTP_REDIRECT
from tests.oxauth.conftest import DirectoryTools, Server
from tests.oxshibboleth.conftest import Browser, Saml
from tests.oxshibboleth.sp import form_fields, query_of

pytestmark = pytest.mark.integration


def test_a_logout_request_ends_the_oxauth_session(
    saml: Saml, idp: Server, browser: Browser, directory_tools: DirectoryTools
) -> None:
    person = directory_tools.add_person()
    sp = saml.sp()
    saml.trust(sp, "--nameid-format", "persistent")
    _, url = sp.redirect_request()
    signed_in = sp.accept(form_fields(browser.run(browser.http.get(url), person.uid).text)
                          ["SAMLResponse"])
    assert browser.prompts == 1
    # unsigned: refused, the session stays
    unsigned = browser.http.get(sp.logout_request(signed_in.name_id, sign=False))
    assert unsigned.status_code == 400 and "signature" in unsigned.text
    logout = sp.logout_request(signed_in.name_id)
    done = browser.run(browser.http.get(logout), None, stop=sp.slo)
    assert done.status_code == 303 and done.headers["location"].startswith(sp.slo + "?")
    answer = query_of(done.headers["location"])
    assert answer["RelayState"] == "bye" and "Signature" in answer
    response = sp.client.parse_logout_request_response(answer["SAMLResponse"],
                                                       BINDING_HTTP_REDIRECT)
    assert response.status_ok()
    # the oxAuth session is over: the next sign-in asks for the password again
    _, url = sp.redirect_request()
    browser.run(browser.http.get(url), person.uid)
    assert browser.prompts == 2
    # the same LogoutRequest again: a replay
    replayed = browser.http.get(logout)
    assert replayed.status_code == 400 and "replay" in replayed.text
