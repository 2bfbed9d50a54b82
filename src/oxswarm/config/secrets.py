"""Encryption of secrets at rest: AES-256-GCM under one master key per cluster.

Where Gluu 4 kept secrets in Vault (and its containers "encoded" them with 3DES-ECB),
OxSwarm stores each secret in the config store as an authenticated ciphertext:

* Cipher: AES-GCM (NIST SP 800-38D) with a 256-bit key, through ``cryptography``'s
  :class:`~cryptography.hazmat.primitives.ciphers.aead.AESGCM`; a fresh random 96-bit
  nonce per encryption (SP 800-38D section 8.2.2), 128-bit tag.
* Associated data: ``b"oxswarm/secret/v1/" + name``. The name of the secret is bound to its
  ciphertext, so the value of one key cannot be swapped in for another's.
* Token (text, safe for JSON and the store)::

      oxs1:<base64url(nonce || ciphertext || tag), no padding>

  ``oxs1`` is the format version; a later format gets a new prefix.

Master key file format: either exactly 32 raw bytes, or the standard base64 (RFC 4648
section 4) encoding of 32 bytes as text, surrounding whitespace ignored. The file
:func:`create_key_file` writes is the base64 form plus a newline, mode 0600.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets as _random
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from oxswarm.errors import MasterKeyError, SecretError

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
TOKEN_PREFIX = "oxs1:"
_AAD_PREFIX = b"oxswarm/secret/v1/"


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_key(data: bytes, source: str = "master key") -> bytes:
    """Decode a master key: 32 raw bytes, or base64 text of 32 bytes; errors name ``source``."""
    if len(data) == KEY_BYTES:
        return bytes(data)
    text = data.strip()
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MasterKeyError(
            f"master key file {source} is malformed: expected 32 raw bytes or base64 of 32 bytes"
        ) from exc
    if len(key) != KEY_BYTES:
        raise MasterKeyError(
            f"master key file {source} is malformed: it decodes to {len(key)} bytes, not 32"
        )
    return key


def read_key_file(path: Path) -> bytes:
    """Read and decode the master key file at ``path``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise MasterKeyError(f"master key file {path} does not exist") from exc
    except OSError as exc:
        raise MasterKeyError(f"master key file {path} cannot be read: {exc.strerror}") from exc
    return parse_key(data, str(path))


def create_key_file(path: Path) -> bytes:
    """Write a new random master key to ``path`` (base64, mode 0600); never overwrites."""
    key = _random.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise MasterKeyError(f"master key file {path} already exists; not overwriting") from exc
    except OSError as exc:
        raise MasterKeyError(f"master key file {path} cannot be created: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(base64.b64encode(key) + b"\n")
    os.chmod(path, 0o600)  # in case the umask was stricter than needed, or looser
    return key


class SecretBox:
    """Encrypts and decrypts named secrets with one master key (see the module docstring)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise MasterKeyError(f"master key must be {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(key=**********)"

    @classmethod
    def from_file(cls, path: Path) -> SecretBox:
        return cls(read_key_file(path))

    @staticmethod
    def is_token(value: str) -> bool:
        """True when ``value`` looks like a token this module wrote (any version we know)."""
        return value.startswith(TOKEN_PREFIX)

    def encrypt(self, name: str, plaintext: str) -> str:
        """Encrypt ``plaintext`` as the secret called ``name``; returns a text token."""
        nonce = _random.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), _AAD_PREFIX + name.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()
        return TOKEN_PREFIX + body

    def decrypt(self, name: str, token: str) -> str:
        """Decrypt the token of secret ``name``; :class:`SecretError` if it does not open."""
        if not token.startswith(TOKEN_PREFIX):
            raise SecretError(f"cannot decrypt secret {name!r}: not an encrypted secret token")
        try:
            raw = _b64url_decode(token[len(TOKEN_PREFIX) :])
        except (binascii.Error, ValueError) as exc:
            raise SecretError(f"cannot decrypt secret {name!r}: malformed token") from exc
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise SecretError(f"cannot decrypt secret {name!r}: token too short")
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        try:
            plain = self._aead.decrypt(nonce, sealed, _AAD_PREFIX + name.encode())
        except InvalidTag as exc:
            raise SecretError(
                f"cannot decrypt secret {name!r}: wrong master key or tampered data"
            ) from exc
        try:
            return plain.decode()
        except UnicodeDecodeError as exc:  # authenticated, so only if we wrote non-UTF-8
            raise SecretError(f"cannot decrypt secret {name!r}: not UTF-8 text") from exc
