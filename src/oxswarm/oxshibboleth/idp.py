"""The SAML 2.0 identity provider's engine: pysaml2's ``Server`` on the system's ``xmlsec1``.

SAML 2.0 Core and Bindings (OASIS saml-core-2.0-os, saml-bindings-2.0-os) and Metadata
(saml-metadata-2.0-os). Every XML signature and encryption is made and checked by pysaml2's
default crypto backend, Debian's ``xmlsec1`` program: nothing here touches XML security.

* :class:`KeyFiles`: the IdP's signing and encryption key pairs (config-init's
  ``idp_signing_*``, ``idp_encryption_*``) written to a private folder for ``xmlsec1``.
* :func:`idp_config`: pysaml2's ``IdPConfig`` for entityID ``<base>/idp/shibboleth`` with
  Shibboleth's endpoints and the trusted SPs' metadata inline.
* :class:`IdpServer`: ``saml2.server.Server`` that encrypts assertions as the SP's metadata
  asks (:mod:`oxswarm.oxshibboleth.encryption`; by default AES-256-GCM content and RSA-OAEP
  mgf1p key transport; pysaml2's default is 3DES-CBC).
* :func:`metadata_xml`: the IdP's own metadata (``/idp/shibboleth``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import (
    NAME_FORMAT_URI,
    NAMEID_FORMAT_EMAILADDRESS,
    NAMEID_FORMAT_PERSISTENT,
    NAMEID_FORMAT_TRANSIENT,
    NAMEID_FORMAT_UNSPECIFIED,
)
from saml2.server import Server
from saml2.sigver import get_pem_wrapped_unwrapped, make_temp, pre_encryption_part

from oxswarm.errors import OxSwarmError
from oxswarm.oxshibboleth import encryption

ENTITY_PATH: Final = "/idp/shibboleth"
SSO_REDIRECT_PATH: Final = "/idp/profile/SAML2/Redirect/SSO"
SSO_POST_PATH: Final = "/idp/profile/SAML2/POST/SSO"
UNSOLICITED_PATH: Final = "/idp/profile/SAML2/Unsolicited/SSO"
SLO_REDIRECT_PATH: Final = "/idp/profile/SAML2/Redirect/SLO"
SLO_POST_PATH: Final = "/idp/profile/SAML2/POST/SLO"
ASSERTION_MINUTES: Final = 5  # NotOnOrAfter of an assertion
ACCEPTED_TIME_DIFF: Final = 60  # seconds of clock skew accepted in an SP's messages
# the SessionIndex of the assertion being built (set by the caller in the building thread)
SESSION_INDEX: ContextVar[str | None] = ContextVar("saml_session_index", default=None)
NAMEID_FORMATS: Final = {
    "transient": NAMEID_FORMAT_TRANSIENT,
    "persistent": NAMEID_FORMAT_PERSISTENT,
    "emailAddress": NAMEID_FORMAT_EMAILADDRESS,
    "unspecified": NAMEID_FORMAT_UNSPECIFIED,
}


class XmlSecurityError(OxSwarmError):
    """The system's ``xmlsec1`` program is not installed, or cannot do what is asked."""

    exit_code = 1


def xmlsec_binary() -> str:
    found = shutil.which("xmlsec1")
    if not found:
        raise XmlSecurityError("xmlsec1 is not installed (Debian package xmlsec1)")
    return found


@dataclass(frozen=True)
class IdpKeys:
    """PEM texts of the IdP's key pairs (config-init's, from the store)."""

    signing_cert: str
    signing_key: str
    encryption_cert: str
    encryption_key: str

    def __repr__(self) -> str:  # never print the keys
        return "IdpKeys(...)"


class KeyFiles:
    """The key pairs as files ``xmlsec1`` reads: a 0700 folder, 0600 files; :meth:`close`
    removes them."""

    def __init__(self, keys: IdpKeys) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="oxshibboleth-")
        folder = Path(self._dir.name)
        folder.chmod(0o700)
        self.signing_cert = self._write(folder / "signing.crt", keys.signing_cert)
        self.signing_key = self._write(folder / "signing.key", keys.signing_key)
        self.encryption_cert = self._write(folder / "encryption.crt", keys.encryption_cert)
        self.encryption_key = self._write(folder / "encryption.key", keys.encryption_key)

    @staticmethod
    def _write(path: Path, text: str) -> str:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        return str(path)

    def close(self) -> None:
        self._dir.cleanup()


def entity_id(base_url: str) -> str:
    return base_url.rstrip("/") + ENTITY_PATH


def idp_config(
    base_url: str, files: KeyFiles, sp_metadata: Sequence[str], *, want_signed: bool
) -> IdPConfig:
    """pysaml2's IdP configuration; ``want_signed``: AuthnRequests must carry a signature
    (used for the SPs whose metadata says ``AuthnRequestsSigned="true"``)."""
    base = base_url.rstrip("/")
    conf: dict[str, Any] = {
        "entityid": entity_id(base),
        "xmlsec_binary": xmlsec_binary(),
        "crypto_backend": "xmlsec1",
        "key_file": files.signing_key,
        "cert_file": files.signing_cert,
        "encryption_keypairs": [
            {"key_file": files.encryption_key, "cert_file": files.encryption_cert}
        ],
        "accepted_time_diff": ACCEPTED_TIME_DIFF,
        "delete_tmpfiles": True,
        "metadata": {"inline": list(sp_metadata)},
        "service": {
            "idp": {
                "name": "OxSwarm SAML IdP",
                "endpoints": {
                    "single_sign_on_service": [
                        (base + SSO_REDIRECT_PATH, BINDING_HTTP_REDIRECT),
                        (base + SSO_POST_PATH, BINDING_HTTP_POST),
                    ],
                    "single_logout_service": [
                        (base + SLO_REDIRECT_PATH, BINDING_HTTP_REDIRECT),
                        (base + SLO_POST_PATH, BINDING_HTTP_POST),
                    ],
                },
                "name_id_format": list(NAMEID_FORMATS.values()),
                "want_authn_requests_signed": want_signed,
                "policy": {
                    "default": {
                        "lifetime": {"minutes": ASSERTION_MINUTES},
                        "attribute_restrictions": None,
                        "name_form": NAME_FORMAT_URI,
                    },
                },
            },
        },
    }
    config = IdPConfig()
    config.load(conf)
    return config


class IdpServer(Server):  # type: ignore[misc]  # pysaml2 has no type hints
    """pysaml2's IdP, encrypting assertions as the SP's metadata asks (AES-256-GCM and
    RSA-OAEP mgf1p unless it lists others we support), never with a weak algorithm and
    never in clear when encryption was asked (pysaml2 quietly skips it for an SP without an
    encryption certificate)."""

    def create_authn_response(self, identity: Any, in_response_to: str, destination: str,
                              sp_entity_id: str, *args: Any, **kwargs: Any) -> Any:
        if (kwargs.get("encrypt_assertion") and kwargs.get("encrypt_cert_assertion") is None
                and not self.has_encrypt_cert_in_metadata(sp_entity_id)):
            raise XmlSecurityError(f"no encryption certificate for {sp_entity_id}")
        return super().create_authn_response(identity, in_response_to, destination,
                                             sp_entity_id, *args, **kwargs)

    def setup_assertion(self, *args: Any, **kwargs: Any) -> Any:
        """pysaml2's assertion, its AuthnStatement's SessionIndex :data:`SESSION_INDEX`
        (pysaml2 draws a random one and keeps it nowhere we can read after encryption)."""
        assertion = super().setup_assertion(*args, **kwargs)
        index = SESSION_INDEX.get()
        if index is not None:
            for statement in assertion.authn_statement or []:
                statement.session_index = index
        return assertion

    def _encrypt_assertion(  # pysaml2's hook, same signature
        self, encrypt_cert: str | None, sp_entity_id: str | None, response: Any,
        node_xpath: str | None = None,
    ) -> Any:
        certs: list[tuple[Any, str]] = []
        if encrypt_cert:
            certs.append((None, encrypt_cert))
        elif sp_entity_id is not None:
            certs = self.metadata.certs(sp_entity_id, "any", "encryption")
        if not certs:  # pysaml2 would send the assertion in clear: never
            raise XmlSecurityError(f"no encryption certificate for {sp_entity_id}")
        method = self.encryption_for(sp_entity_id)
        failure: Exception | None = None
        for name, cert in certs:
            wrapped, unwrapped = get_pem_wrapped_unwrapped(cert)
            tmp = make_temp(wrapped.encode("ascii"), decode=False,
                            delete_tmpfiles=self.config.delete_tmpfiles)
            template = pre_encryption_part(
                msg_enc=method.data, key_enc=method.key_transport, key_name=name,
                encrypt_cert=unwrapped,
            )
            try:
                return self.sec.encrypt_assertion(
                    response, tmp.name, template, key_type=method.session_key,
                    node_xpath=node_xpath,
                )
            except Exception as exc:  # noqa: BLE001  (xmlsec1's failure, tried with the next)
                failure = exc
        if failure is not None:
            raise failure
        return response

    def encryption_for(self, sp_entity_id: str | None) -> encryption.Encryption:
        """The algorithms the SP's metadata asks for; :class:`XmlSecurityError` when it
        lists only ones we do not support."""
        listed: list[str] = []
        if sp_entity_id is not None:
            for spsso in self.metadata[sp_entity_id].get("spsso_descriptor") or []:
                listed += encryption.listed_methods(spsso)
        try:
            return encryption.choose(listed)
        except encryption.Unsupported as exc:
            raise XmlSecurityError(f"{sp_entity_id}: {exc}") from None


def metadata_xml(config: IdPConfig) -> str:
    """The IdP's EntityDescriptor: signing and encryption certificates, SSO endpoints."""
    return str(entity_descriptor(config))
