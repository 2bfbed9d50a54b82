"""Random identifiers, tokens and passwords from the OS CSPRNG (the ``secrets`` module)."""

from __future__ import annotations

import secrets
import string
import uuid

ALNUM = string.ascii_letters + string.digits
# Specials safe in shell, LDIF, URLs and config files (no quotes, '\\', '$', ',', blanks).
PASSWORD_SPECIALS = "-_.~!@#%^*+="


def token(nbytes: int = 32) -> str:
    """A URL-safe random token of ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


def alnum(length: int) -> str:
    """``length`` random characters from ``[A-Za-z0-9]`` (csync2's pre-shared key format)."""
    return "".join(secrets.choice(ALNUM) for _ in range(length))


def password(length: int = 24) -> str:
    """A random password with upper, lower, digit and special characters."""
    if length < 8:
        raise ValueError("a password needs at least 8 characters")
    alphabet = ALNUM + PASSWORD_SPECIALS
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(ch.isupper() for ch in candidate)
            and any(ch.islower() for ch in candidate)
            and any(ch.isdigit() for ch in candidate)
            and any(ch in PASSWORD_SPECIALS for ch in candidate)
        ):
            return candidate


def inum() -> str:
    """A Gluu 4 style ``inum`` (a random UUID)."""
    return str(uuid.uuid4())


def client_id(prefix: str) -> str:
    """A Gluu style client id: a numeric prefix naming the client's kind, then a UUID."""
    return f"{prefix}.{uuid.uuid4()}"
