"""The records and interfaces oxAuth's parts share (back channel and front channel).

The authorize endpoint, the login/consent pages and logout (:mod:`oxswarm.oxauth.web`)
work through these, never through the back channel's modules directly:

* :class:`Session`: a signed-in browser session (OpenID Connect Session Management: ``sid``),
  kept in the shared cache through a :class:`SessionStore`.
* :class:`AuthorizationIssuer`: issues authorization codes and the tokens of the implicit
  and hybrid flows (OpenID Connect Core 1.0 sections 3.2 and 3.3), verifies an
  ``id_token_hint`` (RP-Initiated Logout 1.0 section 2).
* :class:`OxAuthDeps`: every shared resource, created in the app's lifespan; a view
  reads it from ``request.app.state.deps``.

The protocol records (:class:`AuthorizationCode`, :class:`GrantRecord`, ...) are
re-exported from :mod:`oxswarm.oauth.models`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from oxswarm.oauth.interfaces import (
    ClientStore,
    CodeStore,
    GrantStore,
    KeySet,
    ReplayGuard,
    TokenStore,
    UserStore,
)
from oxswarm.oauth.models import (
    AccessTokenRecord,
    AuthorizationCode,
    ClientMetadata,
    GrantRecord,
    Record,
    User,
)
from oxswarm.oxauth.config import OxAuthConfig

__all__ = [
    "AccessTokenRecord",
    "AuthorizationCode",
    "AuthorizationIssuer",
    "ClientMetadata",
    "GrantRecord",
    "OxAuthDeps",
    "Session",
    "SessionStore",
    "User",
]


@dataclass(frozen=True, slots=True)
class Session(Record):
    """A browser session: who signed in, when and how, and which clients it served.

    ``clients`` lists the client ids that received tokens in this session, so that logout
    can notify each (front-channel / back-channel logout).
    """

    sid: str
    sub: str
    username: str
    auth_time: int
    expires_at: int
    acr: str | None = None
    amr: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


class SessionStore(Protocol):
    """Sessions in the shared cache, keyed by ``sid`` (any node reads any session)."""

    async def save(self, session: Session) -> None: ...

    async def get(self, sid: str) -> Session | None: ...

    async def delete(self, sid: str) -> None: ...


class AuthorizationIssuer(Protocol):
    """What the authorize endpoint asks of the token side."""

    async def issue_code(
        self,
        *,
        client: ClientMetadata,
        redirect_uri: str,
        scope: Sequence[str],
        session: Session,
        nonce: str | None = None,
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
        claims: dict[str, Any] | None = None,
    ) -> str:
        """Store a code (RFC 6749 4.1.2) bound to all of this and return it."""
        ...

    async def issue_tokens_for_authorization(
        self,
        *,
        client: ClientMetadata,
        response_types: frozenset[str],
        scope: Sequence[str],
        session: Session,
        nonce: str | None = None,
        code: str | None = None,
        state: str | None = None,
        claims: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Tokens returned from the authorize endpoint (implicit / hybrid flows).

        ``"token"`` in ``response_types`` -> ``access_token``, ``token_type``, ``expires_in``;
        ``"id_token"`` -> ``id_token`` with ``at_hash`` (when an access token is returned),
        ``c_hash`` (when ``code`` is given) and ``s_hash`` (when ``state`` is given);
        ``claims`` is the request's ``claims`` parameter (its ``id_token`` member).
        """
        ...

    async def verify_id_token_hint(
        self, token: str, client_id: str | None = None
    ) -> dict[str, Any] | None:
        """The claims of an ID token this provider signed (expired is accepted) and, when
        ``client_id`` is given, issued to that client; None for anything else."""
        ...


@dataclass(slots=True)
class OxAuthDeps:
    """Shared resources of one oxAuth process (created in the lifespan, closed after)."""

    config: OxAuthConfig
    clients: ClientStore
    users: UserStore
    codes: CodeStore
    tokens: TokenStore
    grants: GrantStore
    replay: ReplayGuard
    keys: KeySet
    sessions: SessionStore
    issuer: AuthorizationIssuer
    extras: dict[str, Any] = field(default_factory=dict)
