"""Signed browser values (web/security.py) against malformed input: cookies and form
tokens with non-ASCII characters, oversized or odd values are simply not valid (issue 8:
``compare_digest`` on ``str`` raised ``TypeError`` and the login, consent and logout pages
answered 500)."""

from __future__ import annotations

import pytest

from oxswarm.oxauth.web.security import (
    browser_id,
    csrf_ok,
    csrf_token,
    new_id,
    open_params,
    seal_params,
    session_cookie_value,
    sid_from_cookie,
)

SECRET = "s" * 32
BAD = ["é", "é.é", "a.é", "\xff.\xfe", "x" * 50_000, "a." * 5000, "", ".", "a b.c", '"q"', "%ff"]


@pytest.mark.parametrize("value", BAD, ids=lambda v: repr(v)[:20])
def test_bad_values_are_not_valid(value: str) -> None:
    assert sid_from_cookie(SECRET, value) is None
    assert not csrf_ok(SECRET, "login", new_id(), value)
    assert not csrf_ok(SECRET, "login", value, csrf_token(SECRET, "login", "b"))
    assert open_params(SECRET, value, 600) is None
    assert browser_id(value) is None


def test_a_valid_value_of_each_kind_still_works() -> None:
    sid, browser = new_id(), new_id()
    assert sid_from_cookie(SECRET, session_cookie_value(SECRET, sid)) == sid
    assert csrf_ok(SECRET, "consent", sid, csrf_token(SECRET, "consent", sid))
    assert browser_id(browser) == browser
    assert open_params(SECRET, seal_params(SECRET, {"a": "é"}), 600) == {"a": "é"}


def test_a_mac_with_non_ascii_is_wrong_not_an_error() -> None:
    sid = new_id()
    assert sid_from_cookie(SECRET, f"{sid}.é{'A' * 42}") is None
    sealed = seal_params(SECRET, {"a": "b"})
    assert open_params(SECRET, sealed[:-1] + "é", 600) is None
