"""Issue 10's remaining settings in real headless Chromium against a real oxTrust and real
oxAuth processes: the branding set in the UI is on the sign-in page of a second oxAuth
process at once (no restart), the pages follow the browser's language, fit 360 px; the
default acr and session lifetime, SMTP (password encrypted, never shown) and sector
identifiers set through the UI."""

from __future__ import annotations

import base64
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tests.oxauth.conftest import DirectoryTools, Server, start_server
from tests.oxtrust.test_ui_browser import (  # noqa: F401  (fixtures)
    RP,
    admin,
    browser,
    sign_in,
    ui,
)

from oxswarm.config import keys as K
from oxswarm.config import smtp
from oxswarm.directory.sectors import SectorRepository
from oxswarm.local.process import wait_until
from oxswarm.local.stack import Stack
from oxswarm.oxauth import branding as B
from oxswarm.oxauth.policy import FETCH_HTTP, read_policy
from oxswarm.oxtrust import audit

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("restore")]


def png(width: int = 40, height: int = 20, rgb: tuple[int, int, int] = (200, 30, 90)) -> bytes:
    """A real PNG image (IHDR, one IDAT, IEND) of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (B.PNG_MAGIC + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def second(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second oxAuth process on the same stack (started before any change)."""
    server = start_server(stack, tmp_path_factory.mktemp("oxauth-2"))
    try:
        yield server
    finally:
        server.daemon.stop()


@pytest.fixture(scope="module")
def restore(stack: Stack) -> Iterator[None]:
    names = [*B.NAMES, K.OXAUTH_SESSION_LIFETIME, K.OXAUTH_DEFAULT_ACR, *smtp.CONFIG_NAMES]
    manager = stack.manager()
    before = {name: manager.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                manager.store.delete(manager.config_key(name))
            else:
                manager.set(name, value)
        manager.store.delete(manager.secret_key(smtp.PASSWORD))
        manager.store.close()


def sign_in_page(browser: object, ui: Server, **context: object) -> object:  # noqa: F811
    """A fresh browser (no session) on oxAuth's sign-in page, as oxTrust sends it there."""
    page = browser.new_context(**context).new_page()  # type: ignore[attr-defined]
    page.goto(ui.url + "/identity")
    assert "/oxauth/" in page.url
    return page


def events(stack: Stack, action: str) -> list[audit.AuditEvent]:
    with stack.directory() as directory:
        return [e for e in audit.page(directory, limit=1000).events if e.action == action]


def test_branding_set_in_the_ui_is_on_every_oxauth_at_once(
        admin: object, browser: object, ui: Server, second: Server,  # noqa: F811
        *, stack: Stack, tmp_path: Path) -> None:
    logo = tmp_path / "brand-logo.png"
    logo.write_bytes(png())
    page = admin
    page.goto(ui.url + "/identity/branding")  # type: ignore[attr-defined]
    page.fill("#oxauth_brand_name", "Acme Identity")  # type: ignore[attr-defined]
    page.fill("#oxauth_brand_color", "#7a1f9c")  # type: ignore[attr-defined]
    page.fill("#oxauth_brand_background", "#fff7e6")  # type: ignore[attr-defined]
    page.set_input_files("#oxauth_brand_logo", str(logo))  # type: ignore[attr-defined]
    page.click("button:has-text('Save branding')")  # type: ignore[attr-defined]
    assert "Saved" in page.locator(".ok").inner_text()  # type: ignore[attr-defined]
    saved_at = time.monotonic()
    assert page.locator("#current-logo").evaluate("i => i.naturalWidth") == 40  # type: ignore[attr-defined]
    page.goto(ui.url + "/identity/config")  # type: ignore[attr-defined]
    shown = page.locator("#config-json").inner_text()  # type: ignore[attr-defined]
    b64 = len(base64.b64encode(png()))
    assert f'"oxauth_brand_logo": "({b64} characters of base64: Branding shows it)"' in shown
    assert "BEGIN CERTIFICATE" in shown  # other long values in full
    found = events(stack, "ui.branding.update")
    assert found and found[0].actor == "admin"
    assert found[0].detail["logo"] == f"{len(png())} bytes image/png"
    signin = sign_in_page(browser, ui)
    wait_until(lambda: (signin.reload() or True)  # type: ignore[attr-defined]
               and signin.locator("#brand-name").inner_text() == "Acme Identity",  # type: ignore[attr-defined]
               20, "the branding on the sign-in page")
    assert signin.locator("#brand-logo").evaluate("i => i.naturalWidth") == 40  # type: ignore[attr-defined]
    colour = signin.locator("button[type=submit]").evaluate(  # type: ignore[attr-defined]
        "b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(122, 31, 156)"
    background = signin.evaluate("getComputedStyle(document.body).backgroundColor")  # type: ignore[attr-defined]
    assert background == "rgb(255, 247, 230)"
    # the second oxAuth process, started before the change, shows it too (no restart)
    query = urlsplit(signin.url).query  # type: ignore[attr-defined]
    other = browser.new_context().new_page()  # type: ignore[attr-defined]
    other.goto(f"{second.url}/oxauth/restv1/authorize?{query}")
    wait_until(lambda: (other.reload() or True)
               and other.locator("#brand-name").inner_text() == "Acme Identity", 20,
               "the branding on the second process")
    print(f"the second oxAuth shows the branding {time.monotonic() - saved_at:.2f}s after save")
    assert other.locator("#brand-logo").evaluate("i => i.naturalWidth") == 40
    assert other.locator("button[type=submit]").evaluate(
        "b => getComputedStyle(b).backgroundColor") == "rgb(122, 31, 156)"


def test_a_bad_logo_or_colour_is_named_and_nothing_written(
        admin: object, ui: Server, stack: Stack, tmp_path: Path) -> None:  # noqa: F811
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    manager = stack.manager()
    try:
        before = {name: manager.get(name) for name in B.NAMES}
        admin.goto(ui.url + "/identity/branding")  # type: ignore[attr-defined]
        admin.fill("#oxauth_brand_name", "Never Saved")  # type: ignore[attr-defined]
        admin.set_input_files("#oxauth_brand_logo", str(svg))  # type: ignore[attr-defined]
        admin.click("button:has-text('Save branding')")  # type: ignore[attr-defined]
        error = admin.locator("#oxauth_brand_logo-error").inner_text()  # type: ignore[attr-defined]
        assert error.startswith("oxauth_brand_logo: not a PNG or JPEG")
        assert admin.locator("#oxauth_brand_logo").get_attribute("aria-invalid") == "true"  # type: ignore[attr-defined]
        assert {name: manager.get(name) for name in B.NAMES} == before
        # a colour that is not #rrggbb, sent as a form would (the colour picker cannot)
        token = admin.locator("input[name=csrf_token]").first.get_attribute("value")  # type: ignore[attr-defined]
        r = admin.request.post(ui.url + "/identity/branding", multipart={  # type: ignore[attr-defined]
            "csrf_token": token, "oxauth_brand_color": "red;}body{display:none",
            "oxauth_brand_background": "#ffffff", "oxauth_brand_name": "x"})
        assert r.status == 400 and 'id="oxauth_brand_color-error"' in r.text()
        assert {name: manager.get(name) for name in B.NAMES} == before
    finally:
        manager.store.close()


def test_sign_in_page_in_french_fits_360px_and_a_desktop(
        browser: object, ui: Server) -> None:  # noqa: F811
    for viewport in ({"width": 360, "height": 740}, {"width": 1280, "height": 800}):
        page = sign_in_page(browser, ui, viewport=viewport, locale="fr-FR")
        assert page.locator("html").get_attribute("lang") == "fr"  # type: ignore[attr-defined]
        assert page.locator("h1").inner_text() == "Se connecter"  # type: ignore[attr-defined]
        assert page.locator("label[for=password]").inner_text() == "Mot de passe"  # type: ignore[attr-defined]
        width = viewport["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # type: ignore[attr-defined]
        box = page.locator("#username").bounding_box()  # type: ignore[attr-defined]
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        if width == 360:
            assert box["width"] >= 250  # the field uses the phone's width
        else:
            assert page.locator("main").bounding_box()["width"] <= 500  # type: ignore[attr-defined]
        sign_in(page, "admin", "not the password")
        assert page.locator("#login-error").inner_text() == \
            "L’identifiant ou le mot de passe est incorrect."  # type: ignore[attr-defined]
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # type: ignore[attr-defined]
        page.context.close()  # type: ignore[attr-defined]


def test_default_acr_and_session_lifetime_in_the_ui(
        admin: object, ui: Server, stack: Stack) -> None:  # noqa: F811
    admin.goto(ui.url + "/identity/policy")  # type: ignore[attr-defined]
    options = admin.locator("#oxauth_default_acr option").all_inner_texts()  # type: ignore[attr-defined]
    assert options == ["simple_password_auth", "passport_social", "passport_saml"]
    admin.fill("#oxauth_session_lifetime", "5")  # type: ignore[attr-defined]
    admin.click("button:has-text('Save policy')")  # type: ignore[attr-defined]
    error = admin.locator("#oxauth_session_lifetime-error").inner_text()  # type: ignore[attr-defined]
    assert error == "oxauth_session_lifetime: 5 must be at least 10"
    admin.fill("#oxauth_session_lifetime", "7200")  # type: ignore[attr-defined]
    admin.select_option("#oxauth_default_acr", "simple_password_auth")  # type: ignore[attr-defined]
    admin.click("button:has-text('Save policy')")  # type: ignore[attr-defined]
    assert "Saved" in admin.locator(".ok").inner_text()  # type: ignore[attr-defined]
    manager = stack.manager()
    try:
        assert manager.get(K.OXAUTH_SESSION_LIFETIME) == "7200"
        assert manager.get(K.OXAUTH_DEFAULT_ACR) == "simple_password_auth"
    finally:
        manager.store.close()
    assert events(stack, "ui.policy.update")[0].detail[K.OXAUTH_SESSION_LIFETIME] == "7200"


def test_fetch_networks_in_the_ui(admin: object, ui: Server, stack: Stack) -> None:  # noqa: F811
    admin.goto(ui.url + "/identity/policy")  # type: ignore[attr-defined]
    admin.fill(f"#{FETCH_HTTP}", "10.9.0.0/33")  # type: ignore[attr-defined]
    admin.click("button:has-text('Save policy')")  # type: ignore[attr-defined]
    error = admin.locator(f"#{FETCH_HTTP}-error").inner_text()  # type: ignore[attr-defined]
    assert FETCH_HTTP in error and "10.9.0.0/33" in error
    admin.fill(f"#{K.OXAUTH_FETCH_ALLOW}", "10.9.0.0/16")  # type: ignore[attr-defined]
    admin.fill(f"#{FETCH_HTTP}", "10.9.1.0/24")  # type: ignore[attr-defined]
    admin.click("button:has-text('Save policy')")  # type: ignore[attr-defined]
    assert "Saved" in admin.locator(".ok").inner_text()  # type: ignore[attr-defined]
    manager = stack.manager()
    try:
        policy = read_policy(manager.get)
        assert [str(n) for n in policy.fetch_allow] == ["10.9.0.0/16"]
        assert [str(n) for n in policy.fetch_http] == ["10.9.1.0/24"]
        manager.set(K.OXAUTH_FETCH_ALLOW, "[]")
        manager.store.delete(manager.config_key(FETCH_HTTP))
    finally:
        manager.store.close()


def test_smtp_password_stored_encrypted_and_never_shown(
        admin: object, ui: Server, stack: Stack) -> None:  # noqa: F811
    secret = "Smtp-pass-9f3c1d"
    admin.goto(ui.url + "/identity/config")  # type: ignore[attr-defined]
    admin.fill("#smtp_host", "mail example")  # type: ignore[attr-defined]
    admin.fill("#smtp_from", "idp@example.org")  # type: ignore[attr-defined]
    admin.fill("#smtp_password", secret)  # type: ignore[attr-defined]
    admin.click("button:has-text('Save SMTP settings')")  # type: ignore[attr-defined]
    assert admin.locator("#smtp_host-error").inner_text().startswith("smtp_host: ")  # type: ignore[attr-defined]
    assert secret not in admin.content()  # type: ignore[attr-defined]
    admin.fill("#smtp_host", "mail.example.org")  # type: ignore[attr-defined]
    admin.select_option("#smtp_tls", "tls")  # type: ignore[attr-defined]
    admin.fill("#smtp_user", "idp")  # type: ignore[attr-defined]
    admin.fill("#smtp_password", secret)  # type: ignore[attr-defined]
    admin.click("button:has-text('Save SMTP settings')")  # type: ignore[attr-defined]
    assert admin.locator(".ok").count() == 1  # type: ignore[attr-defined]
    assert admin.locator("#smtp_password").input_value() == ""  # type: ignore[attr-defined]
    assert secret not in admin.content()  # type: ignore[attr-defined]
    shown = admin.locator("#config-json").inner_text()  # type: ignore[attr-defined]
    assert '"smtp_password": "**********"' in shown and '"smtp_host": "mail.example.org"' in shown
    manager = stack.manager()
    try:
        assert manager.get(smtp.PORT) == "465" and manager.get(smtp.TLS) == "tls"
        assert manager.get_secret(smtp.PASSWORD) == secret
        raw = manager.store.get(manager.secret_key(smtp.PASSWORD)) or b""
        assert raw and secret.encode() not in raw  # encrypted at rest
        assert manager.get(smtp.PASSWORD) is None  # never a plain value
    finally:
        manager.store.close()
    event = events(stack, "ui.config.smtp")[0]
    assert secret not in str(event.detail) and event.detail["smtp_host"] == "mail.example.org"
    # an empty password field keeps the stored one
    admin.fill("#smtp_user", "idp2")  # type: ignore[attr-defined]
    admin.click("button:has-text('Save SMTP settings')")  # type: ignore[attr-defined]
    manager = stack.manager()
    try:
        assert manager.get(smtp.USER) == "idp2" and manager.get_secret(smtp.PASSWORD) == secret
    finally:
        manager.store.close()


def test_sector_identifier_added_published_and_deleted(
        admin: object, browser: object, ui: Server, stack: Stack) -> None:  # noqa: F811
    admin.goto(ui.url + "/identity/sectors")  # type: ignore[attr-defined]
    admin.fill("#redirect_uris", "https://a.rp.example/cb\njavascript:alert(1)")  # type: ignore[attr-defined]
    admin.click("button:has-text('Add sector identifier')")  # type: ignore[attr-defined]
    error = admin.locator("#redirect_uris-error").inner_text()  # type: ignore[attr-defined]
    assert error.startswith("redirect_uris: 'javascript:alert(1)'")
    admin.fill("#redirect_uris", "https://a.rp.example/cb\nhttps://b.rp.example/cb")  # type: ignore[attr-defined]
    admin.fill("#description", "Portal apps")  # type: ignore[attr-defined]
    admin.click("button:has-text('Add sector identifier')")  # type: ignore[attr-defined]
    sector_id = admin.url.split("saved=")[1]  # type: ignore[attr-defined]
    row = admin.locator(f"#sector-{sector_id}")  # type: ignore[attr-defined]
    uri = row.locator("code").inner_text()
    assert uri.endswith(f"/oxauth/sectoridentifier/{sector_id}")
    with httpx.Client(trust_env=False, timeout=10) as http:  # published by oxAuth
        assert http.get(uri).json() == ["https://a.rp.example/cb", "https://b.rp.example/cb"]
    assert events(stack, "ui.sector.add")[0].target == sector_id
    phone = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 360, "height": 740},
        storage_state=admin.context.storage_state())  # type: ignore[attr-defined]
    listed = phone.new_page()
    listed.goto(ui.url + "/identity/sectors")
    assert listed.evaluate("document.documentElement.scrollWidth") <= 360
    phone.close()
    # a pairwise client in that sector: its redirect URIs must be listed in it
    admin.goto(ui.url + "/identity/clients/new")  # type: ignore[attr-defined]
    admin.fill("#name", "sector client")  # type: ignore[attr-defined]
    admin.fill("#redirect-uri", "https://a.rp.example/cb\nhttps://c.rp.example/cb")  # type: ignore[attr-defined]
    admin.select_option("#subject-type", "pairwise")  # type: ignore[attr-defined]
    admin.select_option("#sector-identifier-uri", uri)  # type: ignore[attr-defined]
    admin.click("button:has-text('Add client')")  # type: ignore[attr-defined]
    assert admin.locator("#sector-identifier-uri-error").inner_text() == (  # type: ignore[attr-defined]
        "sector-identifier-uri: redirect URI 'https://c.rp.example/cb' is not listed in the "
        "sector identifier")
    admin.fill("#redirect-uri", "https://a.rp.example/cb\nhttps://b.rp.example/cb")  # type: ignore[attr-defined]
    admin.click("button:has-text('Add client')")  # type: ignore[attr-defined]
    client_id = admin.locator("#client-id").inner_text()  # type: ignore[attr-defined]
    assert admin.locator("#sector-identifier-uri").input_value() == uri  # type: ignore[attr-defined]
    assert admin.locator("#subject-type").input_value() == "pairwise"  # type: ignore[attr-defined]
    admin.goto(ui.url + "/identity/sectors")  # type: ignore[attr-defined]
    admin.locator(f"#sector-{sector_id} button:has-text('Delete')").click()  # type: ignore[attr-defined]
    assert client_id in admin.locator("main").inner_text()  # type: ignore[attr-defined]
    with stack.directory() as directory:  # refused while the client names it
        assert sector_id in {s.id for s in SectorRepository(directory).list()}
    admin.goto(ui.url + f"/identity/clients/{client_id}")  # type: ignore[attr-defined]
    admin.click("button:has-text('Delete client')")  # type: ignore[attr-defined]
    admin.goto(ui.url + "/identity/sectors")  # type: ignore[attr-defined]
    row = admin.locator(f"#sector-{sector_id}")  # type: ignore[attr-defined]
    row.locator("button:has-text('Delete')").click()
    assert admin.locator(f"#sector-{sector_id}").count() == 0  # type: ignore[attr-defined]
    with stack.directory() as directory:
        assert sector_id not in {s.id for s in SectorRepository(directory).list()}
    assert events(stack, "ui.sector.delete")[0].target == sector_id


def test_pages_script_submits_form_post_and_leaves_the_signed_out_page(
        browser: object, oxauth: Server, ui: Server, stack: Stack,  # noqa: F811
        directory_tools: DirectoryTools) -> None:
    """The pages' only script is a file oxAuth serves, loaded with the response's nonce:
    the form_post response submits itself, the signed-out page (with its front-channel
    iframe) goes on to the post-logout redirect URI."""
    bye = "https://rp.example/bye"
    client = directory_tools.add_client(
        redirect_uris=[RP], post_logout_redirect_uris=[bye], trusted=True,
        response_types=["code"], grant_types=["authorization_code"],
        frontchannel_logout_uri=f"{ui.url}/identity/auth/signed-out")
    person = directory_tools.add_person("Pass-word-1", uid=f"fp{time.monotonic_ns()}")
    context = browser.new_context()  # type: ignore[attr-defined]
    posted: list[str] = []

    def rp(route: object) -> None:
        request = route.request  # type: ignore[attr-defined]
        posted.append(f"{request.method} {request.url} {request.post_data or ''}")
        route.fulfill(status=200, content_type="text/plain", body="rp")  # type: ignore[attr-defined]

    context.route("https://rp.example/**", rp)
    page = context.new_page()
    page.goto(f"{oxauth.url}/oxauth/restv1/authorize?client_id={client.client_id}"
              f"&redirect_uri={RP}&response_type=code&scope=openid&state=st1"
              "&response_mode=form_post")
    csp = page.evaluate("() => document.querySelector('script') === null")
    assert csp  # the sign-in page has no script at all
    sign_in(page, person.uid, "Pass-word-1")
    page.wait_for_url(RP)  # the form_post page submitted itself
    assert posted and posted[-1].startswith(f"POST {RP} ") and "state=st1" in posted[-1]
    assert "code=" in posted[-1]
    page.goto(f"{oxauth.url}/oxauth/restv1/end_session?client_id={client.client_id}"
              f"&post_logout_redirect_uri={bye}&state=s2")
    page.click("button[name=logout]")
    page.wait_for_url(f"{bye}?state=s2")  # past the signed-out page and its iframe
    assert posted[-1].startswith(f"GET {bye}?state=s2")
    context.close()
