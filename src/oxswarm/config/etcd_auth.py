"""Who a config store client is: TLS with the cluster CA and a client certificate, and the
etcd user it authenticates as.

etcd 3.4's JSON gateway (https://etcd.io/docs/v3.4/dev-guide/api_grpc_gateway/) does not
pass a client certificate's common name on as the etcd user (the gRPC API does), and it
refuses, with HTTP 400, a client certificate that has one. So every client of the store
holds two things derived from one certificate and its key:

* TLS: a certificate of the cluster CA without CN (``O=OxSwarm <cluster>, OU=<role>``),
  required by etcd's ``--client-cert-auth``: without one no byte of the store is read;
* etcd auth (https://etcd.io/docs/v3.4/op-guide/authentication/): user
  ``<role>.<fingerprint>`` (the OU and the first 12 hex digits of the certificate's
  SHA-256), password HMAC-SHA256(private key, ``oxswarm/etcd-password/v1``), given to
  ``/v3/auth/authenticate`` for a token sent as ``Authorization``.

Whoever holds the key file is the user; nobody else knows the password. A new certificate
is a new user (rotation adds the new users, rolls the services, then deletes the old
users: :mod:`oxswarm.config.etcd_rbac`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from oxswarm.errors import StoreAuthError

PASSWORD_LABEL = b"oxswarm/etcd-password/v1"
FINGERPRINT_DIGITS = 12
OPTION_HINT = ("--store-ca-file, --store-cert-file and --store-key-file (or "
               "OXSWARM_STORE_CA_FILE, OXSWARM_STORE_CERT_FILE, OXSWARM_STORE_KEY_FILE)")


def cert_role(cert: x509.Certificate) -> str | None:
    """The certificate's OU (the client's role), or None."""
    units = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return str(units[0].value) if units else None


def user_name(cert_pem: str | bytes) -> str | None:
    """The etcd user of a client certificate: ``<OU>.<fingerprint>``; None without OU."""
    raw = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    cert = x509.load_pem_x509_certificate(raw)
    role = cert_role(cert)
    if role is None:
        return None
    digest = cert.fingerprint(hashes.SHA256()).hex()
    return f"{role}.{digest[:FINGERPRINT_DIGITS]}"


def password(key_pem: str | bytes) -> str:
    """The etcd password of a client key (never stored, never logged)."""
    raw = key_pem.encode() if isinstance(key_pem, str) else key_pem
    key = serialization.load_pem_private_key(raw, password=None)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    mac = hmac.new(der, PASSWORD_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def subject_text(cert_pem: str | bytes) -> str:
    """``O=..., OU=...`` of a certificate, for messages and logs (never the key)."""
    raw = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    return x509.load_pem_x509_certificate(raw).subject.rfc4514_string() or "(empty subject)"


@dataclass(frozen=True)
class Identity:
    """The etcd user a client logs in as; ``repr`` hides the password."""

    user: str
    password: str
    subject: str
    cert_file: Path

    def __repr__(self) -> str:
        return f"Identity(user={self.user!r}, subject={self.subject!r})"


@dataclass(frozen=True)
class StoreCredentials:
    """The files a store client presents: the cluster CA, its certificate and key."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def __bool__(self) -> bool:
        return any((self.ca_file, self.cert_file, self.key_file))

    def _read(self, path: Path, what: str) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise StoreAuthError(f"{what} {path} does not exist") from None
        except OSError as exc:
            raise StoreAuthError(f"{what} {path} cannot be read: {exc.strerror}") from None

    def ssl_context(self) -> ssl.SSLContext:
        """Verify the store with the CA (the system's when none is given); present the
        client certificate when one is given. Errors name the file, never its content."""
        ctx = ssl.create_default_context()
        if self.ca_file is not None:
            data = self._read(self.ca_file, "store-ca-file")
            try:
                ctx.load_verify_locations(cadata=data.decode())
            except (ssl.SSLError, ValueError, UnicodeDecodeError):
                raise StoreAuthError(
                    f"store-ca-file {self.ca_file} is not a PEM certificate") from None
        if (self.cert_file is None) != (self.key_file is None):
            given, missing = (("store-cert-file", "--store-key-file") if self.key_file is None
                              else ("store-key-file", "--store-cert-file"))
            raise StoreAuthError(f"{given} given without its pair: give {missing} too")
        if self.cert_file is not None and self.key_file is not None:
            self._read(self.cert_file, "store-cert-file")
            self._read(self.key_file, "store-key-file")
            try:
                ctx.load_cert_chain(self.cert_file, self.key_file)
            except ssl.SSLError as exc:
                why = ("is not the key of" if "KEY_VALUES_MISMATCH" in str(exc)
                       else "and its certificate cannot be loaded with")
                raise StoreAuthError(
                    f"store-key-file {self.key_file} {why} store-cert-file {self.cert_file}"
                ) from None
        return ctx

    def identity(self) -> Identity | None:
        """The etcd user of the client certificate (None without certificate or OU)."""
        if self.cert_file is None or self.key_file is None:
            return None
        cert = self._read(self.cert_file, "store-cert-file")
        try:
            user = user_name(cert)
            subject = subject_text(cert)
        except ValueError:
            raise StoreAuthError(
                f"store-cert-file {self.cert_file} is not a PEM certificate") from None
        if user is None:
            return None
        try:
            secret = password(self._read(self.key_file, "store-key-file"))
        except (ValueError, TypeError):
            raise StoreAuthError(
                f"store-key-file {self.key_file} is not an unencrypted PEM private key"
            ) from None
        return Identity(user, secret, subject, self.cert_file)
