"""Password hashes in the forms slapd verifies (RFC 3112 ``{SCHEME}`` prefix).

* ``{ARGON2}``: Argon2id (RFC 9106) in the PHC string format that OpenLDAP's
  ``argon2`` module (slappw-argon2(5), linked with libargon2) reads, e.g.
  ``{ARGON2}$argon2id$v=19$m=7168,t=5,p=1$<salt>$<hash>`` (base64 without padding).
* ``{SSHA512}``: salted SHA-512 as OpenLDAP's ``pw-sha2`` module writes it:
  ``base64(sha512(password + salt) + salt)``.

:func:`dummy_check` spends the cost of a check when there is no user to check.

Every password is hashed here: the root DN's (it goes into ``rootpw``) and people's
(:meth:`~oxswarm.directory.connection.Directory.set_password` writes the hash as the
``userPassword`` value). slapd 2.5's argon2 module verifies ``$argon2i$``, ``$argon2d$``
and ``$argon2id$`` strings but writes only Argon2i, hence not its Password Modify
operation; slapd's ``password-hash`` still hashes any clear text written by others
(``ppolicy_hash_cleartext``).
"""

from __future__ import annotations

import base64
import hmac
import os
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from oxswarm.errors import InvalidInput

ARGON2: Final = "{ARGON2}"
SSHA512: Final = "{SSHA512}"
SCHEMES: Final = (ARGON2, SSHA512)


@dataclass(frozen=True)
class Argon2Params:
    """Argon2 cost. By default the cheapest of the equivalent settings OWASP's Password
    Storage Cheat Sheet lists (7 MiB, 5 passes, 1 lane; the others are 19 MiB x 2,
    12 MiB x 3, 9 MiB x 4, 46 MiB x 1): 17 ms of CPU a hash against 22 ms for 19 MiB x 2
    on the 2-core test machine (docs/performance.md), paid by every sign-in."""

    memory_kib: int = 7168
    iterations: int = 5
    lanes: int = 1

    def module_args(self) -> str:
        """The arguments of ``moduleload argon2`` that make slapd hash the same way."""
        return f"m={self.memory_kib} t={self.iterations} p={self.lanes}"


DEFAULT_ARGON2: Final = Argon2Params()


def _b64_nopad(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def hash_password(
    password: str,
    scheme: str = ARGON2,
    *,
    salt: bytes | None = None,
    params: Argon2Params = DEFAULT_ARGON2,
) -> str:
    """Hash ``password`` as ``{ARGON2}...`` or ``{SSHA512}...`` (random 16-byte salt)."""
    if not password:
        raise InvalidInput("password: must not be empty", field="password")
    salt = os.urandom(16) if salt is None else salt
    secret = password.encode("utf-8")
    if scheme == ARGON2:
        kdf = Argon2id(
            salt=salt,
            length=32,
            iterations=params.iterations,
            lanes=params.lanes,
            memory_cost=params.memory_kib,
        )
        digest = kdf.derive(secret)
        cost = f"m={params.memory_kib},t={params.iterations},p={params.lanes}"
        return f"{ARGON2}$argon2id$v=19${cost}${_b64_nopad(salt)}${_b64_nopad(digest)}"
    if scheme == SSHA512:
        sha = hashes.Hash(hashes.SHA512())
        sha.update(secret + salt)
        return SSHA512 + base64.b64encode(sha.finalize() + salt).decode("ascii")
    raise InvalidInput(f"password scheme: {scheme!r} is not one of {SCHEMES}", field="scheme")


def is_hashed(value: str | bytes) -> bool:
    """True when a stored ``userPassword`` value carries a hash scheme we accept."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return text.startswith(SCHEMES)


_DUMMY_SALT: Final = b"oxswarm-no-user!"
_DUMMY_PASSWORD: Final = "no user has this password"
_dummy_hashes: dict[tuple[str, Argon2Params], str] = {}


def dummy_check(password: str, scheme: str = ARGON2, params: Argon2Params = DEFAULT_ARGON2) -> bool:
    """Check ``password`` against a dummy hash of ``scheme`` (and ``params``), costing what
    the check of a real user's password costs, so that a name that is no user cannot be
    told from a user by the time it takes (OWASP Authentication Cheat Sheet). Always
    False."""
    key = (scheme, params)
    stored = _dummy_hashes.get(key)
    if stored is None:
        stored = _dummy_hashes[key] = hash_password(
            _DUMMY_PASSWORD, scheme, salt=_DUMMY_SALT, params=params
        )
    tried = hash_password(password or "-", scheme, salt=_DUMMY_SALT, params=params)
    hmac.compare_digest(tried.encode(), stored.encode())
    return False
