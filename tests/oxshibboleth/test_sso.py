"""SP-initiated SSO end to end: a pysaml2 SP (its own key pair) -> the real IdP -> the real
oxAuth (sign-in) -> the IdP -> a signed Response the SP accepts, with the trust's
attributes and NameID; one oxAuth session for every SP; crafted messages refused."""

from __future__ import annotations

import pytest
from tests.oxauth.conftest import DirectoryTools, Server
from tests.oxshibboleth.conftest import Browser, Saml
from tests.oxshibboleth.sp import ServiceProvider, form_fields

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
