"""OAuth 2.0 Multiple Response Types and Form Post Response Mode encoding."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from oxswarm.oauth import oauth2_response_modes as modes


@pytest.mark.parametrize(
    ("types", "mode"),
    [
        ({"code"}, "query"),
        ({"token"}, "fragment"),
        ({"id_token"}, "fragment"),
        ({"code", "id_token"}, "fragment"),
        ({"code", "token"}, "fragment"),
        ({"code", "id_token", "token"}, "fragment"),
    ],
)
def test_default_mode(types: set[str], mode: str) -> None:
    assert modes.default_response_mode(types) == mode


def test_query_never_carries_tokens() -> None:
    assert modes.mode_allowed("query", {"code"})
    assert not modes.mode_allowed("query", {"code", "id_token"})
    assert not modes.mode_allowed("query", {"token"})
    assert modes.mode_allowed("form_post", {"id_token", "token"})
    assert not modes.mode_allowed("jwt", {"code"})


def test_query_keeps_the_redirect_uris_own_query() -> None:
    out = modes.build_response("https://rp.example/cb?x=1", {"code": "abc", "state": None}, "query")
    assert isinstance(out, modes.RedirectResponse)
    parts = urlsplit(out.location)
    assert parts.path == "/cb"
    assert parse_qs(parts.query) == {"x": ["1"], "code": ["abc"]}


def test_fragment() -> None:
    out = modes.build_response(
        "https://rp.example/cb", {"id_token": "a.b.c", "state": "s 1"}, "fragment"
    )
    assert isinstance(out, modes.RedirectResponse)
    assert out.location == "https://rp.example/cb#id_token=a.b.c&state=s+1"


def test_form_post() -> None:
    out = modes.build_response(
        "https://rp.example/cb", {"code": "c", "state": "s", "x": None}, "form_post"
    )
    assert out == modes.FormPostResponse("https://rp.example/cb", (("code", "c"), ("state", "s")))


def test_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown response mode"):
        modes.build_response("https://rp.example/cb", {}, "jwt")
