"""Which user claims a client gets: OpenID Connect Core 1.0 sections 5.4 and 5.5.

Section 5.4 maps the scopes ``profile``, ``email``, ``address`` and ``phone`` to standard
claims (section 5.1); section 5.5 lets the ``claims`` request parameter ask for single
claims in the ID token or at the userinfo endpoint. ``sub`` is always set by the caller.

Consent covers claims: the user consents to scopes, so a claim asked for through
``claims`` is released only when one of the (consented) scopes of the grant covers it
(section 5.4's mapping). ``claims`` can move a covered claim into the ID token, or ask
for one a scope covers, never widen what the user agreed to: with consent for ``openid``
only, ``claims={"userinfo":{"email":null}}`` releases nothing (5.5: a claim that is not
returned is simply omitted, essential or not).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name", "family_name", "given_name", "middle_name", "nickname",
        "preferred_username", "profile", "picture", "website", "gender", "birthdate",
        "zoneinfo", "locale", "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}

STANDARD_SCOPES = ("openid", *SCOPE_CLAIMS, "offline_access")


def supported_claims() -> list[str]:
    """Every claim this provider can release (discovery ``claims_supported``)."""
    names = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid"]
    return names + [c for claims in SCOPE_CLAIMS.values() for c in claims]


def covered(scope: Iterable[str]) -> set[str]:
    """The user claims the scopes ``scope`` cover (section 5.4)."""
    names: set[str] = set()
    for item in scope:
        names.update(SCOPE_CLAIMS.get(item, ()))
    return names


def requested_names(
    scope: Iterable[str],
    requested: Mapping[str, Any] | None,
    target: Literal["userinfo", "id_token"],
    *,
    include_scope_claims: bool = True,
) -> set[str]:
    """Names of the claims to release at ``target``: the scopes' claims (unless
    ``include_scope_claims`` is false) and those of ``requested[target]`` that the scopes
    cover (never one outside them)."""
    allowed = covered(scope)
    names = set(allowed) if include_scope_claims else set()
    section = (requested or {}).get(target)
    if isinstance(section, Mapping):
        names.update(name for name in map(str, section) if name in allowed)
    return names


def release(user_claims: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The subset of the user's claims named (absent ones are omitted, never null)."""
    return {n: user_claims[n] for n in names if user_claims.get(n) not in (None, "", [])}
