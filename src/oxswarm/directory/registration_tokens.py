"""Initial access tokens for dynamic client registration (RFC 7591 section 3), in LDAP.

``oxswarm clients registration-token`` issues one; every oxAuth process of the cluster
checks and uses it, so it lives in the directory (durable, replicated, shared): an
``oxToken`` entry ``oxTokenHash=<SHA-256 hex of the token>,ou=tokens,<suffix>`` with
``oxTokenType`` ``registration_token``, ``oxExpiration`` and the remaining uses in
``oxData``. The token itself is never stored.

A use is one LDAP modify that deletes the old count and adds the new one (RFC 4511 4.6:
the changes of one modify apply atomically): of two processes that read the same count,
the second one's delete finds no such value and fails, re-reads and tries again, so the
last use is taken only once on a directory server (every oxAuth process writes to the
first reachable one; during a fail-over to different servers two processes could each
take a last use, and replication keeps one value). The entry is deleted when its last use
is taken; expired entries are removed when a new token is issued.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from oxswarm.directory.connection import ADD, DELETE, Directory
from oxswarm.directory.tree import Tree, parse_generalized_time, rdn_value
from oxswarm.errors import DirectoryError, InvalidInput, NotFound

log = logging.getLogger(__name__)

TOKEN_TYPE: Final = "registration_token"
MAX_TTL: Final = 366 * 86400
MAX_USES: Final = 100_000
_ATTEMPTS: Final = 8


def _generalized(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


@dataclass(frozen=True, slots=True)
class TokenState:
    uses: int
    expires_at: datetime


def check_issue(ttl: int, uses: int) -> None:
    """:class:`InvalidInput` naming ``ttl`` or ``uses`` when out of range."""
    if not 1 <= ttl <= MAX_TTL:
        raise InvalidInput(f"ttl: must be between 1 and {MAX_TTL} seconds", field="ttl")
    if not 1 <= uses <= MAX_USES:
        raise InvalidInput(f"uses: must be between 1 and {MAX_USES}", field="uses")


class RegistrationTokenRepository:
    """Issue, check and use initial access tokens by their SHA-256 (hex)."""

    def __init__(self, directory: Directory, tree: Tree | None = None) -> None:
        self.directory = directory
        self.tree = tree or Tree()

    def _dn(self, token_sha256: str) -> str:
        return f"oxTokenHash={rdn_value(token_sha256)},{self.tree.ou('tokens')}"

    def issue(self, token_sha256: str, *, ttl: int, uses: int, now: datetime | None = None
              ) -> datetime:
        """Store a new token (its hash); returns when it expires."""
        check_issue(ttl, uses)
        now = now or datetime.now(UTC)
        self.purge_expired(now)
        expires = now + timedelta(seconds=ttl)
        self.directory.add(self._dn(token_sha256), {
            "objectClass": ["top", "oxToken"],
            "oxTokenHash": [token_sha256],
            "oxTokenType": [TOKEN_TYPE],
            "oxExpiration": [_generalized(expires)],
            "oxData": [str(uses)],
        })
        return expires

    def state(self, token_sha256: str, now: datetime | None = None) -> TokenState | None:
        """The token's remaining uses and expiry; None when unknown, expired or used up."""
        try:
            entry = self.directory.read(self._dn(token_sha256),
                                        ["oxTokenType", "oxExpiration", "oxData"])
        except (NotFound, InvalidInput):
            return None
        expires = parse_generalized_time(entry.get("oxExpiration"))
        raw = entry.get("oxData") or ""
        if entry.get("oxTokenType") != TOKEN_TYPE or expires is None or not raw.isdigit():
            return None
        if expires <= (now or datetime.now(UTC)) or int(raw) < 1:
            return None
        return TokenState(int(raw), expires)

    def use(self, token_sha256: str, now: datetime | None = None) -> bool:
        """Take one use; False when the token is unknown, expired or used up."""
        dn = self._dn(token_sha256)
        for _ in range(_ATTEMPTS):
            state = self.state(token_sha256, now)
            if state is None:
                return False
            left = state.uses - 1
            try:
                self.directory.modify(dn, {"oxData": [(DELETE, [str(state.uses)]),
                                                      (ADD, [str(left)])]})
            except (DirectoryError, NotFound):  # another use changed the count first
                continue
            if left == 0:
                with contextlib.suppress(NotFound):
                    self.directory.delete(dn)
            return True
        log.warning("initial access token: %d concurrent uses in a row, refused", _ATTEMPTS)
        return False

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete expired tokens; how many were deleted."""
        found = self.directory.search(
            self.tree.ou("tokens"),
            f"(&(objectClass=oxToken)(oxTokenType={TOKEN_TYPE})"
            f"(oxExpiration<={_generalized(now or datetime.now(UTC))}))",
            attributes=["oxTokenHash"],
        )
        removed = 0
        for entry in found:
            with contextlib.suppress(NotFound):
                self.directory.delete(entry.dn)
                removed += 1
        return removed
