"""OpenID Connect RP-Initiated Logout 1.0, section 2 (the logout request) and 3 (redirection
to the RP after logout).

* ``id_token_hint``: RECOMMENDED; an ID token this provider issued (expired is fine), not
  any other JWT it signed (an ``at+jwt`` access token, a Logout Token: the caller checks
  with :func:`oxswarm.oauth.oidc.core.id_token.hint_problem`), naming one registered
  client. When it does not verify, the request is refused with a page (never redirected)
  and the session stays.
* ``client_id``: when given with an ``id_token_hint``, it must be one of the token's
  audiences (section 2).
* ``post_logout_redirect_uri``: used only when it exactly matches a value the client
  registered, and only when the client is known (from ``client_id`` or the hint's
  ``aud``); otherwise the request is refused with a page, never redirected (section 3).
* ``state``: returned to the RP with the redirection.

Pure code: the caller verifies the hint and looks up the client, then calls
:func:`validate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from oxswarm.errors import OxSwarmError
from oxswarm.oauth.models import ClientMetadata


class LogoutRequestError(OxSwarmError):
    """A refused logout request: shown on a page (400), never sent to the RP."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    """A validated logout request; ``hint`` holds the verified ``id_token_hint`` claims."""

    client_id: str | None
    post_logout_redirect_uri: str | None
    state: str | None
    hint: Mapping[str, Any] | None

    @property
    def hint_sid(self) -> str | None:
        return str(self.hint["sid"]) if self.hint and self.hint.get("sid") else None

    @property
    def hint_sub(self) -> str | None:
        return str(self.hint["sub"]) if self.hint and self.hint.get("sub") else None

    def redirect_location(self) -> str | None:
        """Section 3: ``post_logout_redirect_uri`` with ``state`` added to its query."""
        if not self.post_logout_redirect_uri:
            return None
        parts = urlsplit(self.post_logout_redirect_uri)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if self.state is not None:
            query.append(("state", self.state))
        return urlunsplit(parts._replace(query=urlencode(query)))


def hint_audiences(hint: Mapping[str, Any]) -> list[str]:
    aud = hint.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [str(a) for a in aud]
    return []


def client_id_of(params: Mapping[str, str], hint: Mapping[str, Any] | None) -> str | None:
    """The client the request is from: ``client_id``, else the hint's (single) audience.

    Raises ``invalid_request`` when ``client_id`` is not an audience of the hint.
    """
    client_id = params.get("client_id") or None
    if hint is None:
        return client_id
    audiences = hint_audiences(hint)
    if client_id is not None:
        if client_id not in audiences:
            raise LogoutRequestError(
                "invalid_request", "client_id is not an audience of the id_token_hint"
            )
        return client_id
    azp = hint.get("azp")
    if isinstance(azp, str) and azp:
        return azp
    if len(audiences) != 1:
        raise LogoutRequestError("invalid_request", "the id_token_hint names no single client")
    return audiences[0]


def validate(
    params: Mapping[str, str],
    *,
    hint: Mapping[str, Any] | None,
    hint_given: bool,
    client: ClientMetadata | None,
) -> LogoutRequest:
    """Check the request once the hint is verified (``hint``) and the client looked up.

    ``hint_given`` tells that an ``id_token_hint`` was sent: if it did not verify
    (``hint`` is None) the request is refused (``invalid_request``).
    """
    if hint_given and hint is None:
        raise LogoutRequestError("invalid_request", "id_token_hint is not a valid ID token")
    client_id = client_id_of(params, hint)
    if client_id is not None and (client is None or client.client_id != client_id):
        raise LogoutRequestError("invalid_client", "the client is not registered")
    uri = params.get("post_logout_redirect_uri") or None
    if uri is not None:
        if client is None:
            raise LogoutRequestError(
                "invalid_request",
                "post_logout_redirect_uri needs id_token_hint or client_id",
            )
        if uri not in client.post_logout_redirect_uris:
            raise LogoutRequestError(
                "invalid_request",
                "post_logout_redirect_uri is not registered for this client",
            )
    return LogoutRequest(
        client_id=client_id,
        post_logout_redirect_uri=uri,
        state=params.get("state") or None,
        hint=hint,
    )
