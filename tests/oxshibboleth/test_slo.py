"""Single logout: a signed LogoutRequest ends the oxAuth session (through oxAuth's
end_session), the session's other SAML SPs get signed LogoutRequests through the browser
and the SP that asked a LogoutResponse at its SingleLogoutService; an unsigned, unknown or
replayed one is refused. IdP-initiated logout (``/idp/profile/Logout``) and an OIDC logout
at oxAuth (its front-channel frame) reach every SAML SP of the session."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from saml2 import BINDING_HTTP_REDIRECT
from saml2.samlp import STATUS_PARTIAL_LOGOUT, STATUS_SUCCESS
from tests.oxauth.conftest import DirectoryTools, Server
from tests.oxshibboleth.conftest import Browser, Saml
from tests.oxshibboleth.sp import ServiceProvider, form_fields, query_of

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


def _sign_in(browser: Browser, sp: ServiceProvider, uid: str | None) -> Any:
    _, url = sp.redirect_request()
    return sp.accept(form_fields(browser.run(browser.http.get(url), uid).text)["SAMLResponse"])


def _fan_out(browser: Browser, response: httpx.Response, sps: list[ServiceProvider], *,
             unsigned: ServiceProvider | None = None) -> httpx.Response:
    """Follow the IdP's logout chain as a browser does: each SP takes its LogoutRequest and
    answers; returns the first answer that is not a LogoutRequest to one of ``sps``."""
    for _ in range(20):
        response = browser.run(response, None, stop="https://sp-")
        location = response.headers.get("location", "")
        sp = next((s for s in sps if location.startswith(s.slo + "?SAMLRequest=")), None)
        if sp is None:
            return response
        _, back = sp.take_logout(location, sign=sp is not unsigned)
        response = browser.http.get(back)
    raise AssertionError("too many hops")


def _check_logged_out(sp: ServiceProvider, signed_in: Any) -> None:
    """The SP got exactly one LogoutRequest, for its NameID and SessionIndex."""
    assert len(sp.logouts) == 1, sp.logouts
    request = sp.logouts[0]
    assert request.name_id.text == signed_in.name_id.text
    assert request.name_id.format == signed_in.name_id.format
    assert [i.text for i in request.session_index] == [signed_in.session_info()["session_index"]]
    assert request.reason == "urn:oasis:names:tc:SAML:2.0:logout:user"


def _status(location: str, sp: ServiceProvider) -> tuple[str, str | None]:
    answer = query_of(location)
    response = sp.client.parse_logout_request_response(answer["SAMLResponse"],
                                                       BINDING_HTTP_REDIRECT)
    code = response.response.status.status_code
    return code.value, code.status_code.value if code.status_code is not None else None


def test_sp_initiated_logout_reaches_the_other_sps(
    saml: Saml, idp: Server, browser: Browser, directory_tools: DirectoryTools
) -> None:
    person = directory_tools.add_person()
    sp1, sp2, sp3 = saml.sp(), saml.sp(), saml.sp()
    saml.trust(sp1, "--nameid-format", "persistent")
    saml.trust(sp2, "--nameid-format", "emailAddress")
    saml.trust(sp3)  # transient
    first = _sign_in(browser, sp1, person.uid)
    others = {sp.entity_id: _sign_in(browser, sp, None) for sp in (sp2, sp3)}
    assert browser.prompts == 1
    done = _fan_out(browser, browser.http.get(sp1.logout_request(first.name_id)), [sp1, sp2, sp3])
    assert done.status_code == 303 and done.headers["location"].startswith(sp1.slo + "?")
    assert _status(done.headers["location"], sp1) == (STATUS_SUCCESS, None)
    assert sp1.logouts == []  # the SP that asked gets the LogoutResponse, not a request
    for sp in (sp2, sp3):
        _check_logged_out(sp, others[sp.entity_id])
    _sign_in(browser, sp2, person.uid)  # oxAuth's session is over
    assert browser.prompts == 2


def test_an_unsigned_logout_response_makes_a_partial_logout(
    saml: Saml, idp: Server, browser: Browser, directory_tools: DirectoryTools
) -> None:
    person = directory_tools.add_person()
    sp1, sp2 = saml.sp(), saml.sp()
    for sp in (sp1, sp2):
        saml.trust(sp)
    first = _sign_in(browser, sp1, person.uid)
    _sign_in(browser, sp2, None)
    done = _fan_out(browser, browser.http.get(sp1.logout_request(first.name_id)), [sp1, sp2],
                    unsigned=sp2)
    assert len(sp2.logouts) == 1
    assert _status(done.headers["location"], sp1) == (STATUS_SUCCESS, STATUS_PARTIAL_LOGOUT)


def test_idp_initiated_logout(
    saml: Saml, idp: Server, browser: Browser, directory_tools: DirectoryTools
) -> None:
    person = directory_tools.add_person()
    sp1, sp2 = saml.sp(), saml.sp()
    saml.trust(sp1, "--nameid-format", "persistent")
    saml.trust(sp2)
    signed_in = {sp1.entity_id: _sign_in(browser, sp1, person.uid),
                 sp2.entity_id: _sign_in(browser, sp2, None)}
    logout = idp.url + "/idp/profile/Logout"
    ask = browser.http.get(logout)
    assert ask.status_code == 200 and 'id="logout"' in ask.text
    forged = browser.http.post(logout, data={"csrf_token": "0" * 64})
    assert forged.status_code == 403 and "csrf_token" in forged.text
    assert sp1.logouts == [] and sp2.logouts == []
    done = _fan_out(browser, browser.http.post(logout, data=form_fields(ask.text)), [sp1, sp2])
    assert done.status_code == 200 and "You are signed out" in done.text, done.text
    for sp in (sp1, sp2):
        assert f'data-sp="{sp.entity_id}" data-ok="true"' in done.text
        _check_logged_out(sp, signed_in[sp.entity_id])
    assert "no session" in browser.http.get(logout).text
    _sign_in(browser, sp1, person.uid)
    assert browser.prompts == 2


def test_an_oidc_logout_reaches_the_saml_sps(
    saml: Saml, idp: Server, oxauth: Server, browser: Browser,
    directory_tools: DirectoryTools,
) -> None:
    person = directory_tools.add_person()
    sp1, sp2 = saml.sp(), saml.sp()
    for sp in (sp1, sp2):
        saml.trust(sp)
    rp = directory_tools.add_client(redirect_uris=["https://rp.example/cb"], trusted=True)
    params = {"client_id": rp.client_id, "redirect_uri": "https://rp.example/cb",
              "response_type": "code", "scope": "openid", "state": "s1", "nonce": "n1"}
    browser.run(browser.http.get(oxauth.url + "/oxauth/restv1/authorize", params=params),
                person.uid, stop="https://rp.example/cb")
    signed_in = {sp1.entity_id: _sign_in(browser, sp1, None),
                 sp2.entity_id: _sign_in(browser, sp2, None)}
    assert browser.prompts == 1
    # the OIDC application's logout at oxAuth (the person confirms on oxAuth's page)
    ask = browser.http.get(oxauth.url + "/oxauth/restv1/end_session",
                           params={"client_id": rp.client_id})
    assert ask.status_code == 200 and 'name="logout"' in ask.text, ask.text
    page = browser.http.post(oxauth.url + "/oxauth/restv1/end_session",
                             data={**form_fields(ask.text), "logout": "yes"})
    frames = [html.unescape(u) for u in re.findall(r'<iframe src="([^"]+)"', page.text)]
    frame = next(u for u in frames if u.startswith(idp.url + "/idp/profile/Logout/frontchannel?"))
    # another browser (no IdP cookie of this session) loading the frame logs nobody out
    with httpx.Client(timeout=20.0, trust_env=False) as other:
        assert other.get(frame).status_code == 200
    assert sp1.logouts == [] and sp2.logouts == []
    # the frame's page runs the chain in its own iframe (oxAuth's page frames only the
    # IdP's origin; this page's frame-src names the SPs' SLO origins)
    outer = browser.http.get(frame)
    csp = outer.headers["content-security-policy"]
    assert f"frame-ancestors {oxauth.url}" in csp and "X-Frame-Options" not in outer.headers
    origins = sorted("https://" + urlsplit(sp.slo).netloc for sp in (sp1, sp2))
    assert f"frame-src 'self' {' '.join(origins)}" in csp, csp
    inner = re.search(r'<iframe id=chain src="([^"]+)"', outer.text)
    assert inner, outer.text
    done = _fan_out(browser, browser.http.get(idp.url + html.unescape(inner.group(1))),
                    [sp1, sp2])
    assert done.status_code == 200 and "You are signed out" in done.text, done.text
    assert "X-Frame-Options" not in done.headers
    assert (f"frame-ancestors 'self' {oxauth.url}"
            in done.headers["content-security-policy"])
    for sp in (sp1, sp2):
        _check_logged_out(sp, signed_in[sp.entity_id])
    _sign_in(browser, sp1, person.uid)
    assert browser.prompts == 2
