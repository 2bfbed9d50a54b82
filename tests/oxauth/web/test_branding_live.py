"""Branding, language, session lifetime and default acr on real oxAuth processes: a change
in the config store reaches both processes of the module without a restart."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator

import pytest

from oxswarm.config import keys as K
from oxswarm.local.process import wait_until
from oxswarm.local.stack import Stack
from oxswarm.oxauth import branding as B

from .conftest import Browser, World, query

pytestmark = pytest.mark.integration
PNG = B.PNG_MAGIC + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.fixture
def store(stack: Stack) -> Iterator[object]:
    """The config store; the values these tests set are put back afterwards."""
    manager = stack.manager()
    names = [*B.NAMES, K.OXAUTH_SESSION_LIFETIME, K.OXAUTH_DEFAULT_ACR]
    before = {name: manager.get(name) for name in names}
    try:
        yield manager
    finally:
        for name, value in before.items():
            if value is None:
                manager.store.delete(manager.config_key(name))
            else:
                manager.set(name, value)
        manager.store.close()


def shows(html: str) -> bool:
    return "Acme Identity" in html and 'id="brand-logo"' in html


def test_branding_reaches_every_process(browser: Browser, world: World, store: object) -> None:
    client = world.client()
    manager = store
    manager.set(B.NAME, "Acme Identity")  # type: ignore[attr-defined]
    manager.set(B.COLOR, "#7a1f9c")  # type: ignore[attr-defined]
    manager.set(B.LOGO, base64.b64encode(PNG).decode())  # type: ignore[attr-defined]
    began = time.monotonic()
    for at in (0, 1):
        wait_until(lambda at=at: shows(browser.authorize(client, at).text), 20,
                   f"process {at} shows the new name and logo")
    print(f"both processes show the branding {time.monotonic() - began:.2f}s after the store")
    page = browser.authorize(client, 1)
    version = re.search(r'style\.css\?v=([0-9a-f]{16})"', page.text)
    assert version and 'id="brand-logo"' in page.text
    csp = page.headers["content-security-policy"]
    assert "style-src 'self'" in csp and "img-src 'self'" in csp and "<style" not in page.text
    for at in (0, 1):  # the same stylesheet and logo from either process
        css = browser.get(f"/oxauth/branding/style.css?v={version.group(1)}", at)
        assert css.status_code == 200 and "--brand: #7a1f9c" in css.text
        assert css.headers["content-type"].startswith("text/css")
        assert css.headers["x-content-type-options"] == "nosniff"
        assert "max-age=86400" in css.headers["cache-control"]
        logo = browser.get(f"/oxauth/branding/logo?v={version.group(1)}", at)
        assert logo.status_code == 200 and logo.content == PNG
        assert logo.headers["content-type"] == "image/png"
        assert logo.headers["x-content-type-options"] == "nosniff"
    stale = browser.get("/oxauth/branding/style.css?v=0000000000000000", 0)
    assert stale.headers["cache-control"] == "no-cache"  # an old link is never kept
    # a malformed value is refused: both processes keep the branding they have
    manager.set(B.COLOR, "red; } body { display:none")  # type: ignore[attr-defined]
    time.sleep(3)
    for at in (0, 1):
        css = browser.get("/oxauth/branding/style.css", at)
        assert "--brand: #7a1f9c" in css.text and "display:none" not in css.text
    manager.store.delete(manager.config_key(B.LOGO))  # type: ignore[attr-defined]
    manager.set(B.COLOR, "#7a1f9c")  # type: ignore[attr-defined]
    wait_until(lambda: browser.get("/oxauth/branding/logo", 1).status_code == 404, 20,
               "the logo removed")


def test_pages_follow_accept_language(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    browser.http.headers["Accept-Language"] = "de;q=0.5, fr-CA;q=0.9, en;q=0.1"
    page = browser.authorize(client)
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text and "<h1>Se connecter</h1>" in page.text
    assert '<label for="password">Mot de passe</label>' in page.text
    assert page.headers["content-language"] == "fr"
    assert "Accept-Language" in page.headers["vary"]
    wrong = browser.login(page, person, "not the password", at=1)
    assert wrong.status_code == 401
    assert "L’identifiant ou le mot de passe est incorrect." in wrong.text
    consent = browser.login(wrong, person, at=0)
    assert consent.status_code == 200 and "Autoriser l’accès ?" in consent.text
    assert "Vous connecter avec l’identifiant de votre compte" in consent.text
    bad = browser.get("/oxauth/restv1/authorize")  # no client_id: an error page
    assert bad.status_code == 400 and "La demande ne peut pas aboutir" in bad.text
    browser.http.headers["Accept-Language"] = "de-AT"
    german = browser.authorize(client, prompt="login")
    assert '<html lang="de">' in german.text and "Benutzername" in german.text
    browser.http.headers["Accept-Language"] = "it, es;q=0.5"
    english = browser.authorize(client, prompt="login")
    assert '<html lang="en">' in english.text and "<h1>Sign in</h1>" in english.text
    browser.http.headers["Accept-Language"] = "fr"
    chosen = browser.authorize(client, prompt="login", ui_locales="de")  # ui_locales first
    assert '<html lang="de">' in chosen.text
    discovery = browser.get("/.well-known/openid-configuration").json()
    assert discovery["ui_locales_supported"] == ["en", "de", "fr"]


def test_session_lifetime_is_honoured(browser: Browser, world: World, store: object) -> None:
    manager = store
    manager.set(K.OXAUTH_SESSION_LIFETIME, "10")  # type: ignore[attr-defined]
    client, person = world.client(trusted=True), world.person()
    time.sleep(2)  # both processes follow the store within a second or two
    done = browser.signed_in(client, person)
    assert done.status_code == 303
    cookie = [v for k, v in done.headers.multi_items() if k == "set-cookie"]
    assert any("Max-Age=10" in c for c in cookie), cookie
    assert "code" in query(browser.authorize(client, 1, prompt="none"))  # SSO, other process
    time.sleep(11)
    assert query(browser.authorize(client, 0, prompt="none"))["error"] == ["login_required"]
    # a longer lifetime applies to a new session at once, lowering it ends older ones
    manager.set(K.OXAUTH_SESSION_LIFETIME, "86400")  # type: ignore[attr-defined]
    time.sleep(2)
    assert browser.signed_in(client, person).status_code == 303
    assert "code" in query(browser.authorize(client, 1, prompt="none"))
    manager.set(K.OXAUTH_SESSION_LIFETIME, "10")  # type: ignore[attr-defined]
    time.sleep(11)
    assert query(browser.authorize(client, 1, prompt="none"))["error"] == ["login_required"]


def test_default_acr(browser: Browser, world: World, store: object) -> None:
    manager = store
    client, person = world.client(trusted=True), world.person()
    manager.set(K.OXAUTH_DEFAULT_ACR, "simple_password_auth")  # type: ignore[attr-defined]
    time.sleep(2)
    done = browser.signed_in(client, person, acr_values="urn:unknown:acr")
    claims = world.id_token(world.redeem(client, query(done)["code"][0])["id_token"])
    assert claims["acr"] == "simple_password_auth"
    manager.set(K.OXAUTH_DEFAULT_ACR, "urn:unsupported")  # type: ignore[attr-defined]
    time.sleep(3)  # refused by both processes (logged), which keep the one they have
    other = Browser(browser.servers)
    try:
        done = other.signed_in(client, person, at=1)
        claims = world.id_token(world.redeem(client, query(done)["code"][0])["id_token"])
        assert claims["acr"] == "simple_password_auth"
    finally:
        other.close()
    assert "oxauth_default_acr" in world.servers[1].daemon.tail(60)
