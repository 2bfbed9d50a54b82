"""What an authorization request needs before a response: OpenID Connect Core 1.0 section
3.1.2.1 (``prompt``, ``max_age``, ``id_token_hint``) and 3.1.2.3-3.1.2.4 (authentication,
consent), with the ``prompt=none`` errors of section 3.1.2.6.

:func:`next_step` answers ``LOGIN``, ``CONSENT`` or ``ISSUE``; with ``prompt=none`` it
raises ``login_required`` or ``consent_required`` instead of asking for interaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from oxswarm.oauth.oidc.core import acr
from oxswarm.oauth.oidc.core.authorization import AuthorizationRequest
from oxswarm.oauth.rfc6749.errors import ConsentRequired, LoginRequired

LOGIN: Final = "login"
CONSENT: Final = "consent"
ISSUE: Final = "issue"


@dataclass(frozen=True, slots=True)
class Situation:
    """What the provider knows about the user agent when it handles the request.

    ``auth_time`` of the current session (None: nobody signed in); ``fresh_login``: the
    user authenticated during this very request (the login form was just posted);
    ``consented``: the user already granted every requested scope to this client;
    ``fresh_consent``: the user just answered the consent page; ``hint_sub``: the ``sub``
    of a valid ``id_token_hint``; ``session_sub``: the ``sub`` of the session;
    ``session_acr``: the ``acr`` the session's sign-in satisfied.
    """

    now: int
    auth_time: int | None = None
    session_sub: str | None = None
    fresh_login: bool = False
    consented: bool = False
    fresh_consent: bool = False
    hint_sub: str | None = None
    session_acr: str | None = None


def needs_login(req: AuthorizationRequest, s: Situation) -> bool:
    """Core 3.1.2.1: no session, ``prompt=login``/``select_account``, ``max_age`` exceeded,
    an ``id_token_hint`` naming another user than the session's, or (Core 5.5.1.1) an
    essential ``acr`` the session's sign-in did not satisfy (a password session asked for
    ``passport_social``, or the reverse): the user signs in again, with a method that does."""
    if s.auth_time is None:
        return True
    wanted = acr.essential_acr_values(req.claims)
    if wanted and s.session_acr not in wanted:
        return True
    if s.fresh_login:
        return False
    if req.prompt & {"login", "select_account"}:
        return True
    if req.max_age is not None and s.now - s.auth_time > req.max_age:
        return True
    return s.hint_sub is not None and s.hint_sub != s.session_sub


def remembered_consent_matters(req: AuthorizationRequest, fresh_consent: bool) -> bool:
    """Whether a remembered consent can change :func:`needs_consent`'s answer (not after
    the consent page was just answered, nor under ``prompt=consent``): the caller may skip
    looking it up when it cannot."""
    return not fresh_consent and "consent" not in req.prompt


def needs_consent(req: AuthorizationRequest, s: Situation) -> bool:
    """Core 3.1.2.4: no remembered consent for these scopes, or ``prompt=consent``."""
    if s.fresh_consent:
        return False
    return not s.consented or "consent" in req.prompt


def next_step(req: AuthorizationRequest, s: Situation) -> str:
    """``LOGIN``, ``CONSENT`` or ``ISSUE``; ``prompt=none`` errors raised bound to ``req``."""
    if needs_login(req, s):
        if "none" in req.prompt:
            raise req.error(LoginRequired("the end-user is not signed in"))
        return LOGIN
    if needs_consent(req, s):
        if "none" in req.prompt:
            raise req.error(ConsentRequired("the end-user has not consented"))
        return CONSENT
    return ISSUE
