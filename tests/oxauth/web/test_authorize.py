"""/oxauth/restv1/authorize: every error path with its exact code, and the happy paths."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

CB = "https://rp.example/cb"


def query(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return parse_qs(urlsplit(response.headers["location"]).query)


def fragment(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return parse_qs(urlsplit(response.headers["location"]).fragment)


def test_missing_client_id_page(op: Any) -> None:
    r = op.authorize(client_id="")
    assert r.status_code == 400
    assert op.page_code(r) == "invalid_request"


def test_unknown_client_page(op: Any) -> None:
    r = op.authorize(client_id="nobody")
    assert r.status_code == 400
    assert op.page_code(r) == "invalid_client"


def test_unregistered_redirect_uri_page(op: Any) -> None:
    op.add_client()
    r = op.authorize(redirect_uri="https://evil.example/cb")
    assert r.status_code == 400
    assert op.page_code(r) == "invalid_request_redirect_uri"
    assert "location" not in r.headers


def test_repeated_parameter_page(op: Any) -> None:
    op.add_client()
    r = op.client.get("/oxauth/restv1/authorize?client_id=rp1&client_id=rp1&redirect_uri=" + CB)
    assert r.status_code == 400
    assert op.page_code(r) == "invalid_request"


def test_unsupported_response_type_redirects(op: Any) -> None:
    op.add_client()
    r = op.authorize(response_type="code bogus")
    assert r.status_code == 302
    q = query(r)
    assert q["error"] == ["unsupported_response_type"]
    assert q["state"] == ["st1"]
    assert q["iss"] == ["http://testserver.local"]


def test_unauthorized_response_type(op: Any) -> None:
    op.add_client(response_types=("code",))
    r = op.authorize(response_type="id_token", nonce="n")
    assert r.status_code == 302
    assert fragment(r)["error"] == ["unauthorized_client"]


def test_invalid_scope(op: Any) -> None:
    op.add_client()
    assert query(op.authorize(scope="openid admin"))["error"] == ["invalid_scope"]


def test_public_client_without_pkce(op: Any) -> None:
    op.add_client(token_endpoint_auth_method="none", client_secret=None)
    assert query(op.authorize())["error"] == ["invalid_request"]


def test_plain_pkce_refused(op: Any) -> None:
    op.add_client()
    r = op.authorize(code_challenge="a" * 43, code_challenge_method="plain")
    assert query(r)["error"] == ["invalid_request"]


def test_nonce_required_for_implicit(op: Any) -> None:
    op.add_client()
    assert fragment(op.authorize(response_type="id_token token"))["error"] == ["invalid_request"]


def test_prompt_none_without_session(op: Any) -> None:
    op.add_client()
    r = op.authorize(prompt="none")
    assert r.status_code == 302
    assert query(r)["error"] == ["login_required"]


def test_prompt_none_without_consent(op: Any) -> None:
    op.add_client()
    op.add_session()
    assert query(op.authorize(prompt="none"))["error"] == ["consent_required"]


def test_prompt_none_with_session_and_consent(op: Any) -> None:
    op.add_client()
    op.add_session()
    op.consents.data[("inum-alice", "rp1")] = frozenset({"openid"})
    r = op.authorize(prompt="none")
    assert r.status_code == 302
    assert "code" in query(r)


def test_invalid_id_token_hint(op: Any) -> None:
    op.add_client()
    op.add_session()
    r = op.authorize(id_token_hint="forged")
    assert query(r)["error"] == ["invalid_request"]


def test_hint_for_other_user_with_prompt_none(op: Any) -> None:
    op.add_client()
    op.add_session()
    op.consents.data[("inum-alice", "rp1")] = frozenset({"openid"})
    op.issuer.hints["h"] = {"sub": "inum-bob", "aud": "rp1"}
    assert query(op.authorize(prompt="none", id_token_hint="h"))["error"] == ["login_required"]


def test_login_page_is_accessible(op: Any) -> None:
    op.add_client()
    r = op.authorize(login_hint="alice")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="en">' in html
    assert "<h1>Sign in</h1>" in html
    assert '<label for="username">' in html and 'id="username" name="username"' in html
    assert '<label for="password">' in html and 'id="password" name="password"' in html
    assert 'value="alice"' in html
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"
    fields = op.hidden_fields(html)
    assert fields["csrf_token"] and fields["authz"]
    assert "oxauth_browser" in r.headers["set-cookie"]


def test_code_flow_with_consent_and_sso(op: Any) -> None:
    op.add_client()
    page = op.authorize()
    consent = op.login(page)
    assert consent.status_code == 200
    assert "Allow access?" in consent.text
    cookie = consent.headers["set-cookie"]
    assert "oxauth_session=" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower() and "Secure" not in cookie
    done = op.consent(consent)
    assert done.status_code == 303
    q = query(done)
    assert q["state"] == ["st1"]
    assert q["iss"] == ["http://testserver.local"]
    assert q["code"][0] in op.issuer.codes
    assert op.consents.data[("inum-alice", "rp1")] == {"openid"}
    # single sign-on: the next request goes straight back with a code
    again = op.authorize(state="st2")
    assert again.status_code == 302
    assert query(again)["state"] == ["st2"]
    session = next(iter(op.sessions.data.values()))
    assert session.clients == ("rp1",)
    assert op.issuer.codes[query(again)["code"][0]]["sid"] == session.sid


def test_sso_across_clients(op: Any) -> None:
    op.add_client()
    op.add_client(client_id="rp2")
    assert op.signed_in().status_code == 303
    page = op.authorize(client_id="rp2")
    assert "Allow access?" in page.text  # signed in already: only consent is asked
    assert op.consent(page).status_code == 303
    session = next(iter(op.sessions.data.values()))
    assert session.clients == ("rp1", "rp2")


def test_consent_denied(op: Any) -> None:
    op.add_client()
    consent = op.login(op.authorize())
    r = op.consent(consent, decision="deny")
    assert r.status_code == 303
    assert query(r)["error"] == ["access_denied"]
    assert query(r)["state"] == ["st1"]


def test_prompt_consent_asks_again(op: Any) -> None:
    op.add_client()
    op.signed_in()
    assert "Allow access?" in op.authorize(prompt="consent").text


def test_prompt_login_asks_again_once(op: Any) -> None:
    op.add_client()
    op.signed_in()
    page = op.authorize(prompt="login")
    assert 'name="password"' in page.text
    assert op.login(page).status_code == 303  # consent remembered, no loop


def test_prompt_login_with_new_consent_does_not_loop(op: Any) -> None:
    op.add_client()
    page = op.authorize(prompt="login", max_age="0")
    consent = op.login(page)
    assert "Allow access?" in consent.text
    assert op.consent(consent).status_code == 303


def test_max_age_exceeded_asks_to_sign_in(op: Any) -> None:
    op.add_client()
    op.add_session(auth_time=1000)
    op.consents.data[("inum-alice", "rp1")] = frozenset({"openid"})
    assert 'name="password"' in op.authorize(max_age="60").text
    assert query(op.authorize(max_age="60", prompt="none"))["error"] == ["login_required"]


def test_implicit_fragment(op: Any) -> None:
    op.add_client()
    r = op.signed_in(response_type="id_token token", nonce="n-1")
    f = fragment(r)
    assert f["access_token"][0].startswith("at-")
    assert f["token_type"] == ["Bearer"]
    assert f["expires_in"] == ["3600"]
    assert f["id_token"] == ["idt.inum-alice.n-1.False"]
    assert f["state"] == ["st1"]
    assert urlsplit(r.headers["location"]).query == ""


def test_hybrid_code_id_token(op: Any) -> None:
    op.add_client()
    f = fragment(op.signed_in(response_type="code id_token", nonce="n-2"))
    assert f["id_token"] == ["idt.inum-alice.n-2.True"]
    assert f["code"][0] in op.issuer.codes


def test_form_post(op: Any) -> None:
    op.add_client()
    r = op.signed_in(response_mode="form_post")
    assert r.status_code == 200
    assert f'<form method="post" action="{CB}"' in r.text
    fields = op.hidden_fields(r.text)
    assert fields["state"] == "st1" and fields["code"] in op.issuer.codes
    assert "submit()" in r.text


def test_post_to_authorize(op: Any) -> None:
    op.add_client()
    r = op.client.post(
        "/oxauth/restv1/authorize",
        data={"client_id": "rp1", "redirect_uri": CB, "response_type": "code", "scope": "openid"},
    )
    assert r.status_code == 200 and 'name="username"' in r.text


def test_forged_session_cookie_is_ignored(op: Any) -> None:
    op.add_client()
    session = op.add_session()
    op.consents.data[("inum-alice", "rp1")] = frozenset({"openid"})
    op.client.cookies.set(
        "oxauth_session", session.sid + ".forged", domain="testserver.local", path="/oxauth"
    )
    assert query(op.authorize(prompt="none"))["error"] == ["login_required"]


def test_expired_session_is_ignored(op: Any) -> None:
    import dataclasses

    op.add_client()
    session = op.add_session()
    op.sessions.data[session.sid] = dataclasses.replace(session, expires_at=1)
    op.consents.data[("inum-alice", "rp1")] = frozenset({"openid"})
    assert query(op.authorize(prompt="none"))["error"] == ["login_required"]


def test_secure_cookie_for_https_issuer(op_https: Any) -> None:
    op_https.add_client()
    consent = op_https.login(op_https.authorize())
    assert "Secure" in consent.headers["set-cookie"]
