"""Signing and verifying the provider's JWTs with :mod:`joserfc` (RFC 7515, 7519).

:func:`sign` puts the key's ``kid`` in the header; :func:`half_hash` is the
``at_hash`` / ``c_hash`` / ``s_hash`` transform of OpenID Connect Core 1.0 section 3.1.3.6
(left-most half of the hash of the ASCII value, with the hash of the JWS ``alg``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from joserfc import jwt
from joserfc.jwk import Key

from oxswarm.oauth.interfaces import KeySet

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
