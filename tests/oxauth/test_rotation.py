"""The rotation rule and the key ring's choice of signing key (pure, no daemons)."""

from __future__ import annotations

from datetime import UTC, datetime

from oxswarm.crypto.jwks import new_key
from oxswarm.oxauth.keys import KeyRing
from oxswarm.oxauth.rotation import current_signers, rotate

T0 = 1_800_000_000.0


def jwks_at(stamp: float) -> dict[str, list[dict[str, object]]]:
    born = datetime.fromtimestamp(stamp, UTC)
    return {"keys": [new_key("RS256", "sig", born), new_key("ES256", "sig", born)]}


def test_new_key_is_published_at_once_but_signs_after_the_delay() -> None:
    old = jwks_at(T0)
    old_kids = current_signers(old, T0)
    rotated = rotate(old, now=T0 + 10, propagation=300, max_token_lifetime=3600)
    assert len(rotated["keys"]) == 4
    assert current_signers(rotated, T0 + 10 + 299) == old_kids
    after = current_signers(rotated, T0 + 10 + 300)
    assert after.keys() == old_kids.keys() and set(after.values()).isdisjoint(old_kids.values())
    ring = KeyRing(rotated, clock=lambda: T0 + 20)
    assert ring.signing_key("RS256").kid == old_kids["RS256"]
    assert {k["kid"] for k in ring.public_jwks()["keys"]} == {k["kid"] for k in rotated["keys"]}
    assert all("nbf" not in k and "d" not in k for k in ring.public_jwks()["keys"])
    later = KeyRing(rotated, clock=lambda: T0 + 400)
    assert later.signing_key("RS256").kid == after["RS256"]
    assert later.verification_key(old_kids["RS256"]) is not None


def test_old_key_is_kept_until_what_it_signed_expired_then_dropped() -> None:
    old = jwks_at(T0)
    old_kids = set(current_signers(old, T0).values())
    rotated = rotate(old, now=T0, propagation=300, max_token_lifetime=3600)
    retire = {k["kid"]: k["exp"] for k in rotated["keys"] if k["kid"] in old_kids}
    assert set(retire.values()) == {int(T0 + 300 + 3600)}
    again = rotate(rotated, now=T0 + 300 + 3600 + 1, propagation=300, max_token_lifetime=3600)
    kids = {k["kid"] for k in again["keys"]}
    assert kids.isdisjoint(old_kids)
    assert len(again["keys"]) == 4  # the second generation (now retiring) and the third


def test_ring_swaps_atomically() -> None:
    ring = KeyRing(jwks_at(T0))
    first = ring.signing_key("ES256").kid
    ring.replace(jwks_at(T0))
    assert ring.signing_key("ES256").kid != first
    assert ring.algorithms()[0] == "RS256"
