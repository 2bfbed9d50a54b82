"""The encryption algorithms chosen from an SP's metadata (saml-metadata-2.0-os 2.4.1.1
EncryptionMethod): its first supported ones, the defaults when it lists none, a refusal
when it lists only unsupported ones; then the real xmlsec1 both ways (pysaml2's SP)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from saml2 import BINDING_HTTP_POST
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from tests.oxshibboleth.sp import ServiceProvider, form_fields, with_methods

from oxswarm.crypto import pki
from oxswarm.errors import InvalidInput
from oxswarm.oxshibboleth import encryption
from oxswarm.oxshibboleth.encryption import (
    AES128_CBC,
    AES128_GCM,
    AES256_CBC,
    AES256_GCM,
    RSA_OAEP_MGF1P,
    Unsupported,
    choose,
)
from oxswarm.oxshibboleth.idp import (
    IdpKeys,
    IdpServer,
    KeyFiles,
    XmlSecurityError,
    idp_config,
    metadata_xml,
)
from oxswarm.oxshibboleth.trust import Trust, parse_sp_metadata

BASE = "https://id.example.org"
TRIPLE_DES = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"
RSA_1_5 = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
RSA_OAEP11 = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
KW_AES128 = "http://www.w3.org/2001/04/xmlenc#kw-aes128"


def test_nothing_listed_gives_the_defaults() -> None:
    assert choose([]) == encryption.DEFAULT
    assert (choose([]).data, choose([]).key_transport) == (AES256_GCM, RSA_OAEP_MGF1P)
    assert choose([]).session_key == "aes-256"


def test_the_first_supported_in_the_sps_order() -> None:
    got = choose([TRIPLE_DES, AES128_CBC, AES256_GCM, RSA_1_5, RSA_OAEP_MGF1P])
    assert (got.data, got.key_transport, got.session_key) == (AES128_CBC, RSA_OAEP_MGF1P,
                                                             "aes-128")
    assert choose([AES128_GCM]).session_key == "aes-128"
    assert choose([AES256_CBC, AES128_GCM]).data == AES256_CBC
    # a kind the SP lists nothing of gets the default; key wraps count as neither kind
    assert choose([AES128_CBC, KW_AES128]).key_transport == RSA_OAEP_MGF1P
    assert choose([RSA_OAEP_MGF1P]).data == AES256_GCM


@pytest.mark.parametrize("algorithms, kind", [
    ([TRIPLE_DES, RSA_1_5], "data encryption"),
    ([TRIPLE_DES], "data encryption"),
    (["urn:example:unknown"], "data encryption"),
    ([AES256_GCM, RSA_1_5], "key transport"),
    ([AES128_CBC, RSA_OAEP11], "key transport"),  # not in xmlsec1 1.2
])
def test_only_unsupported_algorithms_are_refused(algorithms: list[str], kind: str) -> None:
    with pytest.raises(Unsupported, match=rf"encrypt-assertions: .*lists no {kind}"):
        choose(algorithms)


@pytest.fixture(scope="module")
def files() -> Iterator[KeyFiles]:
    signing, enc = pki.self_signed_cert("idp"), pki.self_signed_cert("idp")
    made = KeyFiles(IdpKeys(signing.cert_pem, signing.key_pem, enc.cert_pem, enc.key_pem))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def sp(files: KeyFiles, tmp_path: Path) -> ServiceProvider:
    return ServiceProvider("https://sp.example/sp", tmp_path,
                           metadata_xml(idp_config(BASE, files, [], want_signed=False)))


def encrypted_response(server: IdpServer, sp: ServiceProvider, request_id: str = "_r1") -> str:
    return str(server.create_authn_response(
        {"uid": ["ada-lovelace"]}, request_id, sp.acs, sp.entity_id,
        name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text="p-1"), sign_response=True,
        encrypt_assertion=True, encrypt_assertion_self_contained=True, best_effort=True,
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"}))


@pytest.mark.parametrize("asked, algorithm", [
    ((TRIPLE_DES, AES128_CBC, RSA_OAEP_MGF1P), AES128_CBC),
    ((AES128_GCM,), AES128_GCM),
    ((AES256_CBC, RSA_1_5, RSA_OAEP_MGF1P), AES256_CBC),
    ((), AES256_GCM),
])
def test_the_idp_encrypts_as_the_metadata_asks_and_the_sp_decrypts(
    files: KeyFiles, sp: ServiceProvider, asked: tuple[str, ...], algorithm: str
) -> None:
    metadata = with_methods(sp.metadata, *asked)
    assert parse_sp_metadata(metadata).encryption_methods == asked
    server = IdpServer(config=idp_config(BASE, files, [metadata], want_signed=False))
    request_id, _ = sp.redirect_request()
    xml = encrypted_response(server, sp, request_id)
    data = re.search(r'EncryptedData [^>]*>\s*<[^>]*EncryptionMethod Algorithm="([^"]+)"', xml)
    assert data is not None and data[1] == algorithm
    assert f'Algorithm="{RSA_OAEP_MGF1P}"' in xml and "ada-lovelace" not in xml
    form = server.apply_binding(BINDING_HTTP_POST, xml, sp.acs, "rs", response=True)
    accepted = sp.accept(form_fields(form["data"])["SAMLResponse"])
    assert accepted.ava == {"uid": ["ada-lovelace"]} and accepted.name_id.text == "p-1"


def test_only_weak_algorithms_never_in_clear_and_the_trust_refuses(
    files: KeyFiles, sp: ServiceProvider
) -> None:
    metadata = with_methods(sp.metadata, TRIPLE_DES, RSA_1_5)
    with pytest.raises(InvalidInput, match=r"encrypt-assertions: .*EncryptionMethod") as caught:
        Trust(inum="saml-3", name="x", entity_id=sp.entity_id, metadata=metadata,
              encrypt_assertions=True).check()
    assert caught.value.field == "encrypt-assertions"
    # without encryption the trust is fine (the algorithms are only used to encrypt)
    Trust(inum="saml-3", name="x", entity_id=sp.entity_id, metadata=metadata).check()
    server = IdpServer(config=idp_config(BASE, files, [metadata], want_signed=False))
    with pytest.raises(XmlSecurityError, match="no data encryption we support"):
        encrypted_response(server, sp)
