"""The OpenID Provider's JWKS: one key per algorithm, public form, JWT round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jwe, jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from oxswarm.crypto import jwks
from oxswarm.errors import InvalidInput

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture(scope="module")
def private() -> jwks.JWKS:
    return jwks.generate_jwks(NOW)


@pytest.fixture(scope="module")
def public(private: jwks.JWKS) -> jwks.JWKS:
    return jwks.public_jwks(private)


@pytest.fixture(scope="module")
def private_set(private: jwks.JWKS) -> KeySet:
    return KeySet.import_key_set(private)  # RSA private keys are checked on import: slow


@pytest.fixture(scope="module")
def public_set(public: jwks.JWKS) -> KeySet:
    return KeySet.import_key_set(public)


def _key(keyset: jwks.JWKS, alg: str) -> jwks.JWK:
    (key,) = [k for k in keyset["keys"] if k["alg"] == alg]
    return key


def test_every_alg_once_with_use(private: jwks.JWKS) -> None:
    by_use = {(k["alg"], k["use"]) for k in private["keys"]}
    expected = {(a, "sig") for a in jwks.SIG_ALGS} | {(a, "enc") for a in jwks.ENC_ALGS}
    assert by_use == expected
    assert len(private["keys"]) == len(expected)


def test_kids_unique(private: jwks.JWKS) -> None:
    kids = [k["kid"] for k in private["keys"]]
    assert all(isinstance(kid, str) and kid for kid in kids)
    assert len(set(kids)) == len(kids)


def test_exp_is_48h_after_now(private: jwks.JWKS) -> None:
    expected = int((NOW + timedelta(hours=48)).timestamp())
    assert {k["exp"] for k in private["keys"]} == {expected}


@pytest.mark.parametrize(
    ("alg", "kty", "size"),
    [
        ("RS256", "RSA", 2048),
        ("PS512", "RSA", 2048),
        ("RSA-OAEP", "RSA", 2048),
        ("RSA-OAEP-256", "RSA", 2048),
        ("ES256", "EC", "P-256"),
        ("ES384", "EC", "P-384"),
        ("ES512", "EC", "P-521"),
        ("ECDH-ES", "EC", "P-256"),
    ],
)
def test_key_types(
    private: jwks.JWKS, private_set: KeySet, alg: str, kty: str, size: object
) -> None:
    key = private_set.get_by_kid(_key(private, alg)["kid"])
    assert key.key_type == kty
    if kty == "RSA":
        assert key.private_key is not None
        assert key.private_key.key_size == size  # type: ignore[union-attr]
    else:
        assert key.as_dict()["crv"] == size


def test_public_has_no_private_members(private: jwks.JWKS, public: jwks.JWKS) -> None:
    assert len(public["keys"]) == len(private["keys"])
    for key in public["keys"]:
        assert not PRIVATE_MEMBERS & set(key), key["kid"]
        assert {"kid", "use", "alg", "exp", "kty"} <= set(key)
    # the private set does hold them (else the test above proves nothing)
    assert all("d" in key for key in private["keys"])


@pytest.mark.parametrize("alg", jwks.SIG_ALGS)
def test_jwt_signed_with_private_verifies_with_public(
    private: jwks.JWKS, private_set: KeySet, public_set: KeySet, alg: str
) -> None:
    kid = _key(private, alg)["kid"]
    claims = {"iss": "https://id.example.org", "sub": "admin"}
    token = jwt.encode({"alg": alg, "kid": kid}, claims, private_set, algorithms=[alg])
    decoded = jwt.decode(token, public_set, algorithms=[alg])
    assert decoded.header["kid"] == kid
    assert decoded.claims == claims


def test_jwt_from_other_set_does_not_verify(public: jwks.JWKS) -> None:
    other = jwks.new_key("RS256", "sig", NOW)
    token = jwt.encode(
        {"alg": "RS256", "kid": other["kid"]},
        {"sub": "x"},
        KeySet.import_key_set({"keys": [other]}),
    )
    # same kid, foreign key material: signature must fail
    forged = {"keys": [{**_key(public, "RS256"), "kid": other["kid"]}]}
    with pytest.raises(BadSignatureError):
        jwt.decode(token, KeySet.import_key_set(forged))


@pytest.mark.parametrize("alg", jwks.ENC_ALGS)
def test_encrypt_with_public_decrypt_with_private(
    private: jwks.JWKS, private_set: KeySet, public_set: KeySet, alg: str
) -> None:
    kid = _key(private, alg)["kid"]
    header = {"alg": alg, "enc": "A128GCM", "kid": kid}
    registry = jwe.JWERegistry(algorithms=[alg, "A128GCM"])
    token = jwe.encrypt_compact(header, b"secret", public_set.get_by_kid(kid), registry=registry)
    result = jwe.decrypt_compact(token, private_set.get_by_kid(kid), registry=registry)
    assert result.plaintext == b"secret"


def test_new_key_lifetime_and_alg() -> None:
    key = jwks.new_key("ES256", "sig", NOW, timedelta(hours=1))
    assert key["exp"] == int(NOW.timestamp()) + 3600
    assert key["use"] == "sig" and key["alg"] == "ES256" and key["crv"] == "P-256"
    assert key["kid"] != jwks.new_key("ES256", "sig", NOW)["kid"]


@pytest.mark.parametrize(
    ("alg", "use", "field"),
    [
        ("RS256", "enc", "alg"),
        ("RSA-OAEP", "sig", "alg"),
        ("HS256", "sig", "alg"),
        ("RS256", "x", "use"),
    ],
)
def test_new_key_refuses_unknown(alg: str, use: str, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        jwks.new_key(alg, use, NOW)  # type: ignore[arg-type]
    assert info.value.field == field


def test_public_refuses_symmetric_and_malformed() -> None:
    with pytest.raises(InvalidInput, match="no public form"):
        jwks.public_jwks({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "x"}]})
    with pytest.raises(InvalidInput):
        jwks.public_jwks({"keys": "nope"})
    with pytest.raises(InvalidInput):
        jwks.public_jwks({})


def test_unexpired_drops_old_keys(private: jwks.JWKS) -> None:
    old = jwks.new_key("RS256", "sig", NOW - timedelta(hours=49))
    mixed = {"keys": [old, *private["keys"]]}
    kept = jwks.unexpired(mixed, NOW)
    assert old["kid"] not in {k["kid"] for k in kept["keys"]}
    assert len(kept["keys"]) == len(private["keys"])
    assert jwks.unexpired(mixed, NOW + timedelta(hours=48))["keys"] == []


def test_jwks_is_json_serialisable(private: jwks.JWKS) -> None:
    assert json.loads(json.dumps(private)) == private
