"""Root DN password hashes in the forms slapd's argon2 and pw-sha2 modules verify."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from oxswarm.directory.passwords import ARGON2, SSHA512, hash_password, is_hashed
from oxswarm.errors import InvalidInput


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def test_argon2id_phc_string_verifies() -> None:
    value = hash_password("pässword", ARGON2)
    assert value.startswith("{ARGON2}$argon2id$v=19$m=7168,t=5,p=1$")
    salt, digest = value.split("$")[-2:]
    kdf = Argon2id(salt=_unb64(salt), length=32, iterations=5, lanes=1, memory_cost=7168)
    kdf.verify("pässword".encode(), _unb64(digest))


def test_ssha512_layout() -> None:
    value = hash_password("secret", SSHA512, salt=b"0123456789abcdef")
    raw = base64.b64decode(value.removeprefix("{SSHA512}"))
    assert raw[64:] == b"0123456789abcdef"
    assert raw[:64] == hashlib.sha512(b"secret0123456789abcdef").digest()


def test_salt_is_random_and_input_checked() -> None:
    assert hash_password("x", SSHA512) != hash_password("x", SSHA512)
    assert is_hashed(hash_password("x", SSHA512))
    assert not is_hashed("x")
    with pytest.raises(InvalidInput):
        hash_password("", ARGON2)
    with pytest.raises(InvalidInput):
        hash_password("x", "{CLEAR}")
