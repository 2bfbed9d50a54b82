"""A dynamically registered client cannot switch the consent page off: ``skip_consent``,
``trusted`` and other policy in its registration are dropped, so a signed-in user who opens
its authorization URL is asked first (real processes, browser-like cookie jar)."""

from __future__ import annotations

import pytest
from tests.oxauth.web.conftest import CB, Browser, World, query

from oxswarm.directory.models import Client

pytestmark = pytest.mark.integration

POLICY = {"skip_consent": True, "trusted": True, "resource_server": True,
          "allow_password_grant": True, "consent": "none", "prompt": "none"}


def register(browser: Browser) -> Client:
    r = browser.post("/oxauth/restv1/register", json={
        "redirect_uris": [CB], "client_name": "Stranger", "scope": "openid profile email",
        **POLICY,
    })
    assert r.status_code == 201, r.text
    body = r.json()
    assert not set(POLICY) & set(body)
    return Client(client_id=body["client_id"], redirect_uris=[CB])


def test_registered_policy_does_not_skip_consent(browser: Browser, world: World) -> None:
    person = world.person()
    signed_in = browser.signed_in(world.client(), person)  # the user has a session
    assert signed_in.status_code == 303
    stranger = register(browser)
    page = browser.authorize(stranger, scope="openid profile email")
    assert page.status_code == 200
    assert 'name="decision"' in page.text and 'name="password"' not in page.text
    assert "Stranger" in page.text
    r = browser.consent(page, decision="deny")
    assert r.status_code == 303 and query(r)["error"] == ["access_denied"]


def test_trusted_set_by_an_administrator_skips_it(browser: Browser, world: World) -> None:
    """The control: the same flow with the administrator's flag goes straight through."""
    person = world.person()
    trusted = world.client(trusted=True)
    page = browser.login(browser.authorize(trusted), person)
    assert page.status_code == 303 and "code" in query(page)
