"""Signing in through node-oidc-provider (the upstream OpenID Provider), with two oxAuth
processes: each sign-in starts at one and its callback lands at the other.

The first sign-in provisions a person (no password, the link, mapped attributes), the
second reaches the same person; the session is an ordinary oxAuth session (SSO, the ID
token's ``acr`` ``passport_social`` and ``amr`` ``["fed"]``); an e-mail collision follows
the provider's linking mode; a callback with a wrong state, from another browser, or
replayed is refused with a 4xx page, logged, and provisions nobody.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from tests.passport.conftest import (
    ACCOUNTS,
    CB,
    RUN,
    TAKEN,
    TAKEN_TOO,
    Browser,
    Passport,
    code_of,
    refused_page,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def providers(passport: Passport, node_op: str) -> dict[str, Any]:
    added = {
        "node": passport.add_provider("node", node_op, "--name", "Node OP"),
        "nodelink": passport.add_provider("nodelink", node_op, "--linking", "link_by_email"),
        "nodedeny": passport.add_provider("nodedeny", node_op, "--linking",
                                          "deny_on_collision"),
        "nodeonly": passport.add_provider("nodeonly", node_op, "--linking", "existing_only"),
    }
    time.sleep(2)  # every oxAuth process follows the store within a second
    return added


def id_token(passport: Passport, client: Any, code: str, at: int = 0) -> dict[str, Any]:
    with passport.servers[at].client() as http:
        r = http.post("/oxauth/restv1/token", auth=(client.client_id, client.client_secret),
                      data={"grant_type": "authorization_code", "code": code,
                            "redirect_uri": CB})
        assert r.status_code == 200, r.text
        keys = KeySet.import_key_set(http.get("/oxauth/restv1/jwks").json())
    claims: dict[str, Any] = jwt.decode(r.json()["id_token"], keys,
                                        algorithms=["RS256"]).claims
    return claims


def test_first_sign_in_provisions_then_links(passport: Passport, providers: dict[str, Any],
                                             new_browser: Callable[[], Browser]) -> None:
    client = passport.client()
    login = f"ann{RUN}"
    link = f"passport-node:{login}"
    assert passport.linked(link) is None
    done = new_browser().sign_in(client, "node", login, start_at=0, finish_at=1)
    claims = id_token(passport, client, code_of(done))
    assert claims["acr"] == "passport_social" and claims["amr"] == ["fed"]
    person = passport.linked(link)
    assert person is not None and claims["sub"] == person.inum
    # mapped from userinfo (node-oidc-provider sends email and profile there)
    assert person.uid == login and person.email == ACCOUNTS[login]["email"]
    assert person.given_name == "Ann" and person.family_name == "Upstream"
    assert person.email_verified is True
    assert not passport.has_password(person.inum)
    # the second sign-in, another browser, the other way round: the same person
    again = new_browser().sign_in(client, "node", login, start_at=1, finish_at=0)
    assert id_token(passport, client, code_of(again))["sub"] == person.inum
    assert len(passport.with_email(ACCOUNTS[login]["email"])) == 1
    shown = passport.cli("users", "show", login)
    assert shown.returncode == 0, shown.stderr
    assert f'"links": ["{link}"]' in shown.stdout


def test_the_session_is_an_ordinary_sso_session(passport: Passport, providers: dict[str, Any],
                                                new_browser: Callable[[], Browser]) -> None:
    browser = new_browser()
    done = browser.sign_in(passport.client(), "node", f"bob{RUN}")
    code_of(done)
    # another application: no sign-in page, a code at once (SSO), on either node
    other = passport.client()
    for at in (0, 1):
        sso = browser.authorize(other, at)
        claims = id_token(passport, other, code_of(sso))
        assert claims["acr"] == "passport_social" and claims["amr"] == ["fed"]
    # an application that requires the password (an essential acr, Core 5.5.1.1) is not
    # served by this federated session: the sign-in page, or login_required
    import json

    wanted = json.dumps({"id_token": {"acr": {"essential": True,
                                              "values": ["simple_password_auth"]}}})
    page = browser.authorize(other, 0, claims=wanted)
    assert page.status_code == 200 and 'name="password"' in page.text
    none = browser.authorize(other, 1, claims=wanted, prompt="none")
    assert none.status_code == 302 and "error=login_required" in none.headers["location"]


def test_idp_hint_goes_straight_to_the_provider(passport: Passport, providers: dict[str, Any],
                                                new_browser: Callable[[], Browser]) -> None:
    browser = new_browser()
    client = passport.client()
    start = browser.authorize(client, 0, idp_hint="node", acr_values="passport_social")
    assert start.status_code == 302
    assert start.headers["location"].startswith("/passport/auth/node?authz=")
    upstream = browser.http.get(browser.ours(start.headers["location"], 0))
    assert upstream.status_code == 302 and "code_challenge_method=S256" in \
        upstream.headers["location"]
    back = browser.upstream(upstream, f"carl{RUN}")
    done = browser.http.get(browser.callback_url(back, 1))
    assert id_token(passport, client, code_of(done))["acr"] == "passport_social"
    # an unknown hint shows the ordinary page, with a button per enabled provider
    page = new_browser().authorize(client, 0, idp_hint="nope")
    assert page.status_code == 200 and 'name="password"' in page.text
    assert "Sign in with Node OP" in page.text and "/passport/auth/nodelink?" in page.text


def test_email_collision_follows_the_mode(passport: Passport, providers: dict[str, Any],
                                          new_browser: Callable[[], Browser]) -> None:
    client = passport.client()
    local = passport.person(uid=f"local{RUN}", email=TAKEN)
    local_too = passport.person(uid=f"localtoo{RUN}", email=TAKEN_TOO)
    verified, unverified = f"verified{RUN}", f"unverified{RUN}"
    # create (default) and deny_on_collision: the e-mail is taken -> refused
    for provider in ("node", "nodedeny"):
        refused = new_browser().sign_in(client, provider, verified)
        refused_page(refused, 403, "e-mail address is used by another account")
        assert passport.linked(f"passport-{provider}:{verified}") is None
    # link_by_email, unverified e-mail -> refused
    refused = new_browser().sign_in(client, "nodelink", unverified)
    refused_page(refused, 403, "did not assert it is verified")
    # existing_only, nobody linked -> refused
    refused = new_browser().sign_in(client, "nodeonly", verified)
    refused_page(refused, 403, "existing_only")
    assert passport.links(local.inum) == [] and passport.links(local_too.inum) == []
    assert [p.inum for p in passport.with_email(TAKEN)] == [local.inum]
    assert [p.inum for p in passport.with_email(TAKEN_TOO)] == [local_too.inum]
    # link_by_email, verified e-mail -> the local person, linked
    done = new_browser().sign_in(client, "nodelink", verified)
    assert id_token(passport, client, code_of(done))["sub"] == local.inum
    assert passport.links(local.inum) == [f"passport-nodelink:{verified}"]
    assert passport.has_password(local.inum)  # untouched
    # now linked: existing_only still refuses (its own link is another), the linked
    # provider lets them in again
    again = new_browser().sign_in(client, "nodelink", verified)
    assert id_token(passport, client, code_of(again))["sub"] == local.inum
    # a link removed from the CLI: the next sign-in follows the mode again
    done_cli = passport.cli("users", "unlink", local.uid, "--link",
                            f"passport-nodelink:{verified}")
    assert done_cli.returncode == 0, done_cli.stderr
    assert passport.links(local.inum) == []
    bad = passport.cli("users", "unlink", local.uid, "--link", "passport-x:y")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "link" in bad.stderr
    assert "refused" in passport.logs() and "Traceback" not in passport.logs()


def test_tampered_callbacks_are_refused(passport: Passport, providers: dict[str, Any],
                                        new_browser: Callable[[], Browser]) -> None:
    client = passport.client()
    login = f"dave{RUN}"
    before = passport.linked(f"passport-nodedeny:{login}")
    assert before is None
    browser = new_browser()
    start = browser.start(client, "nodedeny")
    back = browser.upstream(start, login)
    url = browser.callback_url(back, 1)
    # a wrong state
    wrong = browser.http.get(url.replace("state=", "state=x"))
    refused_page(wrong, 400, "state is unknown")
    # the right callback from another browser (no cookie of the one that started it)
    stranger = new_browser()
    refused_page(stranger.http.get(url), 400, "not come from the browser")
    # the stranger tried first: the owner still finishes (its state was not spent)...
    done = browser.http.get(url)
    code_of(done)
    # ... once: the same callback again (state and code replayed) is refused
    refused_page(browser.http.get(url), 400, "already used")
    assert passport.linked(f"passport-nodedeny:{login}") is not None
    # a disabled provider: no button, no start
    assert passport.cli("providers", "disable", "nodeonly").returncode == 0
    time.sleep(2)
    page = new_browser().authorize(client)
    assert "/passport/auth/nodeonly?" not in page.text
    assert "/passport/auth/node?" in page.text
    gone = browser.http.get(browser.ours(start.request.url.raw_path.decode(), 0)
                            .replace("nodedeny", "nodeonly"))
    refused_page(gone, 404, "no such provider")
    assert passport.cli("providers", "enable", "nodeonly").returncode == 0
    logs = passport.logs()
    assert "sign-in refused: the state is unknown" in logs
    assert "sign-in refused: the callback did not come from the browser" in logs


def test_a_node_lost_between_start_and_callback(
        passport: Passport, providers: dict[str, Any], oxauth_servers: Callable[..., Any],
        new_browser: Callable[[], Browser]) -> None:
    """The process that started the sign-in is stopped before the provider sends the
    browser back: another process finishes it (the state is in the shared cache)."""
    from tests.passport.conftest import ISSUER

    doomed = oxauth_servers(issuer=ISSUER, dev=True)
    browser = new_browser()
    browser.servers = [doomed, passport.servers[1]]
    client = passport.client()
    start = browser.start(client, "node", 0)
    doomed.daemon.stop()
    back = browser.upstream(start, f"bob{RUN}")
    done = browser.http.get(browser.callback_url(back, 1))
    assert id_token(passport, client, code_of(done), at=1)["acr"] == "passport_social"


def test_consent_and_logout_as_after_a_password(
        passport: Passport, providers: dict[str, Any],
        new_browser: Callable[[], Browser]) -> None:
    """An application that is not trusted asks consent after the upstream sign-in; logout
    with the ID token ends the session: the next authorization shows the sign-in page."""
    import re

    browser = new_browser()
    untrusted = passport.tools.add_client(name="Untrusted", redirect_uris=[CB],
                                          scopes=["openid", "profile", "email"])
    page = browser.sign_in(untrusted, "node", f"ann{RUN}", start_at=1, finish_at=0)
    assert page.status_code == 200 and 'name="decision"' in page.text, page.text[:500]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                             page.text))
    allowed = browser.http.post(browser.ours("/oxauth/consent", 0),
                                data={**fields, "decision": "allow"})
    claims = id_token(passport, untrusted, code_of(allowed))
    assert claims["amr"] == ["fed"]
    # the ID token the client got names this session: logout ends it at once
    code = code_of(browser.authorize(untrusted, 1))
    with passport.servers[0].client() as http:
        hint = http.post("/oxauth/restv1/token",
                         auth=(untrusted.client_id, untrusted.client_secret or ""),
                         data={"grant_type": "authorization_code", "code": code,
                               "redirect_uri": CB}).json()["id_token"]
    out = browser.http.get(browser.ours("/oxauth/restv1/end_session", 1),
                           params={"id_token_hint": hint})
    assert out.status_code == 200, out.text[:300]
    again = browser.authorize(untrusted, 0)
    assert again.status_code == 200 and 'name="password"' in again.text
