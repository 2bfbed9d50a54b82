import base64
import secrets
import stat
from pathlib import Path

import pytest

from oxswarm.config.secrets import (
    TOKEN_PREFIX,
    SecretBox,
    create_key_file,
    parse_key,
    read_key_file,
)
from oxswarm.errors import MasterKeyError, SecretError


def test_round_trip_and_fresh_nonce(box: SecretBox) -> None:
    token = box.encrypt("admin_pw", "s3cret pässword")
    assert token.startswith(TOKEN_PREFIX)
    assert "s3cret" not in token
    assert box.decrypt("admin_pw", token) == "s3cret pässword"
    assert box.encrypt("admin_pw", "same") != box.encrypt("admin_pw", "same")
    assert box.decrypt("x", box.encrypt("x", "")) == ""


def test_tampered_ciphertext_is_rejected(box: SecretBox) -> None:
    token = box.encrypt("ldap_admin_pw", "value")
    raw = bytearray(base64.urlsafe_b64decode(token[len(TOKEN_PREFIX) :] + "=="))
    raw[-1] ^= 0x01
    tampered = TOKEN_PREFIX + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(SecretError, match="cannot decrypt secret 'ldap_admin_pw': wrong master"):
        box.decrypt("ldap_admin_pw", tampered)


def test_wrong_master_key_is_rejected(box: SecretBox) -> None:
    token = box.encrypt("ca_key", "pem")
    other = SecretBox(secrets.token_bytes(32))
    with pytest.raises(SecretError, match="wrong master key or tampered data"):
        other.decrypt("ca_key", token)


def test_secret_cannot_be_swapped_for_another_key(box: SecretBox) -> None:
    token = box.encrypt("session_secret", "v")
    with pytest.raises(SecretError, match="'admin_pw'"):
        box.decrypt("admin_pw", token)


@pytest.mark.parametrize("token", ["plain text", "oxs1:", "oxs1:!!!", "oxs1:AAAA"])
def test_malformed_tokens_are_rejected(box: SecretBox, token: str) -> None:
    with pytest.raises(SecretError, match="cannot decrypt secret 'k'"):
        box.decrypt("k", token)


def test_repr_does_not_show_the_key() -> None:
    key = secrets.token_bytes(32)
    assert base64.b64encode(key).decode() not in repr(SecretBox(key))
    assert "**********" in repr(SecretBox(key))


def test_create_key_file_is_0600_base64_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    key = create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert base64.b64decode(path.read_text().strip()) == key
    assert read_key_file(path) == key
    with pytest.raises(MasterKeyError, match="already exists"):
        create_key_file(path)
    assert read_key_file(path) == key
    box = SecretBox.from_file(path)
    assert SecretBox(key).decrypt("a", box.encrypt("a", "b")) == "b"


def test_raw_32_byte_key_file(tmp_path: Path) -> None:
    path = tmp_path / "raw.key"
    key = secrets.token_bytes(32)
    path.write_bytes(key)
    assert read_key_file(path) == key


def test_missing_key_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.key"
    with pytest.raises(MasterKeyError, match=str(path)):
        read_key_file(path)


@pytest.mark.parametrize(
    "content", [b"", b"not base64 !!", base64.b64encode(b"short"), b"A" * 31 + b"\n" * 2]
)
def test_malformed_key_file_names_the_path(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(MasterKeyError, match=f"{path}.*malformed"):
        read_key_file(path)


def test_parse_key_accepts_whitespace_around_base64() -> None:
    key = secrets.token_bytes(32)
    assert parse_key(b"  " + base64.b64encode(key) + b"\n\n") == key
