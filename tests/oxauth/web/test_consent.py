"""/oxauth/consent: CSRF bound to the session, expired sessions start over."""

from __future__ import annotations

from typing import Any


def test_bad_csrf(op: Any) -> None:
    op.add_client()
    consent = op.login(op.authorize())
    form = op.hidden_fields(consent.text)
    form.update(csrf_token="forged", decision="allow")
    r = op.client.post("/oxauth/consent", data=form)
    assert r.status_code == 403
    assert op.page_code(r) == "invalid_csrf_token"
    assert op.consents.data == {}


def test_session_gone_starts_over(op: Any) -> None:
    op.add_client()
    consent = op.login(op.authorize())
    op.sessions.data.clear()
    r = op.consent(consent)
    assert r.status_code == 200
    assert 'name="password"' in r.text


def test_expired_request(op: Any) -> None:
    op.add_client()
    consent = op.login(op.authorize())
    form = op.hidden_fields(consent.text)
    form.update(authz="bogus", decision="allow")
    r = op.client.post("/oxauth/consent", data=form)
    assert r.status_code == 400
    assert op.page_code(r) == "invalid_request"
