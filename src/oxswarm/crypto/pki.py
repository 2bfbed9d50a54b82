"""The cluster's internal CA and the certificates it issues (RFC 5280 profile).

- :func:`create_ca`: a self-signed CA (``basicConstraints CA:true`` critical, ``keyUsage
  keyCertSign, cRLSign``), RFC 5280 sections 4.2.1.9 and 4.2.1.3.
- :func:`issue_server_cert`: an end-entity certificate signed by that CA, names in the
  ``subjectAltName`` (section 4.2.1.6; DNS names and IP addresses), ``extendedKeyUsage
  serverAuth`` (and ``clientAuth`` on request), section 4.2.1.12. The deployment calls it
  again later for per-node LDAP certificates.
- :func:`issue_client_cert`: a client-only certificate (``extendedKeyUsage clientAuth``)
  whose subject has no common name, only ``O``/``OU`` (the config store's gateway refuses
  a client certificate with a CN; the OU names the client's role).
- :func:`self_signed_cert`: a self-contained certificate, for SAML (the IdP's signing and
  encryption keys are published in its metadata, not chained to a CA).

Everything is PEM text: certificates as ``CERTIFICATE``, keys as unencrypted PKCS #8
``PRIVATE KEY`` (they are stored encrypted as secrets).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from oxswarm.errors import InvalidInput

KeyType = Literal["ec", "rsa"]

CA_DAYS = 3650
SERVER_DAYS = 730
SELF_SIGNED_DAYS = 3650
RSA_BITS = 2048
CLOCK_SKEW = timedelta(minutes=5)


class CertAndKey(NamedTuple):
    """A PEM certificate and its PEM private key."""

    cert_pem: str
    key_pem: str


def new_private_key(key_type: KeyType = "ec") -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    """A fresh EC P-256 or RSA 2048 private key."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    raise InvalidInput(f"key_type: {key_type!r} is not 'ec' or 'rsa'", field="key_type")


def create_ca(
    org_name: str,
    *,
    country_code: str | None = None,
    now: datetime | None = None,
    days: int = CA_DAYS,
    key_type: KeyType = "ec",
) -> CertAndKey:
    """A self-signed CA named ``"<org_name> CA"``, valid ``days`` days from ``now``."""
    key = new_private_key(key_type)
    attrs: list[x509.NameAttribute[str]] = []
    if country_code:
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country_code))
    attrs += [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{org_name} CA"),
    ]
    name = _name(attrs)
    start = _utc(now)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        _base(name, name, key.public_key(), start, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    return _sign(builder, key)


def issue_server_cert(
    ca_cert_pem: str,
    ca_key_pem: str,
    names: Sequence[str],
    *,
    now: datetime | None = None,
    days: int = SERVER_DAYS,
    key_type: KeyType = "ec",
    common_name: str | None = None,
    client_auth: bool = False,
) -> CertAndKey:
    """A certificate for ``names`` (DNS names or IP addresses) signed by the CA.

    The first name is the subject's common name unless ``common_name`` is given (``""``:
    a subject without common name, the names only in the SAN). The validity ends no
    later than the CA's.
    """
    if not names:
        raise InvalidInput("names: a certificate needs at least one name", field="names")
    ca_cert = load_cert(ca_cert_pem)
    ca_key = load_private_key(ca_key_pem)
    if not public_keys_equal(ca_cert.public_key(), ca_key.public_key()):
        raise InvalidInput("ca_key: does not match the CA certificate", field="ca_key")
    key = new_private_key(key_type)
    start = _utc(now)
    cn = names[0] if common_name is None else common_name
    subject = _name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
    usages = [ExtendedKeyUsageOID.SERVER_AUTH]
    if client_auth:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        _base(
            subject,
            ca_cert.subject,
            key.public_key(),
            start,
            days,
            not_after_max=ca_cert.not_valid_after_utc,
        )
        .add_extension(x509.SubjectAlternativeName(_general_names(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(rsa_key=key_type == "rsa"), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
    )
    cert = builder.sign(ca_key, hashes.SHA256())
    return CertAndKey(_cert_pem(cert), _key_pem(key))


def issue_client_cert(
    ca_cert_pem: str,
    ca_key_pem: str,
    organization: str,
    unit: str,
    *,
    now: datetime | None = None,
    days: int = SERVER_DAYS,
) -> CertAndKey:
    """A client certificate ``O=organization, OU=unit`` (no CN, no SAN) signed by the CA."""
    ca_cert = load_cert(ca_cert_pem)
    ca_key = load_private_key(ca_key_pem)
    if not public_keys_equal(ca_cert.public_key(), ca_key.public_key()):
        raise InvalidInput("ca_key: does not match the CA certificate", field="ca_key")
    key = new_private_key("ec")
    subject = _name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                     x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit)])
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        _base(subject, ca_cert.subject, key.public_key(), _utc(now), days,
              not_after_max=ca_cert.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
    )
    cert = builder.sign(ca_key, hashes.SHA256())
    return CertAndKey(_cert_pem(cert), _key_pem(key))


def self_signed_cert(
    common_name: str,
    *,
    now: datetime | None = None,
    days: int = SELF_SIGNED_DAYS,
    key_type: KeyType = "rsa",
) -> CertAndKey:
    """A self-contained certificate (SAML signing or encryption), RSA 2048 by default."""
    key = new_private_key(key_type)
    name = _name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        _base(name, name, key.public_key(), _utc(now), days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return _sign(builder, key)


def load_cert(pem: str) -> x509.Certificate:
    """Parse a PEM certificate; a malformed one is :class:`InvalidInput`."""
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise InvalidInput(f"cert: not a PEM certificate ({exc})", field="cert") from None


def load_private_key(pem: str) -> CertificateIssuerPrivateKeyTypes:
    """Parse an unencrypted PEM private key usable for signing certificates."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        # Never echo the key material or the parser's view of it.
        raise InvalidInput("key: not an unencrypted PEM private key", field="key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise InvalidInput("key: only EC and RSA keys are supported", field="key")
    return key


def key_matches_cert(cert_pem: str, key_pem: str) -> bool:
    """Whether ``key_pem`` is the private key of ``cert_pem``'s public key."""
    cert_key = load_cert(cert_pem).public_key()
    return public_keys_equal(cert_key, load_private_key(key_pem).public_key())


def public_keys_equal(a: object, b: object) -> bool:
    """Compare two public keys by their DER SubjectPublicKeyInfo."""
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if not isinstance(a, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return False
    if not isinstance(b, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return False
    return a.public_bytes(enc, fmt) == b.public_bytes(enc, fmt)


# -- helpers --------------------------------------------------------------------------


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _name(attrs: list[x509.NameAttribute[str]]) -> x509.Name:
    try:
        return x509.Name(attrs)
    except ValueError as exc:
        raise InvalidInput(f"name: {exc}", field="name") from None


def _base(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    start: datetime,
    days: int,
    *,
    not_after_max: datetime | None = None,
) -> x509.CertificateBuilder:
    not_after = start + timedelta(days=days)
    if not_after_max is not None:
        not_after = min(not_after, not_after_max)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - CLOCK_SKEW)
        .not_valid_after(not_after)
    )


def _key_usage(*, cert_sign: bool = False, rsa_key: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=rsa_key,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _general_names(names: Iterable[str]) -> list[x509.GeneralName]:
    result: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):  # de-duplicate, keep order
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            if not name or any(ch.isspace() for ch in name):
                raise InvalidInput(f"names: {name!r} is not a DNS name", field="names") from None
            result.append(x509.DNSName(name.lower()))
    return result


def _sign(
    builder: x509.CertificateBuilder, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
) -> CertAndKey:
    cert = builder.sign(key, hashes.SHA256())
    return CertAndKey(_cert_pem(cert), _key_pem(key))


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
