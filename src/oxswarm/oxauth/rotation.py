"""Signing key rotation without a moment when a token cannot be verified.

The rule (``oxswarm keys rotate``):

1. For every algorithm of the set, a new key is added with ``nbf = now + propagation``:
   it is published at once (the jwks endpoint serves every key of the set) but does not
   sign until ``nbf`` (see :class:`oxswarm.oxauth.keys.KeyRing`).
2. The key that signs now for that algorithm keeps signing until then, so it is kept
   until everything it can sign has expired: its ``exp`` becomes
   ``now + propagation + max_token_lifetime``.
3. Keys whose ``exp`` has passed are dropped; nothing they signed is still valid.

Every oxAuth process watches the private JWKS in the store, so all of them switch to
the new key at the same ``nbf`` instant, without restart.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from oxswarm.config import keys as K
from oxswarm.config.manager import ConfigManager
from oxswarm.crypto.jwks import DEFAULT_LIFETIME, new_key, public_jwks
from oxswarm.errors import NotFound

DEFAULT_PROPAGATION = 300


def current_signers(jwks: Mapping[str, Any], now: float) -> dict[str, str]:
    """alg -> kid of the key that signs at ``now`` (newest ``nbf`` not in the future)."""
    best: dict[str, tuple[float, str]] = {}
    for key in jwks.get("keys", []):
        nbf = float(key.get("nbf", 0))
        alg = key.get("alg")
        if alg and nbf <= now and (alg not in best or nbf > best[alg][0]):
            best[alg] = (nbf, key["kid"])
    return {alg: kid for alg, (_, kid) in best.items()}


def rotate(
    jwks: Mapping[str, Any],
    *,
    now: float | None = None,
    propagation: int = DEFAULT_PROPAGATION,
    max_token_lifetime: int = 3600,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> dict[str, Any]:
    """The rotated private JWKS (the input is not modified)."""
    stamp = time.time() if now is None else now
    keys = [dict(k) for k in jwks.get("keys", [])]
    signers = set(current_signers({"keys": keys}, stamp).values())
    retire_at = math.ceil(stamp + propagation + max_token_lifetime)
    for key in keys:
        if key.get("kid") in signers:
            key["exp"] = retire_at
    kept = [k for k in keys if float(k.get("exp", 0)) > stamp]
    born = datetime.fromtimestamp(stamp, UTC)
    seen: set[tuple[str, str]] = set()
    for key in keys:
        pair = (str(key.get("alg")), str(key.get("use", "sig")))
        if pair in seen or not key.get("alg"):
            continue
        seen.add(pair)
        fresh = new_key(pair[0], "enc" if pair[1] == "enc" else "sig", born, lifetime)
        fresh["nbf"] = math.ceil(stamp + propagation)  # never earlier than promised
        kept.append(fresh)
    return {"keys": kept}


def stamp(when: float) -> str:
    """A time as ``oxswarm keys`` shows it (UTC, seconds)."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else "-"


def rotate_stored(
    manager: ConfigManager,
    *,
    now: float | None = None,
    propagation: int = DEFAULT_PROPAGATION,
    max_token_lifetime: int = 3600,
) -> dict[str, Any]:
    """Rotate the store's keys (``oxswarm keys rotate`` and oxTrust's Keys page): the
    private set, its public half and the rotation time; every oxAuth follows by watch."""
    text = manager.get_secret(K.OXAUTH_JWKS)
    if text is None:
        raise NotFound("no signing keys in the store: run config-init first")
    when = time.time() if now is None else now
    rotated = rotate(json.loads(text), now=when, propagation=propagation,
                     max_token_lifetime=max_token_lifetime)
    manager.set_secret(K.OXAUTH_JWKS, json.dumps(rotated))
    manager.set(K.OXAUTH_JWKS_PUBLIC, json.dumps(public_jwks(rotated)))
    manager.set(K.OXAUTH_KEY_ROTATED_AT, stamp(when))
    return rotated
