"""RFC 7636, Proof Key for Code Exchange (PKCE).

Section 4.2 (``code_challenge_method``: ``S256``; ``plain`` is accepted only when allowed),
4.3 (the challenge is bound to the code), 4.6 (the server verifies
``BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge``), 4.1 (a verifier is 43-128
characters of ``[A-Za-z0-9-._~]``). Public clients must use it (RFC 9700 section 2.1.1).
"""

from __future__ import annotations

import base64
import hashlib
import re

from oxswarm.oauth.compare import equal
from oxswarm.oauth.rfc6749.errors import InvalidGrant, InvalidRequest

METHODS = ("S256",)
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def s256(verifier: str) -> str:
    """The S256 transform of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_challenge(
    challenge: str | None, method: str | None, *, required: bool
) -> tuple[str | None, str | None]:
    """Validate the authorization request's parameters; returns (challenge, method)."""
    if not challenge:
        if required:
            raise InvalidRequest("code_challenge is required (PKCE, RFC 7636)")
        if method:
            raise InvalidRequest("code_challenge_method without code_challenge")
        return None, None
    method = method or "plain"
    if method not in METHODS:
        raise InvalidRequest(f"code_challenge_method {method!r} is not supported; use S256")
    if not _CHALLENGE.match(challenge):
        raise InvalidRequest("code_challenge is malformed")
    return challenge, method


def verify(challenge: str | None, method: str | None, verifier: str | None) -> None:
    """Token endpoint check (section 4.6); :class:`InvalidGrant` when it fails."""
    if challenge is None:
        if verifier:
            raise InvalidGrant("code_verifier given but the code has no code_challenge")
        return
    if not verifier:
        raise InvalidGrant("code_verifier is required")
    if not _VERIFIER.match(verifier):
        raise InvalidGrant("code_verifier is malformed")
    if method != "S256" or not equal(s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")
