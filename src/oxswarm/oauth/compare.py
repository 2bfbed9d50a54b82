"""Constant-time comparison of secrets, MACs and hashes, on bytes.

:func:`hmac.compare_digest` on two ``str`` raises ``TypeError`` when either holds a
non-ASCII character, so a cookie or form token with an ``é`` in it would crash the
request. :func:`equal` encodes both sides as UTF-8 first (lone surrogates included) and
compares the bytes in constant time: a non-ASCII value is simply not equal.
"""

from __future__ import annotations

import hmac


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def equal(presented: str | bytes, expected: str | bytes) -> bool:
    """``presented == expected`` in time independent of where they differ."""
    return hmac.compare_digest(_bytes(presented), _bytes(expected))
