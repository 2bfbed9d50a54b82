"""The trusted SPs as every IdP process sees them: read at most every :data:`REFRESH`
seconds (from the directory, the source of truth, or from the node's trust files kept
from it, :mod:`oxswarm.oxshibboleth.trustfiles`), and pysaml2 servers built over them.

A change made through any node (``oxswarm saml trust add``) serves on every node within
:data:`REFRESH` seconds plus the directory's replication delay; a new SP's first request
reloads at once (at most every :data:`MISS_REFRESH` seconds; ``on_miss`` first fetches it
from the directory into the files). Two pysaml2 servers share
one snapshot: one for the SPs whose metadata says ``AuthnRequestsSigned="true"`` (a request
without a valid signature is refused), one for the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from oxswarm.errors import OxSwarmError
from oxswarm.oxshibboleth.idp import IdpServer, KeyFiles, idp_config, metadata_xml
from oxswarm.oxshibboleth.trust import SpMetadata, Trust

log = logging.getLogger(__name__)
REFRESH: Final = 5.0
MISS_REFRESH: Final = 1.0  # an unknown issuer reloads at once, at most once a second


@dataclass(frozen=True)
class Snapshot:
    trusts: dict[str, tuple[Trust, SpMetadata]]  # by entityID (enabled, readable ones)
    plain: IdpServer  # AuthnRequests may be unsigned (a signature, if any, is not needed)
    signed: IdpServer  # AuthnRequests must be signed by the SP's metadata key
    fingerprint: str

    def server_for(self, sp: SpMetadata) -> IdpServer:
        return self.signed if sp.authn_requests_signed else self.plain


def _fingerprint(trusts: list[Trust]) -> str:
    digest = hashlib.sha256()
    for t in sorted(trusts, key=lambda t: t.inum):
        digest.update(repr((t.inum, t.entity_id, t.metadata, t.release, t.nameid_format,
                            t.sign_assertions, t.encrypt_assertions, t.enabled)).encode())
    return digest.hexdigest()


class Engine:
    """Builds and refreshes :class:`Snapshot`; ``load`` reads the trusts (blocking)."""

    def __init__(self, base_url: str, files: KeyFiles, load: Callable[[], list[Trust]],
                 on_miss: Callable[[str], bool] | None = None) -> None:
        self.base_url = base_url
        self.files = files
        self._load = load
        self._on_miss = on_miss
        self._miss_at = float("-inf")
        self._snapshot: Snapshot | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()
        self.metadata = metadata_xml(idp_config(base_url, files, [], want_signed=False))

    def _build(self, trusts: list[Trust], fingerprint: str) -> Snapshot:
        usable: dict[str, tuple[Trust, SpMetadata]] = {}
        for trust in trusts:
            if not trust.enabled:
                continue
            try:
                usable[trust.entity_id] = (trust, trust.sp())
            except Exception as exc:  # noqa: BLE001  (one bad entry must not stop the others)
                log.warning("trust %s (%s) skipped: %s", trust.inum, trust.entity_id, exc)
        documents = [t.metadata for t, _ in usable.values()]
        plain = IdpServer(config=idp_config(self.base_url, self.files, documents,
                                            want_signed=False))
        signed = IdpServer(config=idp_config(self.base_url, self.files, documents,
                                             want_signed=True))
        return Snapshot(usable, plain, signed, fingerprint)

    async def lookup(self, entity_id: str) -> tuple[Snapshot, tuple[Trust, SpMetadata] | None]:
        """The snapshot and the trust of ``entity_id``; a miss reloads (a trust just added
        serves at once), at most every :data:`MISS_REFRESH` seconds."""
        snapshot = await self.current()
        found = snapshot.trusts.get(entity_id)
        if found is None:
            snapshot = await self.current(max_age=await self._missed(entity_id))
            found = snapshot.trusts.get(entity_id)
        return snapshot, found

    async def _missed(self, entity_id: str) -> float:
        """The snapshot age a miss allows: 0 once ``on_miss`` found the SP (at most every
        :data:`MISS_REFRESH` seconds, whoever asks)."""
        if self._on_miss is None or time.monotonic() - self._miss_at < MISS_REFRESH:
            return MISS_REFRESH
        self._miss_at = time.monotonic()
        try:
            found = await asyncio.to_thread(self._on_miss, entity_id)
        except OxSwarmError as exc:
            log.warning("SP %s not looked up in the directory: %s", entity_id, exc)
            return MISS_REFRESH
        return 0.0 if found else MISS_REFRESH

    async def current(self, *, max_age: float = REFRESH) -> Snapshot:
        """The snapshot, reloaded when older than ``max_age`` seconds."""
        if self._snapshot is not None and time.monotonic() - self._at < max_age:
            return self._snapshot
        async with self._lock:
            if self._snapshot is not None and time.monotonic() - self._at < max_age:
                return self._snapshot
            trusts = await asyncio.to_thread(self._load)
            fingerprint = _fingerprint(trusts)
            if self._snapshot is None or self._snapshot.fingerprint != fingerprint:
                self._snapshot = await asyncio.to_thread(self._build, trusts, fingerprint)
                log.info("trust relationships loaded: %d", len(self._snapshot.trusts))
            self._at = time.monotonic()
            return self._snapshot
