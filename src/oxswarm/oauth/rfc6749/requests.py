"""The framework-free view of an HTTP request the protocol code reads.

RFC 6749 section 3.2: parameters sent without a value are treated as omitted, and request
parameters MUST NOT be included more than once (:func:`parse_form` rejects repeats).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from oxswarm.oauth.rfc6749.errors import InvalidRequest


@dataclass(frozen=True, slots=True)
class OAuthRequest:
    """``headers`` have lower-case names; ``url`` is the endpoint's public URL (an audience);
    ``client_address`` the user agent's address (for the lockout of the password grant)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    client_address: str | None = None

    def param(self, name: str) -> str | None:
        """A form parameter, else a query parameter (``None`` when absent or empty)."""
        return self.form.get(name) or self.query.get(name) or None


def parse_form(body: bytes | str) -> dict[str, str]:
    """``application/x-www-form-urlencoded`` -> dict; a repeated name is ``invalid_request``."""
    text = body.decode("utf-8", errors="strict") if isinstance(body, bytes) else body
    out: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=False):
        if name in out:
            raise InvalidRequest(f"parameter {name!r} is repeated")
        out[name] = value
    return out


def split_scope(value: str | None) -> tuple[str, ...]:
    """RFC 6749 3.3: space-delimited, case-sensitive; order kept, duplicates dropped."""
    if not value:
        return ()
    return tuple(dict.fromkeys(value.split()))
