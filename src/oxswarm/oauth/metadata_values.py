"""Per-value checks of client metadata (strings, lists, URIs, JWK Sets) and their errors.

The building blocks of :mod:`oxswarm.oauth.client_metadata` (the one validator, which
documents the rules): every check takes the member's name and raises
:class:`MetadataError` (``invalid_client_metadata``) or, for redirect URIs,
:class:`RedirectUriError` (``invalid_redirect_uri``, RFC 7591 3.2.2), naming it.
URI syntax is RFC 3986's; loopback redirect URIs RFC 8252 7.3; private-use schemes in
reverse-domain form RFC 8252 7.1; JWK Sets RFC 7517 5.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from oxswarm.oauth.rfc6749.errors import InvalidClientMetadata, InvalidRedirectUri

MAX_VALUES: Final = 32
MAX_LENGTH: Final = 2048
LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})
FORBIDDEN_SCHEMES: Final = frozenset({"javascript", "data", "file", "vbscript", "blob"})
_PRIVATE_SCHEME = re.compile(r"^[a-z][a-z0-9+\-]*(\.[a-z0-9+\-]+)+$")  # reverse domain
_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=%]+$")  # RFC 3986 2
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 3.3
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MetadataError(InvalidClientMetadata):
    """``invalid_client_metadata`` naming ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class RedirectUriError(InvalidRedirectUri):
    """``invalid_redirect_uri`` naming ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field



def text(field: str, value: Any, error: type[MetadataError | RedirectUriError] = MetadataError
         ) -> str:
    """A string of at most :data:`MAX_LENGTH` characters without control characters."""
    if not isinstance(value, str):
        raise error(field, "must be a string")
    if len(value) > MAX_LENGTH:
        raise error(field, f"is longer than {MAX_LENGTH} characters")
    if _CONTROL.search(value):
        raise error(field, "must not contain control characters")
    return value


def text_list(field: str, value: Any) -> tuple[str, ...]:
    """A JSON array of at most :data:`MAX_VALUES` non-empty strings (duplicates dropped)."""
    if not isinstance(value, list):
        raise MetadataError(field, "must be a list of strings")
    if len(value) > MAX_VALUES:
        raise MetadataError(field, f"has more than {MAX_VALUES} values")
    out = tuple(dict.fromkeys(text(field, v) for v in value))
    if not all(out):
        raise MetadataError(field, "must not contain empty strings")
    return out


def choice(field: str, value: Any, allowed: Sequence[str]) -> str:
    if text(field, value) not in allowed:
        raise MetadataError(field, f"{value!r} is not supported (one of {', '.join(allowed)})")
    return str(value)


def flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise MetadataError(field, "must be true or false")
    return value


def _uri_parts(field: str, uri: str, error: type[MetadataError | RedirectUriError]) -> Any:
    if not uri or not _URI_CHARS.match(uri):
        raise error(field, f"{uri!r} is not a valid URI")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise error(field, f"{uri!r} is not a valid URI") from None
    scheme = parts.scheme.lower()
    if scheme in FORBIDDEN_SCHEMES:
        raise error(field, f"{uri!r}: the {scheme}: scheme is not allowed")
    if not scheme:
        raise error(field, f"{uri!r} must be an absolute URI")
    if "#" in uri:
        raise error(field, f"{uri!r} must not have a fragment")
    if "@" in parts.netloc:
        raise error(field, f"{uri!r} must not have user information")
    return parts


def redirect_uri(field: str, value: Any, native: bool) -> str:
    """OIDC Registration 2 and RFC 8252 7: see the module docstring."""
    uri = text(field, value, RedirectUriError)
    parts = _uri_parts(field, uri, RedirectUriError)
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return uri
    if scheme == "http" and parts.hostname in LOOPBACK:
        return uri
    if scheme == "http":
        raise RedirectUriError(field, f"{uri!r} must use https (http only on a loopback host)")
    if _PRIVATE_SCHEME.match(scheme):
        if native:
            return uri
        raise RedirectUriError(
            field, f"{uri!r}: a private-use scheme needs application_type native")
    raise RedirectUriError(field, f"{uri!r} must be an https URL (or, for a native client, a "
                                  "reverse-domain private-use scheme: com.example.app:/cb)")


def web_uri(field: str, value: Any, allow_http: bool = False) -> str:
    """An https URL with a host; http only on a loopback host when ``allow_http``."""
    uri = text(field, value)
    parts = _uri_parts(field, uri, MetadataError)
    scheme = parts.scheme.lower()
    if not parts.hostname or scheme not in ("https", "http"):
        raise MetadataError(field, f"{uri!r} must be an https URL")
    if scheme == "http" and not (allow_http and parts.hostname in LOOPBACK):
        raise MetadataError(field, f"{uri!r} must use https")
    return uri


def scope_tokens(field: str, value: Any) -> tuple[str, ...]:
    """A space-separated list of RFC 6749 3.3 scope tokens."""
    tokens = tuple(dict.fromkeys(text(field, value).split()))
    if len(tokens) > MAX_VALUES:
        raise MetadataError(field, f"has more than {MAX_VALUES} values")
    for token in tokens:
        if not _SCOPE_TOKEN.match(token):
            raise MetadataError(field, f"{token!r} is not a valid scope token")
    return tokens


def jwk_set(field: str, value: Any) -> dict[str, Any]:
    """A JWK Set (RFC 7517 5) of public keys: private or symmetric key members refused."""
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        raise MetadataError(field, "must be a JWK Set object with a keys array")
    keys = value["keys"]
    if len(keys) > MAX_VALUES:
        raise MetadataError(field, f"has more than {MAX_VALUES} keys")
    for key in keys:
        if not isinstance(key, dict) or not isinstance(key.get("kty"), str):
            raise MetadataError(field, "every key must be a JWK object with a kty")
        if {"d", "p", "q", "dp", "dq", "qi", "k", "oth"} & key.keys():
            raise MetadataError(field, "must hold public keys only (private key members found)")
        for name, member in key.items():
            if isinstance(member, str):
                text(f"{field}.{name}", member)
    return {"keys": keys}


def max_age(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**31:
        raise MetadataError(field, "must be a non-negative integer")
    return value
