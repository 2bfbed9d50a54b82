"""OpenID Connect Discovery 1.0 section 3: the provider metadata document.

Also carries RFC 8414 fields (``revocation_endpoint``, ``introspection_endpoint`` and
their auth methods) and the logout specifications' ``*_supported`` flags. Endpoints use
Gluu's paths under ``<issuer>/oxauth/restv1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oxswarm.oauth.client_metadata import RESPONSE_TYPES
from oxswarm.oauth.oidc.core import acr
from oxswarm.oauth.oidc.core.claims import supported_claims


def provider_metadata(
    issuer: str,
    *,
    signing_algs: Sequence[str],
    scopes: Sequence[str],
    grant_types: Sequence[str],
    auth_methods: Sequence[str],
    registration: bool,
) -> dict[str, Any]:
    """The discovery document for ``issuer``."""
    base = f"{issuer.rstrip('/')}/oxauth/restv1"
    assertion_algs = ["HS256", "HS384", "HS512", *(a for a in signing_algs if a[:2] != "HS")]
    doc: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "clientinfo_endpoint": f"{base}/clientinfo",
        "jwks_uri": f"{base}/jwks",
        "end_session_endpoint": f"{base}/end_session",
        "revocation_endpoint": f"{base}/revoke",
        "introspection_endpoint": f"{base}/introspection",
        "scopes_supported": list(scopes),
        "response_types_supported": list(RESPONSE_TYPES),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": [*grant_types, "implicit"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": list(signing_algs),
        "userinfo_signing_alg_values_supported": list(signing_algs),
        "token_endpoint_auth_methods_supported": list(auth_methods),
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_methods_supported": [
            m for m in auth_methods if m != "none"
        ],
        "revocation_endpoint_auth_methods_supported": list(auth_methods),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": supported_claims(),
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claim_types_supported": ["normal"],
        "frontchannel_logout_supported": True,
        "frontchannel_logout_session_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "prompt_values_supported": ["none", "login", "consent"],
        "acr_values_supported": list(acr.SUPPORTED),
    }
    if registration:
        doc["registration_endpoint"] = f"{base}/register"
    return doc
