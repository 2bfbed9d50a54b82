"""SP-initiated SSO end to end: a pysaml2 SP (its own key pair) -> the real IdP -> the real
oxAuth (sign-in) -> the IdP -> a signed Response the SP accepts, with the trust's
attributes and NameID; one oxAuth session for every SP; crafted messages refused."""

from __future__ import annotations

import base64
import re

import httpx
import pytest
from tests.oxauth.conftest import DirectoryTools, Server
from tests.oxshibboleth.conftest import Browser, Saml
from tests.oxshibboleth.sp import ServiceProvider, form_fields, with_methods

from oxswarm.directory.models import Person

pytestmark = pytest.mark.integration

PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def sign_in(browser: Browser, idp: Server, sp: ServiceProvider, person: Person | None,
            binding: str = "redirect") -> dict[str, str]:
    """SSO through the IdP; the fields of the IdP's auto-POST form (SAMLResponse, ...)."""
    if binding == "redirect":
        _, url = sp.redirect_request()
        first = browser.http.get(url)
    else:
        _, url, fields = sp.post_request()
        first = browser.http.post(url, data=fields)
    page = browser.run(first, person.uid if person else None)
    assert page.status_code == 200, page.text
    assert f'action="{sp.acs}"' in page.text
    return form_fields(page.text)


@pytest.fixture
def person(directory_tools: DirectoryTools) -> Person:
    return directory_tools.add_person(given_name="Ada", family_name="Lovelace",
                                      display_name="Ada Lovelace")


def test_redirect_sso_gives_a_signed_assertion_with_the_released_attributes(
    saml: Saml, idp: Server, browser: Browser, person: Person
) -> None:
    sp = saml.sp()
    saml.trust(sp, "--release", "uid", "--release", "mail", "--release", "givenName",
               "--nameid-format", "persistent", "--sign-assertions")
    fields = sign_in(browser, idp, sp, person)
    assert fields["RelayState"] == "rs-1"
    response = sp.accept(fields["SAMLResponse"])
    assert response.ava == {"uid": [person.uid], "mail": [person.email], "givenName": ["Ada"]}
    assert response.name_id.format == PERSISTENT
    assert response.assertion.signature is not None  # the SP verified it (pysaml2 + xmlsec1)
    assert browser.prompts == 1


def test_post_sso_and_an_existing_oxauth_session_means_no_password_prompt(
    saml: Saml, idp: Server, browser: Browser, person: Person
) -> None:
    first, second = saml.sp(), saml.sp()
    saml.trust(first, "--nameid-format", "persistent")
    saml.trust(second, "--nameid-format", "persistent")
    one = first.accept(sign_in(browser, idp, first, person, binding="post")["SAMLResponse"])
    assert browser.prompts == 1
    # the same browser at another SP, and again at the first: oxAuth's session serves both
    two = second.accept(sign_in(browser, idp, second, None)["SAMLResponse"])
    again = first.accept(sign_in(browser, idp, first, None, binding="post")["SAMLResponse"])
    assert browser.prompts == 1
    assert one.ava == {"uid": [person.uid], "mail": [person.email]}  # the default release
    # persistent: stable per SP, different between SPs (pairwise)
    assert one.name_id.text == again.name_id.text
    assert one.name_id.text != two.name_id.text
    assert one.name_id.sp_name_qualifier == first.entity_id


def test_encrypted_assertion_is_aes256_gcm_and_the_sp_decrypts_it(
    saml: Saml, idp: Server, browser: Browser, person: Person
) -> None:
    sp = saml.sp()
    saml.trust(sp, "--encrypt-assertions", "--sign-assertions", "--release", "displayName",
               "--nameid-format", "emailAddress")
    fields = sign_in(browser, idp, sp, person)
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert "EncryptedAssertion" in xml and "xmlenc11#aes256-gcm" in xml
    assert "rsa-oaep-mgf1p" in xml and person.uid not in xml
    response = sp.accept(fields["SAMLResponse"])
    assert response.ava == {"displayName": ["Ada Lovelace"]}
    assert response.name_id.text == person.email


def test_encryption_follows_the_sps_metadata_encryption_method(
    saml: Saml, idp: Server, browser: Browser, person: Person
) -> None:
    """An SP whose metadata asks for AES-128-CBC (3DES listed first, unsupported) gets it,
    and decrypts the assertion with its own key."""
    sp = saml.sp()
    sp.metadata = with_methods(sp.metadata, "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
                               "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
                               "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p")
    saml.trust(sp, "--encrypt-assertions", "--release", "displayName")
    fields = sign_in(browser, idp, sp, person)
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    data = re.search(r'EncryptedData [^>]*>\s*<[^>]*EncryptionMethod Algorithm="([^"]+)"', xml)
    assert data is not None and data[1] == "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
    assert "aes256-gcm" not in xml and "tripledes" not in xml and person.uid not in xml
    assert sp.accept(fields["SAMLResponse"]).ava == {"displayName": ["Ada Lovelace"]}


def test_is_passive_without_a_session_answers_no_passive(
    saml: Saml, idp: Server, browser: Browser
) -> None:
    sp = saml.sp()
    saml.trust(sp)
    _, url = sp.redirect_request(is_passive="true")
    page = browser.run(browser.http.get(url), None)
    assert browser.prompts == 0
    fields = form_fields(page.text)
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert "status:NoPassive" in xml and "status:Success" not in xml


def test_force_authn_asks_for_the_password_again(
    saml: Saml, idp: Server, browser: Browser, person: Person
) -> None:
    sp = saml.sp()
    saml.trust(sp)
    sp.accept(sign_in(browser, idp, sp, person)["SAMLResponse"])
    _, url = sp.redirect_request(force_authn="true")
    page = browser.run(browser.http.get(url), person.uid)
    assert browser.prompts == 2
    assert sp.accept(form_fields(page.text)["SAMLResponse"]).ava["uid"] == [person.uid]


def test_one_sign_in_for_oidc_and_saml_both_ways(
    saml: Saml, idp: Server, oxauth: Server, directory_tools: DirectoryTools, person: Person
) -> None:
    """An OIDC sign-in at oxAuth gives SAML SSO without a new prompt, and the reverse."""
    sp = saml.sp()
    saml.trust(sp)
    rp = directory_tools.add_client(redirect_uris=["https://rp.example/cb"], trusted=True)
    authorize = oxauth.url + "/oxauth/restv1/authorize"
    params = {"client_id": rp.client_id, "redirect_uri": "https://rp.example/cb",
              "response_type": "code", "scope": "openid", "state": "s1", "nonce": "n1"}

    def oidc(browser: Browser, person_uid: str | None) -> httpx.Response:
        return browser.run(browser.http.get(authorize, params=params), person_uid,
                           stop="https://rp.example/cb")

    for first in ("oidc", "saml"):
        with httpx.Client(timeout=20.0, trust_env=False) as http:
            browser = Browser(http)
            if first == "oidc":
                done = oidc(browser, person.uid)
                assert "https://rp.example/cb?code=" in str(done.headers.get("location", ""))
                fields = sign_in(browser, idp, sp, None)  # no prompt: oxAuth's session
                assert sp.accept(fields["SAMLResponse"]).ava["uid"] == [person.uid]
            else:
                sp.accept(sign_in(browser, idp, sp, person)["SAMLResponse"])
                done = oidc(browser, None)  # no prompt
                assert "https://rp.example/cb?code=" in str(done.headers.get("location", ""))
            assert browser.prompts == 1


def test_idp_initiated_sso(saml: Saml, idp: Server, browser: Browser, person: Person) -> None:
    sp = saml.sp(allow_unsolicited=True)
    saml.trust(sp, "--release", "sn")
    start = idp.url + "/idp/profile/SAML2/Unsolicited/SSO"
    page = browser.run(browser.http.get(start, params={"providerId": sp.entity_id,
                                                       "target": "/wiki/start"}), person.uid)
    fields = form_fields(page.text)
    assert f'action="{sp.acs}"' in page.text and fields["RelayState"] == "/wiki/start"
    assert "InResponseTo" not in base64.b64decode(fields["SAMLResponse"]).decode()
    sp.outstanding.clear()
    assert sp.accept(fields["SAMLResponse"]).ava == {"sn": ["Lovelace"]}
    for params, word in (({"providerId": "https://nobody.test/sp"}, "providerId"),
                         ({}, "providerId"),
                         ({"providerId": sp.entity_id, "shire": "https://evil.test/acs"},
                          "shire")):
        refused = browser.http.get(start, params=params)
        assert refused.status_code == 400 and word in refused.text
        assert "SAMLResponse" not in refused.text
