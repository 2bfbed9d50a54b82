"""Signing and verifying the provider's JWTs with :mod:`joserfc` (RFC 7515, 7519).

:func:`sign` puts the key's ``kid`` in the header; :func:`parts` checks a compact JWS
that came from outside (at most ``MAX_JWT`` bytes, three base64url segments, a header and
a payload that are JSON objects within :mod:`~oxswarm.oauth.jsonbounds`' limits) before
anything decodes it: :mod:`joserfc` and :mod:`json` are never handed a huge or deeply
nested token. :func:`half_hash` is the
``at_hash`` / ``c_hash`` / ``s_hash`` transform of OpenID Connect Core 1.0 section 3.1.3.6
(left-most half of the hash of the ASCII value, with the hash of the JWS ``alg``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from joserfc import jwt
from joserfc.jwk import Key

from oxswarm.oauth import jsonbounds
from oxswarm.oauth.interfaces import KeySet
from oxswarm.oauth.rfc6749.errors import InvalidRequest, OAuthError

MAX_JWT: Final = 16 * 1024
_COMPACT = re.compile(r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")
_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def sign(claims: Mapping[str, Any], key: Key, alg: str, typ: str = "JWT") -> str:
    """A compact JWS of ``claims`` signed by ``key`` with ``alg`` (``kid`` in the header)."""
    header: dict[str, Any] = {"alg": alg, "typ": typ}
    if key.kid:
        header["kid"] = key.kid
    return jwt.encode(header, dict(claims), key, algorithms=[alg])


def sign_with(keys: KeySet, claims: Mapping[str, Any], alg: str, typ: str = "JWT") -> str:
    """Sign with the provider's current key for ``alg``."""
    return sign(claims, keys.signing_key(alg), alg, typ)


def half_hash(value: str, alg: str) -> str:
    """OIDC Core 3.1.3.6: base64url of the left half of hash(ASCII(value))."""
    bits = "512" if alg == "EdDSA" else alg[-3:]
    digest = _HASHES.get(bits, hashlib.sha256)(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def _segment(segment: str, what: str, error: Callable[[str], OAuthError]) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise error(f"{what} is not base64url") from exc
    return jsonbounds.loads_object(raw, what, error, max_bytes=MAX_JWT)


def parts(
    token: str, what: str, error: Callable[[str], OAuthError] = InvalidRequest
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of the compact JWS ``token`` (``what`` names it in errors),
    not verified: only its shape is checked. Raises ``error`` when it is malformed."""
    if len(token) > MAX_JWT:
        raise error(f"{what} is too large (at most {MAX_JWT} bytes)")
    if not _COMPACT.fullmatch(token):
        raise error(f"{what} is not a compact JWT (three base64url segments)")
    head, payload, _ = token.split(".")
    header = _segment(head, f"{what} header", error)
    if not isinstance(header.get("alg"), str):
        raise error(f"{what} header has no alg")
    return header, _segment(payload, f"{what} payload", error)
