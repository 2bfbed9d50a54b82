"""Crafted and bad SAML messages against the real IdP: each refused by the IdP itself (an
error page before an ACS is known, a non-Success Response to the SP's own ACS after),
never a 500, and never anything sent to an address outside the SP's metadata."""

from __future__ import annotations

import base64
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from saml2 import BINDING_HTTP_POST
from tests.oxauth.conftest import Server
from tests.oxshibboleth.conftest import Browser, Saml
from tests.oxshibboleth.sp import ServiceProvider, form_fields, query_of

pytestmark = pytest.mark.integration
SSO_REDIRECT = "/idp/profile/SAML2/Redirect/SSO"
SSO_POST = "/idp/profile/SAML2/POST/SSO"


def deflate(xml: str) -> str:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(packer.compress(xml.encode()) + packer.flush()).decode()


def request_xml(sp: ServiceProvider, idp_url: str, *, acs: str | None = None,
                issued: datetime | None = None, req_id: str = "_abc123") -> str:
    instant = (issued or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="{req_id}" Version="2.0" IssueInstant="{instant}" '
        f'Destination="{idp_url}{SSO_REDIRECT}" '
        f'AssertionConsumerServiceURL="{acs or sp.acs}" '
        f'ProtocolBinding="{BINDING_HTTP_POST}">'
        f"<saml:Issuer>{sp.entity_id}</saml:Issuer></samlp:AuthnRequest>"
    )


@pytest.fixture(scope="module")
def unsigned_sp(saml: Saml) -> ServiceProvider:
    sp = saml.sp(sign_requests=False)
    saml.trust(sp)
    return sp


@pytest.fixture(scope="module")
def signing_sp(saml: Saml) -> ServiceProvider:
    sp = saml.sp(sign_requests=True)
    saml.trust(sp)
    return sp


def refused(response: object, text: str) -> None:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == 400, response.text
    assert text in response.text
    assert "SAMLResponse" not in response.text


def test_a_doctype_is_refused(idp: Server, browser: Browser, unsigned_sp: ServiceProvider) -> None:
    xml = request_xml(unsigned_sp, idp.url)
    evil = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + xml
    r = browser.http.get(idp.url + SSO_REDIRECT, params={"SAMLRequest": deflate(evil)})
    refused(r, "DOCTYPE")
    r = browser.http.post(idp.url + SSO_POST,
                          data={"SAMLRequest": base64.b64encode(evil.encode()).decode()})
    refused(r, "DOCTYPE")


def test_each_refusal_is_logged_with_the_sp_and_the_reason(
    idp: Server, browser: Browser, signing_sp: ServiceProvider
) -> None:
    xml = request_xml(signing_sp, idp.url, req_id="_logged1")
    refused(browser.http.get(idp.url + SSO_REDIRECT, params={"SAMLRequest": deflate(xml)}),
            "signature")
    log = idp.daemon.log_file.read_text(errors="replace")
    assert (f"SSO request from {signing_sp.entity_id} refused: SAMLRequest: signature: "
            "missing or not valid") in log
    assert "Traceback" not in log


def test_an_acs_outside_the_metadata_gets_nothing(
    idp: Server, browser: Browser, unsigned_sp: ServiceProvider
) -> None:
    xml = request_xml(unsigned_sp, idp.url, acs="https://attacker.example/acs", req_id="_acs1")
    r = browser.http.get(idp.url + SSO_REDIRECT, params={"SAMLRequest": deflate(xml)})
    refused(r, "AssertionConsumerServiceURL")
    assert "attacker.example" not in r.text


def test_an_unknown_issuer_is_refused(idp: Server, browser: Browser, saml: Saml) -> None:
    stranger = saml.sp(sign_requests=False)  # never trusted
    r = browser.http.get(idp.url + SSO_REDIRECT,
                         params={"SAMLRequest": deflate(request_xml(stranger, idp.url))})
    refused(r, "not a trusted service provider")


def test_unsigned_when_the_metadata_says_signed_is_refused(
    idp: Server, browser: Browser, signing_sp: ServiceProvider
) -> None:
    xml = request_xml(signing_sp, idp.url, req_id="_unsigned1")
    r = browser.http.get(idp.url + SSO_REDIRECT, params={"SAMLRequest": deflate(xml)})
    refused(r, "signature")
    r = browser.http.post(idp.url + SSO_POST,
                          data={"SAMLRequest": base64.b64encode(xml.encode()).decode()})
    refused(r, "signature")


def test_a_tampered_or_wrapped_signed_request_is_refused(
    idp: Server, browser: Browser, signing_sp: ServiceProvider
) -> None:
    _, url, fields = signing_sp.post_request()
    signed = base64.b64decode(fields["SAMLRequest"]).decode()
    assert "<ds:Signature" in signed or "Signature" in signed
    tampered = signed.replace('Version="2.0"', 'Version="2.0" ForceAuthn="false"', 1)
    r = browser.http.post(url, data={"SAMLRequest": base64.b64encode(tampered.encode()).decode()})
    refused(r, "signature")
    # signature wrapping: the signed request hidden in Extensions of an unsigned one
    inner = signed.split("?>", 1)[-1]
    wrapper = request_xml(signing_sp, idp.url, req_id="_wrapper1").replace(
        "</saml:Issuer>", f"</saml:Issuer><samlp:Extensions>{inner}</samlp:Extensions>")
    r = browser.http.post(url, data={"SAMLRequest": base64.b64encode(wrapper.encode()).decode()})
    refused(r, "signature")


def test_a_redirect_signature_over_other_parameters_is_refused(
    idp: Server, browser: Browser, signing_sp: ServiceProvider
) -> None:
    _, url = signing_sp.redirect_request()
    params = query_of(url)
    params["RelayState"] = "changed"  # covered by the signature (Bindings 3.4.4.1)
    r = browser.http.get(idp.url + SSO_REDIRECT, params=params)
    refused(r, "signature")


def test_a_replayed_request_gets_a_non_success_response(
    idp: Server, browser: Browser, unsigned_sp: ServiceProvider
) -> None:
    xml = request_xml(unsigned_sp, idp.url, req_id="_replay-" + datetime.now(UTC).strftime("%f"))
    first = browser.http.get(idp.url + SSO_REDIRECT, params={"SAMLRequest": deflate(xml)})
    assert first.status_code == 303  # on to oxAuth
    again = browser.http.get(idp.url + SSO_REDIRECT, params={"SAMLRequest": deflate(xml)})
    assert again.status_code == 200 and f'action="{unsigned_sp.acs}"' in again.text
    answer = base64.b64decode(form_fields(again.text)["SAMLResponse"]).decode()
    assert "status:RequestDenied" in answer and "replay" in answer
    assert "status:Success" not in answer


def test_an_expired_request_gets_a_non_success_response(
    idp: Server, browser: Browser, unsigned_sp: ServiceProvider
) -> None:
    old = datetime.now(UTC) - timedelta(minutes=30)
    xml = request_xml(unsigned_sp, idp.url, issued=old, req_id="_old1")
    r = browser.http.get(idp.url + SSO_REDIRECT, params={"SAMLRequest": deflate(xml)})
    answer = base64.b64decode(form_fields(r.text)["SAMLResponse"]).decode()
    assert "status:RequestDenied" in answer and "expired" in answer


@pytest.mark.parametrize("value", ["", "!!!notbase64", deflate("<notxml"), deflate("x" * 70000),
                                   base64.b64encode(b"\x00" * 100).decode()])
def test_malformed_requests_get_an_error_page_never_a_500(
    idp: Server, browser: Browser, value: str
) -> None:
    r = browser.http.get(idp.url + SSO_REDIRECT, params={"SAMLRequest": value})
    assert r.status_code == 400, r.text
    r = browser.http.post(idp.url + SSO_POST, data={"SAMLRequest": value})
    assert r.status_code == 400, r.text


def test_a_forged_callback_state_is_refused(idp: Server, browser: Browser) -> None:
    r = browser.http.get(idp.url + "/idp/auth/callback", params={"state": "x", "code": "y"})
    assert r.status_code == 400 and "state" in r.text
