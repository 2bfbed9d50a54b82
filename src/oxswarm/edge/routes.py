"""Gluu's public routes: which service answers which path at the edge.

After the Gluu Server's ``https_gluu.conf`` and gluu-docker's NGINX template (its
consul-template upstreams ``oxauth_backend``, ``oxtrust_backend`` ...): the applications
keep their context paths (``/oxauth``, ``/identity``, ``/idp``, ``/passport``, and Gluu
4's ``/scim``, ``/fido2``, ``/casa``), and the
well-known discovery documents at the root are served by the application that owns them
(OpenID Connect Discovery 1.0 section 4, RFC 7033 WebFinger, UMA 2.0 Grant section 2 via
RFC 8414-style metadata, SCIM's configuration from oxTrust).

``/`` redirects (302) to oxTrust's ``/identity`` while oxTrust has a healthy instance,
and to ``/.well-known/openid-configuration`` otherwise: OxSwarm serves oxAuth first and
oxTrust later, and a visitor to the root must never land on a 503.

``/passport`` (Gluu's oxPassport) goes to oxAuth, which hosts the upstream sign-in itself
so that the session is made where sessions are made (docs/passport.md).

Every known prefix has a location even while its service has no instance (it answers 503
with ``Retry-After`` from the node itself), and any other path answers 404 from the node:
no request for an absent route reaches a backend or waits for one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

OXAUTH: Final = "oxauth"
OXTRUST: Final = "oxtrust"
OXSHIBBOLETH: Final = "oxshibboleth"
OXPASSPORT: Final = "oxpassport"
SCIM: Final = "scim"
FIDO2: Final = "fido2"
CASA: Final = "casa"

# No sticky sessions (the original's ip_hash for oxTrust's JSF views and the IdP's SAML
# conversation): oxTrust's UI sessions and the IdP's SAML request state live in the shared
# cache (and the directory), so any instance on any node serves any request.

HEALTH_PATH: Final = "/nginx-health"
ROOT_WITH_OXTRUST: Final = "/identity"
ROOT_WITHOUT_OXTRUST: Final = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class Route:
    """``location`` (an NGINX location argument) served by ``service``.

    ``upstream_uri``: the URI sent upstream in place of the matched location; None
    passes the request URI unchanged.
    """

    location: str
    service: str
    upstream_uri: str | None = None


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "= /.well-known/openid-configuration", OXAUTH, "/oxauth/.well-known/openid-configuration"
    ),
    Route("= /.well-known/webfinger", OXAUTH, "/oxauth/.well-known/webfinger"),
    Route(
        "= /.well-known/simple-web-discovery", OXAUTH, "/oxauth/.well-known/simple-web-discovery"
    ),
    Route("= /.well-known/uma2-configuration", OXAUTH, "/oxauth/restv1/uma2-configuration"),
    Route("= /.well-known/scim-configuration", OXTRUST, "/identity/restv1/scim-configuration"),
    Route("/oxauth", OXAUTH),
    Route("/identity", OXTRUST),
    Route("/idp", OXSHIBBOLETH),
    Route("/passport", OXAUTH),  # oxPassport's paths are served by oxAuth (docs/passport.md)
    Route("/scim", SCIM),
    Route("/fido2", FIDO2),
    Route("/casa", CASA),
)

# OXPASSPORT is no service of its own: oxAuth serves /passport
SERVICES: Final[tuple[str, ...]] = (OXAUTH, OXTRUST, OXSHIBBOLETH, SCIM, FIDO2, CASA)


def upstream_name(service: str) -> str:
    """The NGINX upstream block of ``service`` (as gluu-docker named them)."""
    return f"{service}_backend"
