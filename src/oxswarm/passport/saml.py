"""oxPassport's SAML 2.0 service provider: sign in through an upstream SAML IdP.

SAML 2.0 Core (saml-core-2.0-os), Bindings (HTTP-Redirect for the AuthnRequest, HTTP-POST
for the Response), Profiles (4.1 Web Browser SSO) and Metadata. pysaml2's ``Saml2Client``
on Debian's ``xmlsec1`` does every XML signature check, as the IdP
(:mod:`oxswarm.oxshibboleth.idp`) does; nothing here touches XML security.

* :func:`parse_idp_metadata`: the provider's metadata (one EntityDescriptor with an
  IDPSSODescriptor, an HTTP-Redirect SingleSignOnService and a signing key), under the
  guards of the IdP's trusts (size, no DOCTYPE: :mod:`oxswarm.oxshibboleth.messages`).
* :class:`SpEngine`: per provider, the SP entityID ``<issuer>/passport/auth/meta/idp/<ID>``,
  the ACS ``<issuer>/passport/auth/saml/<ID>/callback``; signed AuthnRequests
  (RSA-SHA256); responses must be signed (Response or assertion), for our audience, to our
  ACS (Destination, Recipient), in response to the request of this browser's state, inside
  their validity window (60 s of skew); unsolicited responses are refused.
* :func:`claims_of`: the attributes under their common names (``mail``, ``email``, the
  urn:oid and the claims-URI forms) as the OIDC claim names the account logic reads.

The SP's key pairs are the cluster's SAML pairs (config-init's ``idp_signing_*`` and
``idp_encryption_*``): one SAML identity per cluster, no new secret to make or rotate.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_UNSPECIFIED
from saml2.xmldsig import SIG_RSA_SHA256

from oxswarm.errors import InvalidInput
from oxswarm.oauth.oidc.upstream import FederationError
from oxswarm.oxshibboleth.idp import ACCEPTED_TIME_DIFF, IdpKeys, KeyFiles, xmlsec_binary
from oxswarm.oxshibboleth.messages import MessageRefused, decode_post
from oxswarm.oxshibboleth.trust import load_entity

log = logging.getLogger(__name__)

META_PATH: Final = "/passport/auth/meta/idp/{id}"
ACS_PATH: Final = "/passport/auth/saml/{id}/callback"
# attribute names (friendly, urn:oid, claims URI) -> the OIDC claim the account logic reads
COMMON_NAMES: Final[Mapping[str, str]] = {
    "mail": "email", "email": "email", "emailaddress": "email",
    "urn:oid:0.9.2342.19200300.100.1.3": "email",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": "email",
    "givenname": "given_name", "given_name": "given_name", "urn:oid:2.5.4.42": "given_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname": "given_name",
    "sn": "family_name", "surname": "family_name", "urn:oid:2.5.4.4": "family_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname": "family_name",
    "uid": "preferred_username", "urn:oid:0.9.2342.19200300.100.1.1": "preferred_username",
    "displayname": "name", "urn:oid:2.16.840.1.113730.3.1.241": "name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": "name",
}
SUBJECT_FORMATS: Final = (NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_UNSPECIFIED)


@dataclass(frozen=True, slots=True)
class IdpMetadata:
    entity_id: str
    sso_redirect: str


def parse_idp_metadata(xml: str | bytes) -> IdpMetadata:
    """The upstream IdP's metadata; :class:`InvalidInput` naming ``metadata``."""
    store, entity_id, idp = load_entity(xml, "idpsso")
    redirect = [str(s.get("location") or "") for s in idp.get("single_sign_on_service") or []
                if s.get("binding") == BINDING_HTTP_REDIRECT]
    if not redirect or not redirect[0].startswith(("https://", "http://")):
        raise InvalidInput("metadata: no SingleSignOnService with the HTTP-Redirect binding",
                           field="metadata")
    if not store.certs(entity_id, "idpsso", "signing"):
        raise InvalidInput("metadata: the IdP publishes no signing key", field="metadata")
    return IdpMetadata(entity_id=entity_id, sso_redirect=redirect[0])


def entity_id(base_url: str, provider_id: str) -> str:
    return base_url.rstrip("/") + META_PATH.format(id=provider_id)


def acs_url(base_url: str, provider_id: str) -> str:
    return base_url.rstrip("/") + ACS_PATH.format(id=provider_id)


def read_sp_keys(get: Any, get_secret: Any) -> IdpKeys | None:
    """The cluster's SAML key pairs from the store (None before config-init made them)."""
    found = [get("idp_signing_cert"), get_secret("idp_signing_key"),
             get("idp_encryption_cert"), get_secret("idp_encryption_key")]
    if not all(found):
        return None
    return IdpKeys(*(str(f) for f in found))


def sp_config(base_url: str, provider_id: str, metadata: str, files: KeyFiles) -> SPConfig:
    acs = acs_url(base_url, provider_id)
    conf: dict[str, Any] = {
        "entityid": entity_id(base_url, provider_id),
        "xmlsec_binary": xmlsec_binary(),
        "crypto_backend": "xmlsec1",
        "key_file": files.signing_key,
        "cert_file": files.signing_cert,
        "encryption_keypairs": [
            {"key_file": files.encryption_key, "cert_file": files.encryption_cert}],
        "accepted_time_diff": ACCEPTED_TIME_DIFF,
        "delete_tmpfiles": True,
        "metadata": {"inline": [metadata]},
        "allow_unknown_attributes": True,  # the claims-URI and friendly forms too
        "service": {"sp": {
            "name": "OxSwarm oxPassport",
            "endpoints": {"assertion_consumer_service": [(acs, BINDING_HTTP_POST)]},
            "authn_requests_signed": True,
            "want_response_signed": False,
            "want_assertions_signed": False,
            "want_assertions_or_response_signed": True,
            "allow_unsolicited": False,
            "signing_algorithm": SIG_RSA_SHA256,
            "name_id_format": [NAMEID_FORMAT_PERSISTENT],
            "name_id_format_allow_create": True,
        }},
    }
    config = SPConfig()
    config.load(conf)
    return config


@dataclass(frozen=True, slots=True)
class Signed:
    """What a verified Response says: the subject and the attributes as claims."""

    subject: str
    claims: dict[str, Any]
    assertion_id: str
    not_on_or_after: int


class SpEngine:
    """pysaml2's client for one provider; built once per (provider, keys), reused."""

    def __init__(self, base_url: str, provider_id: str, metadata: str, keys: IdpKeys) -> None:
        self.files = KeyFiles(keys)
        self.config = sp_config(base_url, provider_id, metadata, self.files)
        self.client = Saml2Client(config=self.config)
        self.idp = parse_idp_metadata(metadata).entity_id

    def metadata_xml(self) -> str:
        return str(entity_descriptor(self.config))

    def authn_request(self, relay_state: str) -> tuple[str, str]:
        """The request ID and the IdP URL (HTTP-Redirect, signed with RSA-SHA256)."""
        request_id, info = self.client.prepare_for_authenticate(
            entityid=self.idp, relay_state=relay_state, binding=BINDING_HTTP_REDIRECT,
            sign=True, sigalg=SIG_RSA_SHA256)
        location = dict(info["headers"])["Location"]
        return str(request_id), str(location)

    def verify(self, saml_response: str, request_id: str,
               subject_attribute: str = "") -> Signed:
        """The verified Response of ``request_id``; :class:`FederationError` naming why not."""
        try:
            decode_post(saml_response)  # the size and DOCTYPE guards; pysaml2 decodes it
        except MessageRefused as exc:
            raise FederationError(str(exc).replace("SAMLRequest", "SAMLResponse")) from None
        try:
            response = self.client.parse_authn_request_response(
                saml_response, BINDING_HTTP_POST,
                outstanding={request_id: "/"})
        except Exception as exc:  # noqa: BLE001  (pysaml2 raises many kinds; all mean refused)
            raise FederationError(f"SAMLResponse: {_reason(exc)}") from None
        if response is None or response.assertion is None:
            raise FederationError("SAMLResponse: not a successful signed Response")
        if str(response.in_response_to or "") != request_id:
            raise FederationError("SAMLResponse: InResponseTo is not this browser's request")
        claims = claims_of(response.ava or {})
        subject = _subject(response, claims, subject_attribute)
        return Signed(subject=subject, claims=claims, assertion_id=str(response.assertion.id),
                      not_on_or_after=int(response.not_on_or_after or 0))


def _reason(exc: Exception) -> str:
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
    if "AudienceRestriction" in text:
        return "the response is not for us (audience)"
    if "signed" in text or "ignature" in text:
        return "the signature is missing or not by the IdP's key"
    hints = {"SignatureError": "the signature is missing or not by the IdP's key",
             "SigverError": "the signature is missing or not by the IdP's key",
             "MissingKey": "the signature is not by the IdP's key",
             "ResponseLifetimeExceed": "the response is expired",
             "ToEarly": "the response is not yet valid",
             "UnsolicitedResponse": "InResponseTo is not this browser's request",
             "VerificationError": "the response is not for us (audience or recipient)",
             "StatusError": "the IdP answered an error status"}
    return f"{hints.get(name, name)}{f' ({text})' if text and name not in hints else ''}"


def claims_of(ava: Mapping[str, Any]) -> dict[str, Any]:
    """Attribute values (the first of each) under the OIDC claim names, and as sent."""
    out: dict[str, Any] = {}
    for name, values in ava.items():
        first = values[0] if isinstance(values, list) and values else values
        if not isinstance(first, str):
            continue
        out.setdefault(str(name), first)
        common = COMMON_NAMES.get(str(name).lower()) or COMMON_NAMES.get(str(name))
        if common:
            out.setdefault(common, first)
    return out


def _subject(response: Any, claims: Mapping[str, Any], attribute: str) -> str:
    if attribute:
        value = claims.get(attribute)
        if not isinstance(value, str) or not value:
            raise FederationError(f"SAMLResponse: no {attribute} attribute for the subject")
        return value[:256]
    name_id = response.name_id
    fmt = getattr(name_id, "format", None) or NAMEID_FORMAT_UNSPECIFIED
    text = str(getattr(name_id, "text", "") or "").strip()
    if fmt not in SUBJECT_FORMATS or not text:
        raise FederationError("SAMLResponse: the NameID is not persistent or unspecified "
                              "(set the provider's subject attribute)")
    return text[:256]
