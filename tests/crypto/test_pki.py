"""The internal CA and the certificates it issues verify as X.509 chains (RFC 5280)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from oxswarm.crypto import pki
from oxswarm.errors import InvalidInput

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> pki.CertAndKey:
    return pki.create_ca("Acme Inc.", country_code="US", now=NOW)


@pytest.fixture(scope="module")
def server(ca: pki.CertAndKey) -> pki.CertAndKey:
    return pki.issue_server_cert(
        ca.cert_pem, ca.key_pem, ["id.example.org", "ldap", "127.0.0.1"], now=NOW
    )


def _verify(ca_pem: str, cert_pem: str, name: str, at: datetime) -> list[x509.Certificate]:
    store = Store([pki.load_cert(ca_pem)])
    subject: x509.verification.Subject
    try:
        subject = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        subject = x509.DNSName(name)
    verifier = PolicyBuilder().store(store).time(at).build_server_verifier(subject)
    return verifier.verify(pki.load_cert(cert_pem), [])


def test_ca_is_a_ca(ca: pki.CertAndKey) -> None:
    cert = pki.load_cert(ca.cert_pem)
    common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == "Acme Inc. CA"
    assert cert.subject == cert.issuer
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert cert.not_valid_after_utc - cert.not_valid_before_utc >= timedelta(days=3650)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    cert.verify_directly_issued_by(cert)
    assert pki.key_matches_cert(ca.cert_pem, ca.key_pem)


@pytest.mark.parametrize("name", ["id.example.org", "ldap", "127.0.0.1"])
def test_server_cert_chain_verifies_for_each_name(
    ca: pki.CertAndKey, server: pki.CertAndKey, name: str
) -> None:
    chain = _verify(ca.cert_pem, server.cert_pem, name, NOW + timedelta(days=1))
    assert chain[-1] == pki.load_cert(ca.cert_pem)


def test_server_cert_rejected_for_other_name(ca: pki.CertAndKey, server: pki.CertAndKey) -> None:
    with pytest.raises(VerificationError):
        _verify(ca.cert_pem, server.cert_pem, "evil.example.org", NOW + timedelta(days=1))


def test_server_cert_rejected_by_other_ca(server: pki.CertAndKey) -> None:
    other = pki.create_ca("Other", now=NOW)
    with pytest.raises(VerificationError):
        _verify(other.cert_pem, server.cert_pem, "id.example.org", NOW + timedelta(days=1))


def test_server_cert_profile(ca: pki.CertAndKey, server: pki.CertAndKey) -> None:
    cert = pki.load_cert(server.cert_pem)
    cert.verify_directly_issued_by(pki.load_cert(ca.cert_pem))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["id.example.org", "ldap"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert pki.key_matches_cert(server.cert_pem, server.key_pem)
    assert not pki.key_matches_cert(server.cert_pem, ca.key_pem)


def test_server_cert_validity_window(ca: pki.CertAndKey, server: pki.CertAndKey) -> None:
    cert = pki.load_cert(server.cert_pem)
    assert cert.not_valid_before_utc <= NOW < cert.not_valid_after_utc
    assert cert.not_valid_after_utc <= pki.load_cert(ca.cert_pem).not_valid_after_utc
    assert cert.not_valid_after_utc >= NOW + timedelta(days=365)
    with pytest.raises(VerificationError):
        _verify(ca.cert_pem, server.cert_pem, "id.example.org", NOW - timedelta(days=1))
    with pytest.raises(VerificationError):
        _verify(ca.cert_pem, server.cert_pem, "id.example.org", NOW + timedelta(days=3000))


def test_server_cert_never_outlives_ca(ca: pki.CertAndKey) -> None:
    issued = pki.issue_server_cert(ca.cert_pem, ca.key_pem, ["a.example.org"], now=NOW, days=9000)
    ca_end = pki.load_cert(ca.cert_pem).not_valid_after_utc
    assert pki.load_cert(issued.cert_pem).not_valid_after_utc == ca_end


def test_rsa_client_and_server_cert(ca: pki.CertAndKey) -> None:
    issued = pki.issue_server_cert(
        ca.cert_pem, ca.key_pem, ["csync2"], now=NOW, key_type="rsa", client_auth=True
    )
    cert = pki.load_cert(issued.cert_pem)
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment
    assert pki.key_matches_cert(issued.cert_pem, issued.key_pem)
    _verify(ca.cert_pem, issued.cert_pem, "csync2", NOW + timedelta(days=1))


def test_self_signed_cert() -> None:
    issued = pki.self_signed_cert("id.example.org", now=NOW)
    cert = pki.load_cert(issued.cert_pem)
    assert cert.subject == cert.issuer
    common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == "id.example.org"
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    cert.verify_directly_issued_by(cert)
    assert pki.key_matches_cert(issued.cert_pem, issued.key_pem)
    assert issued.key_pem.startswith("-----BEGIN PRIVATE KEY-----")


def test_issue_requires_names(ca: pki.CertAndKey) -> None:
    with pytest.raises(InvalidInput) as info:
        pki.issue_server_cert(ca.cert_pem, ca.key_pem, [])
    assert info.value.field == "names"


def test_issue_refuses_mismatched_ca_key(ca: pki.CertAndKey, server: pki.CertAndKey) -> None:
    with pytest.raises(InvalidInput) as info:
        pki.issue_server_cert(ca.cert_pem, server.key_pem, ["x.example.org"])
    assert info.value.field == "ca_key"


def test_bad_pem_is_invalid_input(ca: pki.CertAndKey) -> None:
    with pytest.raises(InvalidInput) as info:
        pki.issue_server_cert("not a cert", ca.key_pem, ["x.example.org"])
    assert info.value.field == "cert"
    with pytest.raises(InvalidInput, match=r"^key: not an unencrypted PEM private key$"):
        pki.issue_server_cert(ca.cert_pem, "garbage", ["x.example.org"])


def test_naive_time_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        pki.self_signed_cert("x.example.org", now=datetime(2030, 1, 1))
