"""oxPassport's pure parts: the upstream ID token's checks (OpenID Connect Core 3.1.3.7),
providers as stored, the attribute mapping, the acr a method may claim."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from oxswarm.errors import InvalidInput
from oxswarm.oauth.oidc.core import acr
from oxswarm.oauth.oidc.upstream import (
    FederationError,
    UnknownKey,
    authorization_url,
    check_discovery,
    s256,
    validate_id_token,
)
from oxswarm.passport import accounts, providers

ISS = "https://op.example"
CID = "oxswarm"
NONCE = "n-0123456789"


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, {"kid": "k1", "use": "sig"})


def token(key: RSAKey, alg: str = "RS256", kid: str | None = "k1", **over: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISS, "aud": CID, "sub": "s1", "iat": now,
                              "exp": now + 300, "nonce": NONCE}
    claims.update(over)
    claims = {k: v for k, v in claims.items() if v is not None}
    header: dict[str, Any] = {"alg": alg}
    if kid:
        header["kid"] = kid
    return jwt.encode(header, claims, key, algorithms=[alg])


def check(tok: str, keys: KeySet) -> dict[str, Any]:
    return validate_id_token(tok, keys, issuer=ISS, client_id=CID, nonce=NONCE)


def test_a_good_id_token_passes(key: RSAKey) -> None:
    keys = KeySet([key])
    assert check(token(key), keys)["sub"] == "s1"
    assert check(token(key, aud=[CID, "other"], azp=CID), keys)["sub"] == "s1"


@pytest.mark.parametrize(("over", "reason"), [
    ({"iss": "https://evil.example"}, "iss"),
    ({"aud": "another-client"}, "aud is another client"),
    ({"aud": [CID, "other"]}, "azp"),
    ({"aud": [CID, "other"], "azp": "other"}, "azp"),
    ({"exp": int(time.time()) - 120}, "expired"),
    ({"iat": int(time.time()) - 3600, "exp": int(time.time()) + 86400}, "iat"),
    ({"iat": int(time.time()) + 3600}, "iat"),
    ({"nonce": "another"}, "nonce"),
    ({"nonce": None}, "nonce"),
    ({"sub": None}, "sub"),
])
def test_each_claim_check_refuses(key: RSAKey, over: dict[str, Any], reason: str) -> None:
    with pytest.raises(FederationError, match=reason):
        check(token(key, **over), KeySet([key]))


def test_signatures(key: RSAKey) -> None:
    other = RSAKey.generate_key(2048, {"kid": "k1"})  # same kid, another key
    with pytest.raises(FederationError, match="signature"):
        check(token(other), KeySet([key]))
    stranger = RSAKey.generate_key(2048, {"kid": "k9"})
    with pytest.raises(UnknownKey):
        check(token(stranger, kid="k9"), KeySet([key]))
    tampered = token(key).split(".")
    tampered[1] = token(key, sub="admin").split(".")[1]
    with pytest.raises(FederationError, match="signature"):
        check(".".join(tampered), KeySet([key]))
    with pytest.raises(FederationError, match="signature"):  # the signature stripped
        check(token(key).split(".")[0] + "." + token(key).split(".")[1] + ".", KeySet([key]))


def test_alg_none_and_hmac_are_refused(key: RSAKey) -> None:
    import base64
    import json

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    body = {"iss": ISS, "aud": CID, "sub": "s", "iat": int(time.time()),
            "exp": int(time.time()) + 60, "nonce": NONCE}
    for alg in ("none", "HS256"):
        forged = f"{b64({'alg': alg, 'kid': 'k1'})}.{b64(body)}.c2ln"
        with pytest.raises(FederationError, match="alg"):
            check(forged, KeySet([key]))
    with pytest.raises(FederationError, match="compact"):
        check("not a jwt", KeySet([key]))


def test_discovery_and_request() -> None:
    doc = {"issuer": ISS, "authorization_endpoint": f"{ISS}/auth",
           "token_endpoint": f"{ISS}/token", "jwks_uri": f"{ISS}/jwks"}
    assert check_discovery(doc, ISS)["token_endpoint"] == f"{ISS}/token"
    with pytest.raises(FederationError, match="issuer"):
        check_discovery({**doc, "issuer": "https://mix-up.example"}, ISS)
    url = authorization_url(f"{ISS}/auth", client_id=CID, redirect_uri="https://id/cb",
                            scope="openid email", state="st", nonce="no", verifier="v" * 43)
    assert f"code_challenge={s256('v' * 43)}" in url and "code_challenge_method=S256" in url
    # RFC 7636 appendix B
    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == \
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_providers_are_checked_and_round_trip() -> None:
    p = providers.build({"id": "acme", "issuer": ISS, "client_id": "c", "scopes": ["email"],
                         "mapping": {"nickname": "display_name"}, "linking": "link_by_email"})
    assert p.scopes == ("openid", "email")
    assert providers.parse(providers.dump([p])) == [p]
    assert "client_secret" not in providers.dump([p])
    for bad, field in [({"id": "Acme"}, "id"), ({"issuer": "ftp://x"}, "issuer"),
                       ({"linking": "merge"}, "linking"), ({"type": "cas"}, "type"),
                       ({"mapping": {"x": "userPassword"}}, "mapping"),
                       ({"mapping": {"x": "status"}}, "mapping"),
                       ({"scopes": ["a b"]}, "scope"), ({"secret": "x"}, "secret")]:
        data = {"id": "acme", "issuer": ISS, "client_id": "c", **bad}
        with pytest.raises(InvalidInput) as caught:
            providers.build(data)
        assert caught.value.field == field, bad
    with pytest.raises(InvalidInput, match="two providers"):
        providers.dump([p, p])


def test_mapping_defaults_and_overrides() -> None:
    p = providers.build({"id": "acme", "issuer": ISS, "client_id": "c",
                         "mapping": {"nickname": "display_name", "phone_number": ""}})
    fields = accounts.mapped(p, {"email": "a@x.org", "given_name": "Ann", "nickname": "Annie",
                                 "phone_number": "+1 555", "family_name": 7,
                                 "preferred_username": "ann"})
    assert fields == {"email": "a@x.org", "given_name": "Ann", "display_name": "Annie",
                      "uid": "ann"}
    assert accounts.link_of("acme", "s1") == "passport-acme:s1"
    assert accounts.verified({"email_verified": True})
    assert not accounts.verified({"email_verified": "yes"})


def test_a_password_sign_in_never_claims_a_passport_acr() -> None:
    assert acr.chosen(["passport_social"], None, acr.PASSWORD) == acr.PASSWORD
    assert acr.chosen([], ["passport_saml"], acr.PASSWORD) == acr.PASSWORD
    assert acr.PASSPORT_SOCIAL in acr.SUPPORTED
