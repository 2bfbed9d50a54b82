"""The services' own relying party at oxAuth: URLs it builds from a known discovery."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs, urlsplit

from oxswarm.oauth.oidc.upstream import s256
from oxswarm.oxauth.relying_party import RelyingParty

META = {
    "issuer": "https://id.example.org",
    "authorization_endpoint": "https://id.example.org/oxauth/restv1/authorize",
    "token_endpoint": "https://id.example.org/oxauth/restv1/token",
    "end_session_endpoint": "https://id.example.org/oxauth/restv1/end_session",
}


def party() -> RelyingParty:
    rp = RelyingParty(oxauth_url="http://oxauth:8080/", client_id="c1", client_secret="s",
                      redirect_uri="https://id.example.org/idp/auth/callback")
    rp._meta, rp._meta_at = dict(META), time.monotonic()
    return rp


def test_authorize_url_has_pkce_state_nonce_and_the_prompt() -> None:
    url = asyncio.run(party().authorize_url("st", "no", "verifier", "login"))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == META["authorization_endpoint"]
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {
        "response_type": "code", "client_id": "c1", "scope": "openid",
        "redirect_uri": "https://id.example.org/idp/auth/callback", "state": "st",
        "nonce": "no", "code_challenge": s256("verifier"), "code_challenge_method": "S256",
        "prompt": "login",
    }


def test_back_channel_keeps_the_path_and_query_on_the_internal_address() -> None:
    assert party().back("https://id.example.org/oxauth/restv1/jwks?x=1") == \
        "http://oxauth:8080/oxauth/restv1/jwks?x=1"


def test_end_session_url_with_and_without_state() -> None:
    rp = party()
    with_state = parse_qs(urlsplit(asyncio.run(rp.end_session_url("tok", "https://a/b", "s1")))
                          .query)
    assert with_state == {"id_token_hint": ["tok"], "client_id": ["c1"],
                          "post_logout_redirect_uri": ["https://a/b"], "state": ["s1"]}
    without = parse_qs(urlsplit(asyncio.run(rp.end_session_url("tok", "https://a/b"))).query)
    assert "state" not in without
    rp._meta = {k: v for k, v in META.items() if k != "end_session_endpoint"}
    assert asyncio.run(rp.end_session_url("tok", "https://a/b")) is None
