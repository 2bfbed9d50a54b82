"""/oxauth/login: CSRF, expired requests, wrong passwords and the lockout."""

from __future__ import annotations

from typing import Any


def test_bad_csrf_token(op: Any) -> None:
    op.add_client()
    page = op.authorize()
    r = op.login(page, csrf_token="x" * 43)
    assert r.status_code == 403
    assert op.page_code(r) == "invalid_csrf_token"


def test_csrf_token_bound_to_browser_cookie(op: Any) -> None:
    op.add_client()
    page = op.authorize()
    op.client.cookies.clear()
    r = op.login(page)
    assert r.status_code == 403
    assert op.page_code(r) == "invalid_csrf_token"


def test_tampered_request(op: Any) -> None:
    op.add_client()
    page = op.authorize()
    fields = op.hidden_fields(page.text)
    data, mac = fields["authz"].rsplit(".", 1)
    r = op.login(page, authz=data[:-2] + "AA." + mac)
    assert r.status_code == 400
    assert op.page_code(r) == "invalid_request"


def test_missing_fields(op: Any) -> None:
    op.add_client()
    r = op.login(op.authorize(), password="")
    assert r.status_code == 400
    assert 'role="alert"' in r.text and 'aria-describedby="login-error"' in r.text


def test_wrong_password(op: Any) -> None:
    op.add_client()
    r = op.login(op.authorize(), password="wrong")
    assert r.status_code == 401
    assert "The username or password is wrong." in r.text
    assert 'aria-invalid="true"' in r.text
    assert 'value="alice"' in r.text
    assert "oxauth_session" not in r.headers.get("set-cookie", "")


def test_lockout_per_user(op: Any) -> None:
    op.add_client()
    page = op.authorize()
    for _ in range(5):
        assert op.login(page, password="wrong").status_code == 401
    calls = op.users.calls
    r = op.login(page)  # right password, but locked
    assert r.status_code == 429
    assert "Too many failed sign-in attempts" in r.text
    assert op.users.calls == calls  # the directory is not asked while locked


def test_lockout_per_address(op: Any) -> None:
    op.add_client()
    page = op.authorize()
    for i in range(20):
        assert op.login(page, username=f"user{i}", password="wrong").status_code == 401
    assert op.login(page).status_code == 429


def test_success_resets_user_counter(op: Any) -> None:
    op.add_client()
    page = op.authorize()
    for _ in range(4):
        op.login(page, password="wrong")
    assert op.login(page).status_code == 200  # consent page
    user_counts = [v for (kind, _), v in op.counters.data.items() if kind == "login-fail-user"]
    assert user_counts == []


def test_new_session_on_each_sign_in(op: Any) -> None:
    op.add_client()
    old = op.add_session()
    op.consents.data[("inum-alice", "rp1")] = frozenset({"openid"})
    r = op.login(op.authorize(prompt="login"))
    assert r.status_code == 303
    assert old.sid not in op.sessions.data
    assert len(op.sessions.data) == 1


def test_expired_client_between_pages(op: Any) -> None:
    op.add_client()
    page = op.authorize()
    op.clients.data.clear()
    r = op.login(page)
    assert r.status_code == 400
    assert op.page_code(r) == "invalid_client"
