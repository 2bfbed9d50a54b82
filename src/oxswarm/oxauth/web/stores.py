"""Where the front channel keeps what must outlive a request and be shared by every node.

* :class:`ConsentStore`: scopes a user granted to a client (OpenID Connect Core 3.1.2.4),
  in the directory under ``ou=authorizations`` (``oxAuthorization`` entries): durable,
  replicated to every directory server, shared by every oxAuth process. A grant is an
  idempotent merge: only the missing scopes are added (LDAP ``MODIFY add``, never a
  read-then-replace that would lose a concurrent writer's scopes), and when another
  request created the entry or added a value first (``entryAlreadyExists``,
  ``attributeOrValueExists``) it reads again and merges, so concurrent consents of one
  person for one client (two tabs, eight browsers) all succeed with the union.
* :class:`Counters`: failed sign-in counters for the lockout, in the shared cache with a
  TTL (a fixed window that starts at the first failure).

Both are ``async``; the directory client is synchronous, so its adapter runs the calls in
a worker thread (:func:`anyio.to_thread.run_sync`) to keep the loop free; the counters use
the asynchronous cache client (:class:`oxswarm.cache.aio.AsyncCache`).
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Final, Protocol

from anyio import to_thread

from oxswarm.directory.connection import ADD, Directory
from oxswarm.directory.tree import Tree, rdn_value
from oxswarm.errors import Conflict, DirectoryError, NotFound

AUTHORIZATION_CLASSES: Final = ("top", "oxAuthorization")
GRANT_ATTEMPTS: Final = 4  # each lost race makes progress: the next read sees the winner


class ConsentStore(Protocol):
    async def granted(self, sub: str, client_id: str) -> frozenset[str]:
        """Scopes ``sub`` consented to for ``client_id`` (empty when none)."""
        ...

    async def grant(self, sub: str, client_id: str, scopes: frozenset[str]) -> None:
        """Remember that ``sub`` granted ``scopes`` (added to what was granted before)."""
        ...

    async def revoke(self, sub: str, client_id: str) -> None: ...


class Counters(Protocol):
    async def incr(self, kind: str, ident: str, ttl: int) -> int: ...

    async def get(self, kind: str, ident: str) -> int: ...

    async def reset(self, kind: str, ident: str) -> None: ...


def authorization_inum(sub: str, client_id: str) -> str:
    """A stable entry name for the (user, client) pair (no raw values in the DN)."""
    return hashlib.sha256(f"{sub}\x1f{client_id}".encode()).hexdigest()[:40]


class DirectoryConsentStore:
    """Consent as ``inum=<hash>,ou=authorizations,<suffix>`` entries."""

    def __init__(self, directory: Directory, tree: Tree | None = None) -> None:
        self.directory = directory
        self.tree = tree or Tree()

    def _dn(self, sub: str, client_id: str) -> str:
        inum = authorization_inum(sub, client_id)
        return f"inum={rdn_value(inum)},{self.tree.ou('authorizations')}"

    def _read(self, sub: str, client_id: str) -> frozenset[str] | None:
        """The granted scopes, or None when there is no entry."""
        try:
            entry = self.directory.read(self._dn(sub, client_id), ["oxScope", "oxUserInum"])
        except NotFound:
            return None
        if entry.get("oxUserInum") != sub:
            raise DirectoryError(f"consent entry {self._dn(sub, client_id)} is not {sub}'s")
        return frozenset(entry.all("oxScope"))

    def _granted(self, sub: str, client_id: str) -> frozenset[str]:
        try:
            return self._read(sub, client_id) or frozenset()
        except DirectoryError:
            return frozenset()

    def _grant(self, sub: str, client_id: str, scopes: frozenset[str]) -> None:
        dn = self._dn(sub, client_id)
        for attempt in range(GRANT_ATTEMPTS):
            current = self._read(sub, client_id)
            missing = sorted(scopes - (current or frozenset()))
            if not missing:
                return
            try:
                if current is None:
                    self.directory.add(
                        dn,
                        {
                            "objectClass": list(AUTHORIZATION_CLASSES),
                            "inum": [authorization_inum(sub, client_id)],
                            "oxUserInum": [sub],
                            "oxClientId": [client_id],
                            "oxScope": missing,
                        },
                    )
                else:
                    self.directory.modify(dn, {"oxScope": [(ADD, missing)]})
                return
            except (Conflict, NotFound):  # another request wrote (or revoked) first
                if attempt == GRANT_ATTEMPTS - 1:
                    raise

    def _revoke(self, sub: str, client_id: str) -> None:
        with contextlib.suppress(NotFound):
            self.directory.delete(self._dn(sub, client_id))

    async def granted(self, sub: str, client_id: str) -> frozenset[str]:
        return await to_thread.run_sync(self._granted, sub, client_id)

    async def grant(self, sub: str, client_id: str, scopes: frozenset[str]) -> None:
        await to_thread.run_sync(self._grant, sub, client_id, scopes)

    async def revoke(self, sub: str, client_id: str) -> None:
        await to_thread.run_sync(self._revoke, sub, client_id)


class AsyncCounterCache(Protocol):
    """The part of :class:`oxswarm.cache.aio.AsyncCache` the counters use."""

    async def get(self, kind: str, ident: str) -> bytes | None: ...

    async def incr_with_ttl(self, kind: str, ident: str, ttl: int) -> int: ...

    async def delete(self, kind: str, ident: str) -> bool: ...


class CacheCounters:
    """Counters in the shared cache (``incr_with_ttl``: the window starts at the first)."""

    def __init__(self, cache: AsyncCounterCache) -> None:
        self.cache = cache

    async def incr(self, kind: str, ident: str, ttl: int) -> int:
        return await self.cache.incr_with_ttl(kind, ident, ttl)

    async def get(self, kind: str, ident: str) -> int:
        raw = await self.cache.get(kind, ident)
        try:
            return int(raw) if raw is not None else 0
        except ValueError:
            return 0

    async def reset(self, kind: str, ident: str) -> None:
        await self.cache.delete(kind, ident)
