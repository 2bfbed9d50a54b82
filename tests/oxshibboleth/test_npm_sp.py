"""The IdP against independent SAML service providers from npm: ``@node-saml/node-saml``
(SP-initiated sign-in with the HTTP-Redirect and HTTP-POST bindings, IdP-initiated sign-in,
persistent and emailAddress NameIDs) and ``samlify`` (an AES-256-GCM/RSA-OAEP encrypted
assertion, single logout both ways). Each library checks the IdP's signatures with the
certificate of the IdP's metadata; the browser steps are httpx with one cookie jar."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from tests.oxauth.conftest import DirectoryTools, Server
from tests.oxshibboleth.conftest import Browser, Saml
from tests.oxshibboleth.npm_sp import NpmSp
from tests.oxshibboleth.sp import form_fields

from oxswarm.oxshibboleth.idp import NAMEID_FORMATS

pytestmark = pytest.mark.integration
UID, MAIL = "urn:oid:0.9.2342.19200300.100.1.1", "urn:oid:0.9.2342.19200300.100.1.3"


class MakeSp(Protocol):
    def __call__(self, lib: str, fmt: str, *options: str, encrypted: bool = False) -> NpmSp: ...


@pytest.fixture
def make_sp(saml: Saml, tmp_path: Path) -> Iterator[MakeSp]:
    """An npm SP with its own key pair, trusted through the real ``oxswarm saml trust add``
    (``options``: its release, encryption...), stopped after the test."""
    made: list[NpmSp] = []
    entity = saml.idp_metadata.split('entityID="', 1)[1].split('"', 1)[0]

    def make(lib: str, fmt: str, *options: str, encrypted: bool = False) -> NpmSp:
        sp = NpmSp(lib, saml.idp_metadata, entity, nameid_format=NAMEID_FORMATS[fmt],
                   encrypted=encrypted)
        made.append(sp)
        path = tmp_path / f"{lib}-{len(made)}.xml"
        path.write_text(sp.metadata)
        done = saml.cli("saml", "trust", "add", "--metadata", str(path), "--nameid-format",
                        fmt, *options)
        assert done.returncode == 0, done.stderr
        return sp

    yield make
    for sp in made:
        sp.close()


def _acs(sp: NpmSp, page_text: str) -> dict[str, object]:
    fields = form_fields(page_text)
    assert "SAMLResponse" in fields, page_text
    profile = sp.ok({"op": "acs", "body": fields})["profile"]
    assert isinstance(profile, dict)
    return profile


def test_node_saml_signs_in_with_both_bindings_and_idp_initiated(
    idp: Server, browser: Browser, directory_tools: DirectoryTools, make_sp: MakeSp
) -> None:
    person = directory_tools.add_person()
    sp = make_sp("node-saml", "persistent", "--release", "uid",
             "--release", "mail")
    began = time.monotonic()
    url = sp.ok({"op": "authn", "binding": "redirect", "relay_state": "r1"})["url"]
    page = browser.run(browser.http.get(url), person.uid)
    first = _acs(sp, page.text)
    assert form_fields(page.text)["RelayState"] == "r1"
    assert first["nameIDFormat"] == NAMEID_FORMATS["persistent"]
    assert first["attributes"] == {UID: [person.uid], MAIL: [person.email]}
    assert first["issuer"] == idp.url + "/idp/shibboleth"
    # HTTP-POST binding: the same pairwise NameID, no new prompt
    began_sso = time.monotonic()
    post = sp.ok({"op": "authn", "binding": "post", "relay_state": "r2"})
    assert post["url"] == idp.url + "/idp/profile/SAML2/POST/SSO" and "Signature" in (
        base64.b64decode(post["fields"]["SAMLRequest"]).decode())
    page = browser.run(browser.http.post(post["url"], data=post["fields"]), None)
    sso_ms = (time.monotonic() - began_sso) * 1000
    second = _acs(sp, page.text)
    assert second["nameID"] == first["nameID"] and second["sessionIndex"] != first["sessionIndex"]
    assert second["attributes"] == first["attributes"]
    # IdP-initiated
    page = browser.run(browser.http.get(idp.url + "/idp/profile/SAML2/Unsolicited/SSO",
                                        params={"providerId": sp.entity_id}), None)
    assert _acs(sp, page.text)["nameID"] == first["nameID"]
    assert browser.prompts == 1
    print(f"node-saml: 3 sign-ins {time.monotonic() - began:.2f} s; SSO (POST) {sso_ms:.0f} ms")
    # a Response changed after signing: node-saml refuses it
    fields = form_fields(page.text)
    xml = base64.b64decode(fields["SAMLResponse"]).decode().replace(person.uid, "someone-else")
    forged = sp.call({"op": "acs", "body": {
        **fields, "SAMLResponse": base64.b64encode(xml.encode()).decode()}})
    assert "error" in forged


def test_node_saml_email_nameid(
    idp: Server, browser: Browser, directory_tools: DirectoryTools, make_sp: MakeSp
) -> None:
    person = directory_tools.add_person()
    sp = make_sp("node-saml", "emailAddress", "--release", "sn")
    url = sp.ok({"op": "authn", "binding": "redirect", "relay_state": "r1"})["url"]
    profile = _acs(sp, browser.run(browser.http.get(url), person.uid).text)
    assert profile["nameID"] == person.email
    assert profile["nameIDFormat"] == NAMEID_FORMATS["emailAddress"]
    assert profile["attributes"] == {"urn:oid:2.5.4.4": [person.family_name]}


def test_samlify_encrypted_assertion_and_single_logout(
    idp: Server, browser: Browser, directory_tools: DirectoryTools, make_sp: MakeSp
) -> None:
    person = directory_tools.add_person()
    sp = make_sp("samlify", "persistent", "--release", "uid",
             "--encrypt-assertions", encrypted=True)
    url = sp.ok({"op": "authn", "binding": "redirect", "relay_state": "r1"})["url"]
    page = browser.run(browser.http.get(url), person.uid)
    xml = base64.b64decode(form_fields(page.text)["SAMLResponse"]).decode()
    assert "http://www.w3.org/2009/xmlenc11#aes256-gcm" in xml
    assert "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" in xml
    profile = _acs(sp, page.text)
    assert profile["encrypted"] is True
    assert profile["attributes"] == {UID: [person.uid]}
    # SP-initiated logout (samlify's signed LogoutRequest); samlify checks the signed answer
    logout = sp.ok({"op": "logout", "name_id": profile["nameID"],
                    "session_index": profile["sessionIndex"]})["url"]
    done = browser.run(browser.http.get(logout), None, stop=sp.slo)
    assert done.headers["location"].startswith(sp.slo + "?SAMLResponse="), done.text
    assert sp.at_slo("slo_response", done.headers["location"]).get("ok") is True
    # sign in again (the password: the session ended), with the HTTP-POST binding
    post = sp.ok({"op": "authn", "binding": "post", "relay_state": "r2"})
    profile = _acs(sp, browser.run(browser.http.post(post["url"], data=post["fields"]),
                                   person.uid).text)
    assert browser.prompts == 2
    # IdP-initiated logout: samlify takes the IdP's LogoutRequest and answers, signed
    ask = browser.http.get(idp.url + "/idp/profile/Logout")
    out = browser.run(browser.http.post(idp.url + "/idp/profile/Logout",
                                        data=form_fields(ask.text)), None, stop=sp.slo)
    assert out.headers["location"].startswith(sp.slo + "?SAMLRequest=")
    taken = sp.at_slo("slo_request", out.headers["location"])
    assert "error" not in taken, taken
    assert taken["name_id"] == profile["nameID"]
    assert taken["session_index"] == profile["sessionIndex"]
    final = browser.http.get(str(taken["url"]))
    assert final.status_code == 200, final.text
    assert f'data-sp="{sp.entity_id}" data-ok="true"' in final.text, final.text
