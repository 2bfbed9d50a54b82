"""The SAML IdP's pure parts, in process: message guards, SP metadata, NameIDs, ACS choice,
and pysaml2 on the real xmlsec1 (signed requests required, AES-256-GCM encryption)."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from tests.oxshibboleth.sp import ServiceProvider, form_fields, query_of

from oxswarm.crypto import pki
from oxswarm.errors import InvalidInput
from oxswarm.oxshibboleth import messages
from oxswarm.oxshibboleth.idp import (
    IdpKeys,
    IdpServer,
    KeyFiles,
    XmlSecurityError,
    idp_config,
    metadata_xml,
)
from oxswarm.oxshibboleth.messages import MessageRefused
from oxswarm.oxshibboleth.release import nameid_key, nameid_value, persistent_id, released
from oxswarm.oxshibboleth.sso import choose_acs
from oxswarm.oxshibboleth.trust import Trust, check_attributes, parse_sp_metadata

BASE = "https://id.example.org"


def deflate(data: bytes) -> str:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(packer.compress(data) + packer.flush()).decode()


@pytest.fixture(scope="module")
def files() -> Iterator[KeyFiles]:
    signing, encryption = pki.self_signed_cert("idp"), pki.self_signed_cert("idp")
    made = KeyFiles(IdpKeys(signing.cert_pem, signing.key_pem, encryption.cert_pem,
                            encryption.key_pem))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="module")
def idp_md(files: KeyFiles) -> str:
    return metadata_xml(idp_config(BASE, files, [], want_signed=False))


@pytest.fixture
def sp(idp_md: str, tmp_path: Path) -> ServiceProvider:
    return ServiceProvider("https://sp.example/sp", tmp_path, idp_md)


def test_idp_metadata_names_the_entity_both_certificates_and_the_sso_endpoints(
    idp_md: str, files: KeyFiles
) -> None:
    assert 'entityID="https://id.example.org/idp/shibboleth"' in idp_md
    assert 'use="signing"' in idp_md and 'use="encryption"' in idp_md
    for path in ("/idp/profile/SAML2/Redirect/SSO", "/idp/profile/SAML2/POST/SSO",
                 "/idp/profile/SAML2/Redirect/SLO", "/idp/profile/SAML2/POST/SLO"):
        assert f'Location="{BASE}{path}"' in idp_md
    signing = Path(files.signing_cert).read_text().split("-----")[2].replace("\n", "")
    assert signing in idp_md.replace("\n", "")
    assert oct(Path(files.signing_key).stat().st_mode & 0o777) == "0o600"


def test_doctype_entities_size_and_encoding_guards() -> None:
    good = b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'
    assert messages.decode_redirect(deflate(good)) == good
    for evil in (b'<!DOCTYPE x [<!ENTITY a "b">]>' + good, b"<!doctype x>" + good,
                 b'<!ENTITY x "y">' + good):
        with pytest.raises(MessageRefused, match="DOCTYPE"):
            messages.decode_redirect(deflate(evil))
        with pytest.raises(MessageRefused, match="DOCTYPE"):
            messages.decode_post(base64.b64encode(evil).decode())
    bomb = deflate(b"<a>" + b"x" * (10 * 1024 * 1024) + b"</a>")  # 10 MiB in ~10 KiB
    with pytest.raises(MessageRefused, match="inflates past"):
        messages.decode_redirect(bomb)
    with pytest.raises(MessageRefused, match="base64"):
        messages.decode_post("%%%")
    with pytest.raises(MessageRefused, match="larger than"):
        messages.decode_post("A" * (messages.MAX_ENCODED + 4))


def test_issuer_and_issue_instant() -> None:
    xml = (b'<p:AuthnRequest xmlns:p="urn:oasis:names:tc:SAML:2.0:protocol" '
           b'xmlns:a="urn:oasis:names:tc:SAML:2.0:assertion"><a:Issuer> https://sp/x </a:Issuer>'
           b"</p:AuthnRequest>")
    assert messages.issuer_of(xml) == "https://sp/x"
    with pytest.raises(MessageRefused, match="not an AuthnRequest"):
        messages.issuer_of(b"<LogoutRequest/>")
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    messages.check_fresh("2026-11-30T11:56:00Z", now)
    with pytest.raises(MessageRefused, match="expired"):
        messages.check_fresh("2026-11-30T11:50:00Z", now)
    with pytest.raises(MessageRefused, match="future"):
        messages.check_fresh((now + timedelta(minutes=5)).isoformat(), now)
    with pytest.raises(MessageRefused, match="IssueInstant"):
        messages.check_fresh("yesterday", now)


def test_sp_metadata_parsed_and_refused(sp: ServiceProvider) -> None:
    parsed = parse_sp_metadata(sp.metadata)
    assert parsed.entity_id == sp.entity_id and parsed.post_acs() == (sp.acs,)
    assert parsed.authn_requests_signed and parsed.signing_certs == 1
    assert parsed.default_acs() == sp.acs and parsed.acs_by_index(1) == sp.acs
    for bad, words in (("<x/>", "EntityDescriptor"), ("not xml", "not well-formed"),
                       ('<!DOCTYPE x [<!ENTITY e "b">]>' + sp.metadata, "DOCTYPE")):
        with pytest.raises(InvalidInput, match=words) as caught:
            parse_sp_metadata(bad)
        assert caught.value.field == "metadata"


def test_released_attribute_names() -> None:
    assert check_attributes(["uid", "mail", "uid", "customAttr"]) == ("uid", "mail", "customAttr")
    for never in ("userPassword", "pwdHistory", "oxClientSecret", "a b", ""):
        with pytest.raises(InvalidInput):
            check_attributes([never])
    assert released({"uid": ["u"], "mail": ["m"], "sn": ["s"]}, ["uid", "givenName", "mail"]) \
        == {"uid": ["u"], "mail": ["m"]}


def test_persistent_nameid_is_pairwise_and_stable() -> None:
    key = nameid_key("store-secret")
    a1, a2 = persistent_id(key, "https://a", "inum-1"), persistent_id(key, "https://a", "inum-1")
    assert a1 == a2 and len(a1) == 43
    assert persistent_id(key, "https://b", "inum-1") != a1
    assert persistent_id(key, "https://a", "inum-2") != a1
    assert persistent_id(nameid_key("other"), "https://a", "inum-1") != a1
    attrs = {"mail": ["m@x"], "uid": ["u"]}
    assert nameid_value("emailAddress", key, "s", "i", attrs) == "m@x"
    assert nameid_value("unspecified", key, "s", "i", attrs) == "u"
    assert nameid_value("emailAddress", key, "s", "i", {}) is None
    t1, t2 = (nameid_value("transient", key, "s", "i", attrs) for _ in range(2))
    assert t1 != t2


def test_only_acs_urls_of_the_metadata(sp: ServiceProvider) -> None:
    meta = parse_sp_metadata(sp.metadata)

    def ask(**kw: object) -> str | None:
        fields = {"assertion_consumer_service_url": None,
                  "assertion_consumer_service_index": None, "protocol_binding": None, **kw}
        return choose_acs(SimpleNamespace(**fields), meta)

    assert ask() == sp.acs
    assert ask(assertion_consumer_service_url=sp.acs) == sp.acs
    assert ask(assertion_consumer_service_url="https://evil.example/acs") is None
    assert ask(assertion_consumer_service_url=sp.acs + "?x") is None
    assert ask(assertion_consumer_service_index="1") == sp.acs
    assert ask(assertion_consumer_service_index="7") is None
    assert ask(protocol_binding=BINDING_HTTP_REDIRECT) is None


def test_trust_checks_together(sp: ServiceProvider) -> None:
    trust = Trust(inum="saml-1", name="x", entity_id=sp.entity_id, metadata=sp.metadata)
    assert trust.check() is trust
    with pytest.raises(InvalidInput, match="entityID"):
        Trust(inum="saml-1", name="x", entity_id="https://other", metadata=sp.metadata).check()


def test_signed_requests_required_and_aes256_gcm_round_trip(
    files: KeyFiles, sp: ServiceProvider
) -> None:
    """pysaml2 + xmlsec1 both ways: the SP's signed Redirect request verifies, an unsigned
    one is refused when required; the Response is signed, the assertion encrypted with
    AES-256-GCM (RSA-OAEP key transport), and the SP decrypts and accepts it."""
    server = IdpServer(config=idp_config(BASE, files, [sp.metadata], want_signed=True))
    req_id, url = sp.redirect_request()
    q = query_of(url)
    parsed = server.parse_authn_request(q["SAMLRequest"], BINDING_HTTP_REDIRECT,
                                        relay_state=q["RelayState"], sigalg=q["SigAlg"],
                                        signature=q["Signature"])
    assert parsed.message.id == req_id
    with pytest.raises(Exception, match="not signed correctly"):
        server.parse_authn_request(q["SAMLRequest"], BINDING_HTTP_REDIRECT)
    response = server.create_authn_response(
        {"uid": ["ada-lovelace"]}, req_id, sp.acs, sp.entity_id,
        name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text="p-1"), sign_response=True,
        sign_assertion=True, encrypt_assertion=True, encrypt_assertion_self_contained=True,
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
        best_effort=True)
    xml = str(response)
    # "-" is no base64 character: the value cannot appear in the ciphertext by chance
    assert "xmlenc11#aes256-gcm" in xml and "rsa-oaep-mgf1p" in xml
    assert "ada-lovelace" not in xml
    form = server.apply_binding(BINDING_HTTP_POST, xml, sp.acs, "rs", response=True)
    accepted = sp.accept(form_fields(form["data"])["SAMLResponse"])
    assert accepted.ava == {"uid": ["ada-lovelace"]} and accepted.name_id.text == "p-1"


def test_encryption_never_falls_back_to_clear(files: KeyFiles, sp: ServiceProvider) -> None:
    """An SP without an encryption certificate: the trust refuses --encrypt-assertions, and
    the engine raises instead of sending the assertion unencrypted (pysaml2 would)."""
    import re

    signing_only = re.sub(r'<ns\d:KeyDescriptor use="encryption">.*?</ns\d:KeyDescriptor>', "",
                          sp.metadata, flags=re.DOTALL)
    assert 'use="encryption"' not in signing_only and 'use="signing"' in signing_only
    assert parse_sp_metadata(signing_only).encryption_certs == 0
    with pytest.raises(InvalidInput, match="encryption certificate"):
        Trust(inum="saml-2", name="x", entity_id=sp.entity_id, metadata=signing_only,
              encrypt_assertions=True).check()
    server = IdpServer(config=idp_config(BASE, files, [signing_only], want_signed=False))
    with pytest.raises(XmlSecurityError, match="no encryption certificate"):
        server.create_authn_response(
            {"uid": ["ada"]}, "_r1", sp.acs, sp.entity_id,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text="p-1"), sign_response=True,
            encrypt_assertion=True, encrypt_assertion_self_contained=True, best_effort=True,
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"})


def test_session_index_logout_request_and_partial_logout(
    files: KeyFiles, sp: ServiceProvider
) -> None:
    """The assertion carries the IdP's SessionIndex (pysaml2 would draw its own); the IdP's
    LogoutRequest to a participant names it, with the NameID, signed over the query string
    the SP checks; the LogoutResponse to an SP that asked says PartialLogout when asked."""
    from saml2 import samlp

    from oxswarm.oxshibboleth import idp, logout

    server = IdpServer(config=idp_config(BASE, files, [sp.metadata], want_signed=False))
    req_id, _ = sp.redirect_request()
    token = idp.SESSION_INDEX.set("_index-1")
    try:
        response = server.create_authn_response(
            {"uid": ["ada"]}, req_id, sp.acs, sp.entity_id,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text="p-1"), sign_response=True,
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            best_effort=True)
    finally:
        idp.SESSION_INDEX.reset(token)
    form = server.apply_binding(BINDING_HTTP_POST, str(response), sp.acs, "rs", response=True)
    accepted = sp.accept(form_fields(form["data"])["SAMLResponse"])
    assert accepted.session_info()["session_index"] == "_index-1"

    who = {"sp": sp.entity_id, "name_id": "p-1", "format": NAMEID_FORMAT_PERSISTENT,
           "session_index": "_index-1"}
    request = logout._logout_request(server, who)
    assert request is not None and request["destination"] == sp.slo
    info = server.apply_binding(BINDING_HTTP_REDIRECT, request["xml"], sp.slo, "run-1",
                                sign=True, sigalg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    message, _back = sp.take_logout(dict(info["headers"])["Location"])
    assert message.name_id.text == "p-1" and message.session_index[0].text == "_index-1"
    assert message.id == request["id"]
    assert logout._slo_origins(server, [who]) == ["https://sp.example"]

    asked = samlp.logout_request_from_string(request["xml"])
    asked.issuer.text = sp.entity_id  # as if the SP had asked
    for partial, second in ((False, None), (True, samlp.STATUS_PARTIAL_LOGOUT)):
        answer = logout.logout_response(server, asked, partial)
        assert answer is not None
        code = samlp.logout_response_from_string(answer["xml"]).status.status_code
        assert code.value == samlp.STATUS_SUCCESS
        assert (code.status_code.value if code.status_code else None) == second


def test_logout_form_token_and_frame_headers() -> None:
    from oxswarm.oxshibboleth import logout, sessions

    key = b"k" * 32
    good = sessions.csrf_token(key, "handle-1")
    assert sessions.csrf_ok(key, "handle-1", good)
    assert not sessions.csrf_ok(key, "handle-2", good)
    assert not sessions.csrf_ok(b"x" * 32, "handle-1", good)
    alone = logout.page("t", "")
    assert alone.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in alone.headers["content-security-policy"]
    framed = logout.page("t", "", frame="https://id.example.org", frame_src="'self' https://sp")
    assert "x-frame-options" not in framed.headers
    assert framed.headers["content-security-policy"] == (
        "default-src 'none'; frame-ancestors https://id.example.org; frame-src 'self' https://sp")
