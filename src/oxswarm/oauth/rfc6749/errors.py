"""OAuth 2.0 error responses, each class carrying its wire code and HTTP status.

RFC 6749 section 5.2 (token endpoint), 4.1.2.1 (authorization endpoint), RFC 6750
section 3.1 (bearer tokens), RFC 7591 section 3.2.2 (registration), OpenID Connect Core
1.0 section 3.1.2.6. :meth:`OAuthError.render` is the one place an error becomes a wire
response (status, headers, JSON body); the web layer only copies it out.
"""

from __future__ import annotations

from typing import Any, ClassVar

from oxswarm.errors import OxSwarmError

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(OxSwarmError):
    """An error the protocol returns to the client (never a server fault)."""

    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400

    def __init__(
        self,
        description: str | None = None,
        *,
        uri: str | None = None,
        headers: dict[str, str] | None = None,
        state: str | None = None,
    ) -> None:
        super().__init__(description or self.error)
        self.description = description
        self.uri = uri
        self.extra_headers = dict(headers or {})
        self.state = state

    def body(self) -> dict[str, Any]:
        """The JSON body (RFC 6749 5.2): ``error``, ``error_description``, ``error_uri``."""
        out: dict[str, Any] = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        if self.uri:
            out["error_uri"] = self.uri
        if self.state is not None:
            out["state"] = self.state
        return out

    def render(self) -> tuple[int, dict[str, str], dict[str, Any]]:
        """(status, headers, body) of the HTTP response."""
        return self.status_code, {**NO_STORE, **self.extra_headers}, self.body()


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 5.2: 401, with ``WWW-Authenticate`` when the client used HTTP Basic."""

    error = "invalid_client"
    status_code = 401

    def __init__(self, description: str | None = None, *, basic: bool = False) -> None:
        headers = {"WWW-Authenticate": 'Basic realm="oxauth"'} if basic else None
        super().__init__(description, headers=headers)


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status_code = 403


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class UnsupportedTokenType(OAuthError):
    """RFC 7009 section 2.2.1."""

    error = "unsupported_token_type"


class ServerError(OAuthError):
    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status_code = 503


class InvalidToken(OAuthError):
    """RFC 6750 3.1: 401 with a ``WWW-Authenticate: Bearer`` challenge naming the error."""

    error = "invalid_token"
    status_code = 401

    def __init__(self, description: str | None = None) -> None:
        challenge = f'Bearer error="{self.error}"'
        if description:  # RFC 6750 3: %x20-21 / %x23-5B / %x5D-7E only, kept short
            shown = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in description)
            challenge += f', error_description="{shown[:200]}"'
        super().__init__(description, headers={"WWW-Authenticate": challenge})


class MissingToken(OAuthError):
    """RFC 6750 3.1: no credentials at all -> 401 with a bare challenge, no error code."""

    error = "invalid_request"
    status_code = 401

    def __init__(self) -> None:
        super().__init__(
            "no bearer token", headers={"WWW-Authenticate": 'Bearer realm="oxauth"'}
        )


class InsufficientScope(OAuthError):
    error = "insufficient_scope"
    status_code = 403


class InvalidRedirectUri(OAuthError):
    """RFC 7591 3.2.2."""

    error = "invalid_redirect_uri"


class InvalidClientMetadata(OAuthError):
    """RFC 7591 3.2.2."""

    error = "invalid_client_metadata"


class InvalidSoftwareStatement(OAuthError):
    error = "invalid_software_statement"


class LoginRequired(OAuthError):
    """OpenID Connect Core 3.1.2.6 (returned to the client's redirect URI)."""

    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class InteractionRequired(OAuthError):
    error = "interaction_required"


class InvalidRequestObject(OAuthError):
    error = "invalid_request_object"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"


class RegistrationNotSupported(OAuthError):
    error = "registration_not_supported"


class UnmetAuthenticationRequirements(OAuthError):
    """OpenID Connect Core Unmet Authentication Requirements 1.0: an essential ``acr`` (or
    other authentication requirement) the provider cannot satisfy."""

    error = "unmet_authentication_requirements"
