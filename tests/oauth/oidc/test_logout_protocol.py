"""RP-Initiated, Front-Channel and Back-Channel Logout 1.0 (pure parts)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.oidc import backchannel_logout, frontchannel_logout
from oxswarm.oauth.oidc.rp_initiated_logout import LogoutRequestError, validate

RP = ClientMetadata(
    client_id="rp",
    post_logout_redirect_uris=("https://rp.example/bye?x=1",),
    frontchannel_logout_uri="https://rp.example/fc",
    backchannel_logout_uri="https://rp.example/bc",
)
HINT = {"iss": "https://op", "aud": "rp", "sub": "u1", "sid": "s1"}


def refused(p: dict[str, str], **kw: object) -> str:
    with pytest.raises(LogoutRequestError) as info:
        validate(p, **kw)  # type: ignore[arg-type]
    return info.value.error


def test_valid_with_hint() -> None:
    out = validate(
        {"post_logout_redirect_uri": "https://rp.example/bye?x=1", "state": "st"},
        hint=HINT,
        hint_given=True,
        client=RP,
    )
    assert out.client_id == "rp"
    assert out.hint_sid == "s1"
    loc = out.redirect_location()
    assert loc is not None
    assert parse_qs(urlsplit(loc).query) == {"x": ["1"], "state": ["st"]}


def test_invalid_hint() -> None:
    assert refused({}, hint=None, hint_given=True, client=None) == "invalid_request"


def test_client_id_not_in_hint_audience() -> None:
    assert (
        refused({"client_id": "other"}, hint=HINT, hint_given=True, client=RP) == "invalid_request"
    )


def test_unknown_client() -> None:
    assert (
        refused({"client_id": "rp"}, hint=None, hint_given=False, client=None) == "invalid_client"
    )


def test_unregistered_post_logout_uri() -> None:
    p = {"post_logout_redirect_uri": "https://rp.example/bye"}
    assert refused(p, hint=HINT, hint_given=True, client=RP) == "invalid_request"


def test_post_logout_uri_without_client() -> None:
    p = {"post_logout_redirect_uri": "https://rp.example/bye?x=1"}
    assert refused(p, hint=None, hint_given=False, client=None) == "invalid_request"


def test_no_parameters_is_fine() -> None:
    out = validate({}, hint=None, hint_given=False, client=None)
    assert out.redirect_location() is None


def test_frontchannel_url() -> None:
    url = frontchannel_logout.logout_iframe_url(RP, issuer="https://op", sid="s1")
    assert url == "https://rp.example/fc?iss=https%3A%2F%2Fop&sid=s1"
    bare = ClientMetadata(client_id="x")
    assert frontchannel_logout.logout_iframe_url(bare, issuer="i", sid="s") is None


def test_logout_token_claims() -> None:
    claims = backchannel_logout.logout_token_claims(
        RP, issuer="https://op", sub="u1", sid="s1", now=1000
    )
    assert claims["aud"] == "rp"
    assert claims["events"] == {backchannel_logout.EVENT: {}}
    assert claims["sid"] == "s1"
    assert claims["sub"] == "u1"
    assert claims["exp"] > claims["iat"] == 1000
    assert "nonce" not in claims
    with pytest.raises(ValueError, match="sub or sid"):
        backchannel_logout.logout_token_claims(RP, issuer="i", sub=None, sid=None, now=1)


def test_hint_naming_no_single_client() -> None:
    two = {**HINT, "aud": ["rp", "other"]}
    assert refused({}, hint=two, hint_given=True, client=None) == "invalid_request"
    assert validate({}, hint={**two, "azp": "rp"}, hint_given=True, client=RP).client_id == "rp"
