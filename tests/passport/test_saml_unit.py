"""oxPassport's SAML service provider, pure parts: the IdP metadata's guards, the
attribute names, the provider record, and the browser cookie a cross-site POST carries."""

from __future__ import annotations

import base64
import datetime
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.responses import Response

from oxswarm.errors import InvalidInput
from oxswarm.oxauth.web.passport_saml import browser_cookie
from oxswarm.passport.providers import build
from oxswarm.passport.saml import claims_of, parse_idp_metadata

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"


def _cert() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


CERT = _cert()


def metadata(*, sso: str = REDIRECT, key: bool = True, prefix: str = "") -> str:
    signing = (f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
               f'{CERT}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
               if key else "")
    return (f'{prefix}<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example/md">'
            '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:'
            f'protocol">{signing}<md:SingleSignOnService Binding="{sso}" '
            'Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>')


def test_idp_metadata_is_read() -> None:
    idp = parse_idp_metadata(metadata())
    assert (idp.entity_id, idp.sso_redirect) == ("https://idp.example/md",
                                                 "https://idp.example/sso")


@pytest.mark.parametrize(("text", "words"), [
    (metadata(prefix='<!DOCTYPE x [<!ENTITY a "b">]>'), "DOCTYPE"),
    (metadata(sso="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"), "HTTP-Redirect"),
    (metadata(key=False), "signing key"),
    ("<x/>", "EntityDescriptor"),
    ("not xml", "well-formed"),
    (metadata() + " " * 300_000, "larger than"),
])
def test_idp_metadata_guards(text: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words) as caught:
        parse_idp_metadata(text)
    assert caught.value.field == "metadata"


def test_attributes_under_their_common_names() -> None:
    claims = claims_of({
        "urn:oid:0.9.2342.19200300.100.1.3": ["a@example.org"],
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname": ["Ann"],
        "sn": ["Upstream"], "uid": ["ann"], "displayName": ["Ann U"], "other": ["kept"]})
    assert (claims["email"], claims["given_name"], claims["family_name"],
            claims["preferred_username"], claims["name"], claims["other"]) == (
        "a@example.org", "Ann", "Upstream", "ann", "Ann U", "kept")
    for name in ("mail", "email",
                 "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"):
        assert claims_of({name: ["x@example.org"]})["email"] == "x@example.org"


def test_saml_provider_record() -> None:
    provider = build({"id": "partner", "type": "saml", "metadata": metadata()})
    assert provider.issuer == "https://idp.example/md"
    assert provider.type == "saml" and provider.metadata == metadata()
    assert build(provider.public()) == provider  # the stored form round-trips
    with pytest.raises(InvalidInput, match="metadata: required"):
        build({"id": "partner", "type": "saml"})


def test_cookie_survives_the_idps_cross_site_post() -> None:
    response = Response()
    browser_cookie(response, SimpleNamespace(config=SimpleNamespace(  # type: ignore[arg-type]
        issuer="https://id.example")), "abc")
    cookie = response.headers["set-cookie"].lower()
    assert "samesite=none" in cookie and "secure" in cookie and "httponly" in cookie
    plain = Response()
    browser_cookie(plain, SimpleNamespace(config=SimpleNamespace(  # type: ignore[arg-type]
        issuer="http://127.0.0.1:8080")), "abc")
    assert "samesite=lax" in plain.headers["set-cookie"].lower()  # None needs Secure
