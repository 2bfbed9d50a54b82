"""A real SAML service provider for the tests: pysaml2's SP side (``Saml2Client``) with its
own RSA key pair, its own metadata, and the IdP's metadata as the IdP serves it."""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.sigver import verify_redirect_signature
from saml2.xmldsig import SIG_RSA_SHA256

from oxswarm.crypto import pki


@dataclass
class ServiceProvider:
    entity_id: str
    folder: Path
    idp_metadata: str
    acs: str = ""
    sign_requests: bool = True
    allow_unsolicited: bool = False
    outstanding: dict[str, str] = field(default_factory=dict)
    slo: str = ""
    logouts: list[Any] = field(default_factory=list)  # the IdP's LogoutRequests taken

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        pair = pki.self_signed_cert("sp.test")
        (self.folder / "sp.crt").write_text(pair.cert_pem)
        (self.folder / "sp.key").write_text(pair.key_pem)
        self.acs = self.acs or self.entity_id.rstrip("/") + "/acs"
        self.slo = self.entity_id.rstrip("/") + "/slo"
        config = SPConfig()
        config.load({
            "entityid": self.entity_id,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "key_file": str(self.folder / "sp.key"),
            "cert_file": str(self.folder / "sp.crt"),
            "encryption_keypairs": [{"key_file": str(self.folder / "sp.key"),
                                     "cert_file": str(self.folder / "sp.crt")}],
            "metadata": {"inline": [self.idp_metadata]},
            "accepted_time_diff": 60,
            "service": {"sp": {
                "endpoints": {
                    "assertion_consumer_service": [(self.acs, BINDING_HTTP_POST)],
                    "single_logout_service": [(self.slo, BINDING_HTTP_REDIRECT)],
                },
                "authn_requests_signed": self.sign_requests,
                "want_response_signed": True,
                "want_assertions_signed": False,
                "want_assertions_or_response_signed": True,
                "allow_unsolicited": self.allow_unsolicited,
            }},
        })
        self.config = config
        self.client = Saml2Client(config)
        self.metadata = str(entity_descriptor(config))

    @property
    def idp_entity_id(self) -> str:
        return str(next(iter(self.client.metadata.identity_providers())))

    def redirect_request(self, **kw: Any) -> tuple[str, str]:
        """(request id, the IdP URL the browser is sent to) for HTTP-Redirect."""
        req_id, info = self.client.prepare_for_authenticate(
            entityid=self.idp_entity_id, binding=BINDING_HTTP_REDIRECT, relay_state="rs-1",
            sign=self.sign_requests, **kw)
        self.outstanding[req_id] = "/"
        return req_id, dict(info["headers"])["Location"]

    def post_request(self, **kw: Any) -> tuple[str, str, dict[str, str]]:
        """(request id, the IdP URL, the form fields) for HTTP-POST (signed inside)."""
        req_id, info = self.client.prepare_for_authenticate(
            entityid=self.idp_entity_id, binding=BINDING_HTTP_POST, relay_state="rs-2",
            sign=self.sign_requests, **kw)
        self.outstanding[req_id] = "/"
        action = re.search(r'action="([^"]+)"', info["data"])
        assert action, info["data"]
        return req_id, html.unescape(action.group(1)), form_fields(info["data"])

    def logout_request(self, name_id: Any, *, sign: bool = True) -> str:
        """The IdP URL of a LogoutRequest for ``name_id`` (HTTP-Redirect, signed over the
        query string unless ``sign`` is False)."""
        slo = self.idp_entity_id.replace("/idp/shibboleth", "/idp/profile/SAML2/Redirect/SLO")
        _, request = self.client.create_logout_request(slo, self.idp_entity_id,
                                                       name_id=name_id, sign=False)
        info = self.client.apply_binding(BINDING_HTTP_REDIRECT, str(request), slo, "bye",
                                         sign=sign, sigalg=SIG_RSA_SHA256 if sign else None)
        return str(dict(info["headers"])["Location"])

    def take_logout(self, location: str, *, sign: bool = True) -> tuple[Any, str]:
        """The IdP's LogoutRequest at this SP's SLO endpoint (HTTP-Redirect; its signature
        over the query string checked against the IdP's metadata certificate), and the IdP
        URL of this SP's LogoutResponse (signed unless ``sign`` is False)."""
        assert location.startswith(self.slo + "?"), location
        query = query_of(location)
        certs = self.client.metadata.certs(self.idp_entity_id, "idpsso", "signing")
        assert any(verify_redirect_signature(query, self.client.sec.sec_backend, cert)
                   for _name, cert in certs), "the IdP's LogoutRequest is not signed right"
        request = self.client.parse_logout_request(
            query["SAMLRequest"], BINDING_HTTP_REDIRECT, relay_state=query.get("RelayState"))
        self.logouts.append(request.message)
        response = self.client.create_logout_response(request.message, [BINDING_HTTP_REDIRECT],
                                                      sign=False)
        info = self.client.apply_binding(
            BINDING_HTTP_REDIRECT, str(response), response.destination,
            query.get("RelayState", ""), response=True, sign=sign,
            sigalg=SIG_RSA_SHA256 if sign else None)
        return request.message, str(dict(info["headers"])["Location"])

    def accept(self, response_b64: str) -> Any:
        """The SP's view of the IdP's Response (raises when it does not accept it)."""
        return self.client.parse_authn_request_response(
            response_b64, BINDING_HTTP_POST, outstanding=dict(self.outstanding))


def with_methods(metadata: str, *algorithms: str) -> str:
    """The SP's metadata with EncryptionMethods in its encryption KeyDescriptor."""
    match = re.search(r'<(ns\d+):KeyDescriptor use="encryption">.*?(</ns\d+:KeyDescriptor>)',
                      metadata, flags=re.DOTALL)
    assert match is not None
    methods = "".join(f'<{match[1]}:EncryptionMethod Algorithm="{a}"/>' for a in algorithms)
    return metadata[:match.start(2)] + methods + metadata[match.start(2):]


def form_fields(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
