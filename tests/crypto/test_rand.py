"""Random tokens, passwords and Gluu-style identifiers."""

from __future__ import annotations

import re
import uuid

import pytest

from oxswarm.crypto import rand


def test_alnum_is_csync2_key_format() -> None:
    key = rand.alnum(64)
    assert re.fullmatch(r"[A-Za-z0-9]{64}", key)
    assert key != rand.alnum(64)


def test_password_has_every_class() -> None:
    for _ in range(50):
        pw = rand.password(12)
        assert len(pw) == 12
        assert re.search(r"[A-Z]", pw) and re.search(r"[a-z]", pw) and re.search(r"\d", pw)
        assert any(ch in rand.PASSWORD_SPECIALS for ch in pw)


def test_password_too_short() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        rand.password(4)


def test_token_is_urlsafe_and_long() -> None:
    token = rand.token(32)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert token != rand.token(32)


def test_gluu_identifiers() -> None:
    prefix, _, rest = rand.client_id("1001").partition(".")
    assert prefix == "1001"
    assert uuid.UUID(rest).version == 4
    assert uuid.UUID(rand.inum()).version == 4
