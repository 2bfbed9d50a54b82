"""The provider's signing keys, loaded from the config store and kept current by a watch.

Which key signs (the rotation rule, see :mod:`oxswarm.oxauth.rotation`): among the
private keys for an algorithm, the one with the greatest ``nbf`` (not-before, a private
JWK member written by ``oxswarm keys rotate``; keys without it count as 0) that is not
in the future. A new key is therefore published at the jwks endpoint for the whole
propagation delay before it signs anything; every relying party that refreshes its JWKS
in that window can verify the first token it signs.

:class:`KeyWatcher` watches the secret's key in the store from a daemon thread and
swaps the ring's contents atomically, so a running process picks up a rotation without
restart; it also re-reads the key every ``refresh`` seconds in case a watch was missed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import Key, import_key

from oxswarm.config.watcher import StoreWatcher
from oxswarm.crypto.jwks import public_jwk

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Loaded:
    signing: dict[str, list[tuple[float, Key]]]  # alg -> [(nbf, key)], newest first
    by_kid: dict[str, Key]
    public: dict[str, Any]


def _load(jwks: Mapping[str, Any]) -> _Loaded:
    signing: dict[str, list[tuple[float, Key]]] = {}
    by_kid: dict[str, Key] = {}
    public = []
    for jwk in jwks.get("keys", []):
        data = {k: v for k, v in jwk.items() if k != "nbf"}
        key = import_key(data)
        if key.kid:
            by_kid[key.kid] = key
        public.append(public_jwk(jwk))
        if jwk.get("use", "sig") == "sig" and jwk.get("alg"):
            signing.setdefault(jwk["alg"], []).append((float(jwk.get("nbf", 0)), key))
    for entries in signing.values():
        entries.sort(key=lambda item: item[0], reverse=True)
    return _Loaded(signing, by_kid, {"keys": public})


class KeyRing:
    """Implements :class:`oxswarm.oauth.interfaces.KeySet` over a private JWKS."""

    def __init__(self, jwks: Mapping[str, Any], clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._loaded = _load(jwks)

    def replace(self, jwks: Mapping[str, Any]) -> None:
        """Swap in a new JWKS (one assignment: readers see the old or the new set)."""
        self._loaded = _load(jwks)

    def signing_key(self, alg: str) -> Key:
        entries = self._loaded.signing.get(alg)
        if not entries:
            raise KeyError(f"no signing key for {alg}")
        now = self._clock()
        for nbf, key in entries:
            if nbf <= now:
                return key
        return entries[-1][1]  # only unpublished keys: the oldest (never happens in use)

    def verification_key(self, kid: str) -> Key | None:
        return self._loaded.by_kid.get(kid)

    def public_jwks(self) -> Mapping[str, Any]:
        return self._loaded.public

    def algorithms(self) -> list[str]:
        return sorted(self._loaded.signing, key=lambda a: (a != "RS256", a))


class KeyWatcher(StoreWatcher):
    """Keeps a :class:`KeyRing` equal to the JWKS in the store (watch + periodic re-read)."""

    def __init__(
        self,
        ring: KeyRing,
        read: Callable[[], str | None],
        watch: Callable[[float, int | None], Any],
        *,
        refresh: float = 60.0,
    ) -> None:
        self._ring = ring
        self._read = read
        super().__init__(self._load, watch, name="oxauth-keys", refresh=refresh,
                         errors=(JoseError,))

    def _load(self) -> bool:
        text = self._read()
        if text is None:
            log.warning("the signing keys are missing from the config store; keeping the old")
            return False
        self._ring.replace(json.loads(text))
        return True
