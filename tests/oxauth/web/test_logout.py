"""/oxauth/restv1/end_session: RP-initiated, front-channel and back-channel logout."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt

from oxswarm.oauth.oidc.backchannel_logout import EVENT

BYE = "https://rp.example/bye"
END = "/oxauth/restv1/end_session"


def signed_in_session(op: Any, **client: Any) -> Any:
    op.add_client(**client)
    assert op.signed_in().status_code == 303
    return next(iter(op.sessions.data.values()))


def test_no_session_no_parameters(op: Any) -> None:
    r = op.client.get(END)
    assert r.status_code == 200
    assert "You are signed out" in r.text


def test_invalid_hint_is_refused(op: Any) -> None:
    r = op.client.get(END, params={"id_token_hint": "forged", "post_logout_redirect_uri": BYE})
    assert r.status_code == 400
    assert op.page_code(r) == "invalid_request"


def test_unregistered_post_logout_uri_is_refused(op: Any) -> None:
    op.add_client()
    op.issuer.hints["h"] = {"sub": "inum-alice", "aud": "rp1", "sid": "x"}
    r = op.client.get(
        END, params={"id_token_hint": "h", "post_logout_redirect_uri": "https://evil.example/"}
    )
    assert r.status_code == 400
    assert op.page_code(r) == "invalid_request"
    assert "location" not in r.headers


def test_post_logout_uri_without_client_is_refused(op: Any) -> None:
    r = op.client.get(END, params={"post_logout_redirect_uri": BYE})
    assert r.status_code == 400
    assert op.page_code(r) == "invalid_request"


def test_client_id_not_in_hint(op: Any) -> None:
    op.add_client()
    op.issuer.hints["h"] = {"sub": "inum-alice", "aud": "rp1"}
    r = op.client.get(END, params={"id_token_hint": "h", "client_id": "rp2"})
    assert r.status_code == 400
    assert op.page_code(r) == "invalid_request"


def test_unknown_client_id(op: Any) -> None:
    r = op.client.get(END, params={"client_id": "nobody"})
    assert r.status_code == 400
    assert op.page_code(r) == "invalid_client"


def test_hint_for_this_session_logs_out_and_redirects(op: Any) -> None:
    session = signed_in_session(op)
    op.issuer.hints["h"] = {"sub": session.sub, "aud": "rp1", "sid": session.sid}
    r = op.client.get(
        END, params={"id_token_hint": "h", "post_logout_redirect_uri": BYE, "state": "s9"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == BYE + "?state=s9"
    assert session.sid not in op.sessions.data
    assert 'oxauth_session=""' in r.headers["set-cookie"]
    # signed out: a silent request now needs a login
    again = op.authorize(prompt="none")
    assert parse_qs(urlsplit(again.headers["location"]).query)["error"] == ["login_required"]


def test_without_hint_the_user_confirms(op: Any) -> None:
    session = signed_in_session(op)
    r = op.client.get(END, params={"client_id": "rp1", "post_logout_redirect_uri": BYE})
    assert r.status_code == 200
    assert "Sign out?" in r.text
    assert session.sid in op.sessions.data
    form = op.hidden_fields(r.text)
    bad = op.client.post(END, data={**form, "csrf_token": "forged", "logout": "yes"})
    assert bad.status_code == 200 and "Sign out?" in bad.text
    assert session.sid in op.sessions.data
    ok = op.client.post(END, data={**form, "logout": "yes"})
    assert ok.status_code == 303
    assert ok.headers["location"] == BYE
    assert session.sid not in op.sessions.data


def test_front_channel_iframes(op: Any) -> None:
    session = signed_in_session(op, frontchannel_logout_uri="https://rp.example/fc")
    op.issuer.hints["h"] = {"sub": session.sub, "aud": "rp1", "sid": session.sid}
    r = op.client.get(END, params={"id_token_hint": "h", "post_logout_redirect_uri": BYE})
    assert r.status_code == 200
    src = f"https://rp.example/fc?iss=http%3A%2F%2Ftestserver.local&amp;sid={session.sid}"
    assert f'<iframe src="{src}"' in r.text
    assert "frame-src https://rp.example" in r.headers["content-security-policy"]
    assert 'href="https://rp.example/bye"' in r.text


def test_back_channel_logout_token(op: Any) -> None:
    session = signed_in_session(op, backchannel_logout_uri="https://rp.example/bc")
    op.issuer.hints["h"] = {"sub": session.sub, "aud": "rp1", "sid": session.sid}
    r = op.client.get(END, params={"id_token_hint": "h"})
    assert r.status_code == 200
    assert len(op.posted) == 1
    request = op.posted[0]
    assert str(request.url) == "https://rp.example/bc"
    body = parse_qs(request.content.decode())
    token = jwt.decode(body["logout_token"][0], op.deps.keys.key, algorithms=["RS256"])
    assert token.header["typ"] == "logout+jwt"
    assert token.header["kid"] == "k1"
    claims = token.claims
    assert claims["iss"] == "http://testserver.local"
    assert claims["aud"] == "rp1"
    assert claims["sub"] == session.sub
    assert claims["sid"] == session.sid
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims


def test_back_channel_failure_does_not_block_logout(op: Any) -> None:
    import httpx

    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("down", request=request)

    web = op.deps.extras["web"]
    op.client.portal.call(web.http.aclose)
    web.http = httpx.AsyncClient(transport=httpx.MockTransport(broken))
    session = signed_in_session(op, backchannel_logout_uri="https://rp.example/bc")
    op.issuer.hints["h"] = {"sub": session.sub, "aud": "rp1", "sid": session.sid}
    r = op.client.get(END, params={"id_token_hint": "h", "post_logout_redirect_uri": BYE})
    assert r.status_code == 303
    assert session.sid not in op.sessions.data
