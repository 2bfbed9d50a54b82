"""Authentication Context Class References (OpenID Connect Core 1.0 sections 2, 3.1.2.1,
5.5.1.1) and Authentication Method References (RFC 8176).

OxSwarm's built-in authentication method is the user's password checked against the
directory. Its ``acr`` is Gluu's name for it, ``simple_password_auth`` (relying parties
written for Gluu send that value), its ``amr`` is ``["pwd"]`` (RFC 8176 section 2). A
sign-in through an upstream provider (oxPassport) has Gluu's ``passport_social`` (OpenID
Provider) or ``passport_saml`` and ``amr`` ``["fed"]``.

``acr_values`` is a voluntary request (Core 3.1.2.1): the ID token carries the ``acr``
that was actually satisfied, whatever was asked. An *essential* ``acr`` request through
the ``claims`` parameter (Core 5.5.1.1) that names no supported value cannot be met: the
request fails with ``unmet_authentication_requirements`` (OpenID Connect Core Unmet
Authentication Requirements 1.0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

PASSWORD: Final = "simple_password_auth"
PASSWORD_AMR: Final = ("pwd",)
# oxPassport (inbound federation): Gluu's names; the amr is RFC 8176's "fed"
PASSPORT_SOCIAL: Final = "passport_social"
PASSPORT_SAML: Final = "passport_saml"
FEDERATED_AMR: Final = ("fed",)
SUPPORTED: Final = (PASSWORD, PASSPORT_SOCIAL, PASSPORT_SAML)
PASSWORD_ACRS: Final = (PASSWORD,)  # what a password sign-in can satisfy


def essential_acr_values(claims: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    """The values of an essential ``acr`` claim request for the ID token, or None."""
    if not claims:
        return None
    request = (claims.get("id_token") or {}).get("acr") if isinstance(claims, Mapping) else None
    if not isinstance(request, Mapping) or request.get("essential") is not True:
        return None
    if isinstance(request.get("value"), str):
        return (request["value"],)
    values = request.get("values")
    if isinstance(values, list):
        return tuple(str(v) for v in values)
    return None


def can_satisfy(claims: Mapping[str, Any] | None) -> bool:
    """False when an essential ``acr`` is requested and none of its values is supported."""
    wanted = essential_acr_values(claims)
    return wanted is None or bool(set(wanted) & set(SUPPORTED))


def chosen(requested: Sequence[str], client_defaults: object, default: str,
           among: Sequence[str] = PASSWORD_ACRS) -> str:
    """The ``acr`` of a sign-in: the first supported of the request's ``acr_values``
    (Core 3.1.2.1, in order of preference), else of the client's ``default_acr_values``
    (OpenID Connect Registration 2), else the provider's ``default``; only values the
    method satisfies (``among``) are chosen."""
    for value in requested:
        if value in among:
            return value
    if isinstance(client_defaults, list | tuple):
        for value in client_defaults:
            if value in among:
                return str(value)
    return default if default in among else among[0]
