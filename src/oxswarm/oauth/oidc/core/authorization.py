"""The authorization request: validation, OpenID Connect Core 1.0 sections 3.1.2.1-3.1.2.2,
3.2.2.1 (implicit), 3.3.2.1 (hybrid), with RFC 6749 sections 3.1 and 4.1.2.1.

Order matters (RFC 6749 section 4.1.2.1): while the client and its redirect URI are not
established, an error is shown to the user (:class:`AuthorizationPageError`) and never
sent anywhere; once both are, errors go back to the client's redirect URI
(:class:`AuthorizationRedirectError`), encoded in the response mode.

* ``redirect_uri``: exact string match with a registered value (RFC 9700 section 4.1.3);
  required for OpenID requests (Core 3.1.2.1); for plain OAuth it may be omitted when the
  client registered exactly one (RFC 6749 section 3.1.2.3).
* ``response_type``: every combination of OpenID Connect Core and OAuth 2.0 Multiple
  Response Types (``code``, ``token``, ``id_token``, ``id_token token``, ``code id_token``,
  ``code token``, ``code id_token token``); the client must have registered it.
* ``nonce``: required when an ID token or an access token leaves the authorization
  endpoint in an OpenID request (Core 3.2.2.1, 3.3.2.11).
* PKCE (RFC 7636): ``S256`` only; required for public clients asking for a code.
* ``request``, ``request_uri``, ``registration``: not supported (Core 6, 7.2.1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from oxswarm.errors import OxSwarmError
from oxswarm.oauth import jsonbounds, rfc7636
from oxswarm.oauth import oauth2_response_modes as modes
from oxswarm.oauth.client_metadata import RESPONSE_TYPES
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.rfc6749.errors import (
    InvalidRequest,
    InvalidScope,
    OAuthError,
    RegistrationNotSupported,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from oxswarm.oauth.rfc6749.requests import split_scope

SUPPORTED_RESPONSE_TYPES: Final = frozenset(frozenset(value.split()) for value in RESPONSE_TYPES)
PROMPTS: Final = frozenset({"none", "login", "consent", "select_account"})
MAX_STATE_LENGTH: Final = 2048
MAX_DESCRIPTION: Final = 256  # an error_description that goes back in a redirect URL
MAX_CLAIMS: Final = 8 * 1024  # the claims parameter (OIDC Core 5.5), JSON
_INT = re.compile(r"^\d{1,10}$")

# Parameters a validated request keeps (and carries through the login and consent pages).
CARRIED: Final = (
    "client_id", "redirect_uri", "response_type", "response_mode", "scope", "state",
    "nonce", "prompt", "max_age", "login_hint", "acr_values", "code_challenge",
    "code_challenge_method", "claims", "ui_locales", "display", "id_token_hint",
    "idp_hint",  # oxPassport: go straight to that upstream provider
)


class AuthorizationPageError(OxSwarmError):
    """The client or redirect URI is not established: show ``error`` on a page (400)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


class AuthorizationRedirectError(OxSwarmError):
    """An error returned to the client's trusted redirect URI (RFC 6749 4.1.2.1)."""

    def __init__(
        self, cause: OAuthError, *, redirect_uri: str, response_mode: str, state: str | None
    ) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.redirect_uri = redirect_uri
        self.response_mode = response_mode
        self.state = state

    @property
    def error(self) -> str:
        return self.cause.error

    def params(self, issuer: str | None = None) -> dict[str, str | None]:
        """``error``, ``error_description``, ``state`` (and RFC 9207 ``iss``)."""
        return {
            "error": self.cause.error,
            "error_description": _clip(self.cause.description),
            "state": self.state,
            "iss": issuer,
        }

    def response(self, issuer: str | None = None) -> modes.AuthorizationResponse:
        return modes.build_response(self.redirect_uri, self.params(issuer), self.response_mode)


def _clip(description: str | None) -> str | None:
    """A description short enough for a redirect URL (it may quote a request value)."""
    if description is None or len(description) <= MAX_DESCRIPTION:
        return description
    return description[: MAX_DESCRIPTION - 3] + "..."


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A validated authorization request (only the parameters this provider uses)."""

    client_id: str
    redirect_uri: str
    response_types: frozenset[str]
    response_mode: str
    scope: tuple[str, ...]
    state: str | None = None
    nonce: str | None = None
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    login_hint: str | None = None
    acr_values: tuple[str, ...] = ()
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    claims: dict[str, Any] | None = None
    id_token_hint: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_openid(self) -> bool:
        return "openid" in self.scope

    def error(self, cause: OAuthError) -> AuthorizationRedirectError:
        """``cause`` bound to this request's redirect URI, response mode and state."""
        return AuthorizationRedirectError(
            cause,
            redirect_uri=self.redirect_uri,
            response_mode=self.response_mode,
            state=self.state,
        )


def carried_params(params: Mapping[str, str]) -> dict[str, str]:
    """The parameters worth carrying from page to page (empty values dropped)."""
    return {name: params[name] for name in CARRIED if params.get(name)}


def resolve_redirect_uri(params: Mapping[str, str], client: ClientMetadata | None) -> str:
    """Establish the client and its redirect URI, or raise :class:`AuthorizationPageError`.

    Error codes on the page: ``invalid_request`` (no ``client_id``), ``invalid_client``
    (unknown client), ``invalid_request_redirect_uri`` (missing or not registered, the
    code Gluu's oxAuth uses).
    """
    if not params.get("client_id"):
        raise AuthorizationPageError("invalid_request", "client_id is missing")
    if client is None or client.client_id != params["client_id"]:
        raise AuthorizationPageError("invalid_client", "the client is not registered")
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        scope = split_scope(params.get("scope"))
        if "openid" not in scope and len(client.redirect_uris) == 1:
            return client.redirect_uris[0]
        raise AuthorizationPageError("invalid_request_redirect_uri", "redirect_uri is missing")
    if redirect_uri not in client.redirect_uris:
        raise AuthorizationPageError(
            "invalid_request_redirect_uri",
            "redirect_uri is not registered for this client (exact match required)",
        )
    return redirect_uri


def _response_types(value: str | None) -> frozenset[str] | None:
    return frozenset(value.split()) if value else None


def _error_mode(params: Mapping[str, str], types: frozenset[str] | None) -> str:
    """The mode errors use: the requested one when valid, else the type's default."""
    types = types or frozenset()
    requested = params.get("response_mode")
    if requested and modes.mode_allowed(requested, types):
        return requested
    return modes.default_response_mode(types)


def _pkce_and_claims(
    params: Mapping[str, str],
    client: ClientMetadata,
    types: frozenset[str],
    fail: Callable[[OAuthError], AuthorizationRedirectError],
) -> tuple[str | None, str | None, dict[str, Any] | None]:
    """RFC 7636 4.3 (``S256`` only; required for public clients) and Core 5.5 ``claims``."""
    challenge, method = None, None
    if "code" in types:
        try:
            challenge, method = rfc7636.check_challenge(
                params.get("code_challenge"),
                params.get("code_challenge_method"),
                required=client.is_public,
            )
        except InvalidRequest as exc:
            raise fail(exc) from exc

    claims = None
    if params.get("claims"):
        try:
            claims = jsonbounds.loads_object(params["claims"], "claims", max_bytes=MAX_CLAIMS)
        except InvalidRequest as exc:
            raise fail(exc) from exc

    return challenge, method, claims


def validate(params: Mapping[str, str], client: ClientMetadata | None) -> AuthorizationRequest:
    """The whole request; raises :class:`AuthorizationPageError` or a redirect error."""
    redirect_uri = resolve_redirect_uri(params, client)
    assert client is not None
    types = _response_types(params.get("response_type"))
    state = params.get("state") or None
    state_too_long = state is not None and len(state) > MAX_STATE_LENGTH

    def fail(cause: OAuthError) -> AuthorizationRedirectError:
        return AuthorizationRedirectError(
            cause,
            redirect_uri=redirect_uri,
            response_mode=_error_mode(params, types),
            state=None if state_too_long else state,  # never reflect an oversized value
        )

    if state_too_long:
        raise fail(InvalidRequest(f"state is too long (at most {MAX_STATE_LENGTH} characters)"))

    if params.get("request"):
        raise fail(RequestNotSupported("request objects are not supported"))
    if params.get("request_uri"):
        raise fail(RequestUriNotSupported("request_uri is not supported"))
    if params.get("registration"):
        raise fail(RegistrationNotSupported("the registration parameter is not supported"))
    if types is None:
        raise fail(InvalidRequest("response_type is missing"))
    if types not in SUPPORTED_RESPONSE_TYPES:
        raise fail(UnsupportedResponseType(f"response_type {params['response_type']!r}"))
    registered = {frozenset(value.split()) for value in client.response_types}
    if types not in registered:
        raise fail(UnauthorizedClient("the client did not register this response_type"))

    mode = params.get("response_mode") or modes.default_response_mode(types)
    if not modes.mode_allowed(mode, types):
        raise fail(InvalidRequest(f"response_mode {mode!r} cannot be used here"))

    scope = split_scope(params.get("scope"))
    if not scope:
        raise fail(InvalidScope("scope is missing"))
    unknown = [s for s in scope if s not in client.scopes]
    if unknown:
        raise fail(InvalidScope(f"scope not allowed for this client: {' '.join(unknown)}"))
    openid = "openid" in scope
    if "id_token" in types and not openid:
        raise fail(InvalidScope("response_type id_token needs the openid scope"))

    nonce = params.get("nonce") or None
    if openid and types != {"code"} and not nonce:
        raise fail(InvalidRequest("nonce is required for the implicit and hybrid flows"))

    prompt = frozenset((params.get("prompt") or "").split())
    if prompt - PROMPTS:
        raise fail(InvalidRequest(f"unknown prompt value: {' '.join(sorted(prompt - PROMPTS))}"))
    if "none" in prompt and len(prompt) > 1:
        raise fail(InvalidRequest("prompt=none cannot be combined with other values"))

    max_age = None
    if params.get("max_age"):
        if not _INT.match(params["max_age"]):
            raise fail(InvalidRequest("max_age must be a non-negative integer"))
        max_age = int(params["max_age"])

    challenge, method, claims = _pkce_and_claims(params, client, types, fail)

    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        response_types=types,
        response_mode=mode,
        scope=scope,
        state=state,
        nonce=nonce,
        prompt=prompt,
        max_age=max_age,
        login_hint=params.get("login_hint") or None,
        acr_values=split_scope(params.get("acr_values")),
        code_challenge=challenge,
        code_challenge_method=method,
        claims=claims,
        id_token_hint=params.get("id_token_hint") or None,
        params=carried_params(params),
    )
