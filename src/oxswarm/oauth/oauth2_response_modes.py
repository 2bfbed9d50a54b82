"""How an authorization response travels back to the client.

* OAuth 2.0 Multiple Response Type Encoding Practices (2014), section 2.1: the response
  modes ``query`` and ``fragment``, the default mode of each response type (section 5),
  and the rule that ``query`` MUST NOT carry tokens (section 3.0: "... the default
  Response Mode for this Response Type is the fragment encoding and the query encoding
  MUST NOT be used").
* OAuth 2.0 Form Post Response Mode (2015), section 2: ``form_post``, the parameters as
  hidden fields of an HTML form auto-submitted to the redirect URI with POST.

Pure code: :func:`build_response` returns a :class:`RedirectResponse` or a
:class:`FormPostResponse`; the web layer turns either into HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

QUERY: Final = "query"
FRAGMENT: Final = "fragment"
FORM_POST: Final = "form_post"
RESPONSE_MODES: Final = (QUERY, FRAGMENT, FORM_POST)

# Response types that return a token from the authorization endpoint (Multiple Response
# Types section 3-5): their answers must not travel in the query string.
TOKEN_BEARING: Final = frozenset({"token", "id_token"})


@dataclass(frozen=True, slots=True)
class RedirectResponse:
    """A 302/303 redirect to ``location`` (query or fragment encoded)."""

    location: str


@dataclass(frozen=True, slots=True)
class FormPostResponse:
    """Form Post Response Mode section 2: POST ``params`` to ``action`` from the browser."""

    action: str
    params: tuple[tuple[str, str], ...]


AuthorizationResponse = RedirectResponse | FormPostResponse


def default_response_mode(response_types: Iterable[str]) -> str:
    """Multiple Response Types section 5: ``query`` for ``code`` alone, else ``fragment``.

    (``none`` also defaults to ``query``, section 4.)
    """
    types = frozenset(response_types)
    return FRAGMENT if types & TOKEN_BEARING else QUERY


def mode_allowed(mode: str, response_types: Iterable[str]) -> bool:
    """True when ``mode`` is known and may carry this response type's answer."""
    if mode not in RESPONSE_MODES:
        return False
    return not (mode == QUERY and frozenset(response_types) & TOKEN_BEARING)


def build_response(
    redirect_uri: str, params: Mapping[str, str | None], mode: str
) -> AuthorizationResponse:
    """Encode ``params`` (``None`` values dropped) for ``redirect_uri`` in ``mode``.

    ``query`` keeps the redirect URI's own query component (RFC 6749 section 3.1.2: it
    MUST be retained when adding parameters); ``fragment`` replaces any fragment (a
    registered redirect URI has none: RFC 6749 section 3.1.2).
    """
    items = tuple((k, v) for k, v in params.items() if v is not None)
    if mode == FORM_POST:
        return FormPostResponse(action=redirect_uri, params=items)
    parts = urlsplit(redirect_uri)
    if mode == QUERY:
        query = parse_qsl(parts.query, keep_blank_values=True)
        new_query = urlencode([*query, *items])
        return RedirectResponse(urlunsplit(parts._replace(query=new_query, fragment="")))
    if mode == FRAGMENT:
        return RedirectResponse(urlunsplit(parts._replace(fragment=urlencode(items))))
    raise ValueError(f"unknown response mode {mode!r}")
