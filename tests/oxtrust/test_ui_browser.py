"""The admin UI in real headless Chromium (Debian's ``chromium``, driven by Playwright)
against a real oxAuth and a real ``oxswarm run oxtrust`` on the local stack.

Sign in as admin through oxAuth (code + PKCE), add a person who then signs in at a
relying party registered through the UI, add a client and use it, rotate the keys, a
non-admin gets 403, a change without its CSRF token is refused, a 360 px screen.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from tests.oxauth.conftest import DirectoryTools, Server

from oxswarm.config import keys as K
from oxswarm.directory.bootstrap import allow_oxtrust_at, oxtrust_uris
from oxswarm.directory.clients import ClientRepository
from oxswarm.local.process import Daemon, free_port
from oxswarm.local.stack import Stack
from oxswarm.oxtrust import audit

playwright = pytest.importorskip("playwright.sync_api")  # a test extra (pyproject)
CHROMIUM = "/usr/bin/chromium"
RP = "https://rp.example/cb"
pytestmark = pytest.mark.integration


def start_ui(stack: Stack, oxauth: Server, workdir: Path) -> Server:
    """``oxswarm run oxtrust`` with the UI, its client's URIs made to match (as dev up)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    manager = stack.manager()
    try:
        client_id = manager.get(K.OXAUTH_CLIENT_ID) or ""
    finally:
        manager.store.close()
    with stack.directory() as directory:
        allow_oxtrust_at(ClientRepository(directory, stack.box()), client_id, url)
    argv = [
        sys.executable, "-m", "oxswarm", "run", "oxtrust",
        "--store", stack.store_url, "--cluster", stack.cluster,
        "--master-key-file", str(stack.master_key_file),
        "--bind", f"127.0.0.1:{port}", "--cache", stack.cache_address,
        "--ldap-url", stack.ldap_urls[0], "--public-url", url, "--oxauth-url", oxauth.url,
    ]  # fmt: skip
    daemon = Daemon(f"oxtrust-ui-{port}", argv, workdir, env={"PYTHONUNBUFFERED": "1"}).start()
    try:
        daemon.wait_tcp("127.0.0.1", port, timeout=60)
        accepts_callback(oxauth, client_id, oxtrust_uris(url)[0])
    except BaseException:
        daemon.stop()  # no UI left running when the fixture fails
        raise
    return Server(daemon, url)


def accepts_callback(oxauth: Server, client_id: str, callback: str, timeout: float = 15.0) -> None:
    """Until oxAuth takes ``callback`` for the client: a running oxAuth keeps a client it
    read for a few seconds (its client cache), so a URI added just now may not be seen yet;
    an unknown redirect URI is a 400 page, a known one the sign-in page or a redirect."""
    query = urlencode({"client_id": client_id, "redirect_uri": callback,
                       "response_type": "code", "scope": "openid"})
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(f"{oxauth.url}/oxauth/restv1/authorize?{query}", trust_env=False,
                      follow_redirects=False, timeout=10)
        if r.status_code < 400:
            return
        assert time.monotonic() < deadline, f"oxAuth refuses {callback}: {r.status_code}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def ui(stack: Stack, oxauth: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_ui(stack, oxauth, tmp_path_factory.mktemp("oxtrust-ui"))
    try:
        yield server
    finally:
        server.daemon.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def sign_in(page: object, username: str, password: str) -> None:
    page.fill("#username", username)  # type: ignore[attr-defined]
    page.fill("#password", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def admin(browser: object, ui: Server, stack: Stack) -> Iterator[object]:
    """A page signed in as config-init's ``admin``."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(ui.url + "/")
    assert "/oxauth/" in page.url  # no session: sent to oxAuth's sign-in
    sign_in(page, "admin", stack.admin_password)
    page.wait_for_url(ui.url + "/identity")
    assert page.locator("h1").inner_text() == "Dashboard"
    yield page
    context.close()


def add_client(
    page: object, ui: Server, name: str, grants: list[str], **fields: str
) -> tuple[str, str]:
    page.goto(ui.url + "/identity/clients/new")  # type: ignore[attr-defined]
    page.fill("#name", name)  # type: ignore[attr-defined]
    for box in page.locator("input[name=grant-type]").all():  # type: ignore[attr-defined]
        box.set_checked(box.get_attribute("value") in grants)
    for field, value in fields.items():
        if field in ("auth-method", "access-token-format"):
            page.select_option(f"#{field}", value)  # type: ignore[attr-defined]
        else:
            page.fill(f"#{field}", value)  # type: ignore[attr-defined]
    page.click("button:has-text('Add client')")  # type: ignore[attr-defined]
    client_id = page.locator("#client-id").inner_text()  # type: ignore[attr-defined]
    secret = page.locator("#client-secret").inner_text()  # type: ignore[attr-defined]
    return client_id, secret


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_added_person_signs_in_at_a_relying_party_added_in_the_ui(
    admin: object, browser: object, ui: Server, oxauth: Server, stack: Stack
) -> None:
    page = admin
    uid = f"ui{uuid.uuid4().hex[:8]}"
    page.goto(ui.url + "/identity/people/new")  # type: ignore[attr-defined]
    for field, value in (("uid", uid), ("given_name", "Ada"), ("family_name", "Lovelace"),
                         ("email", f"{uid}@example.org"), ("password", "Correct-horse-9"),
                         ("password_confirm", "Correct-horse-9")):
        page.fill(f"#{field}", value)  # type: ignore[attr-defined]
    page.click("button:has-text('Add person')")  # type: ignore[attr-defined]
    assert page.locator(".ok").inner_text() == "Saved."  # type: ignore[attr-defined]
    inum = page.url.split("/identity/people/")[1].split("?")[0]  # type: ignore[attr-defined]
    with stack.directory() as directory:  # the change is in the audit log, by admin
        events = audit.page(directory, limit=1000).events
        stored = directory.read(f"inum={inum},ou=people,o=gluu", ["userPassword"])
    assert stored.all("userPassword")[0].startswith("{ARGON2}$argon2id$v=19$m=7168,t=5,p=1$")
    added = [e for e in events if e.action == "ui.person.add" and e.target == inum]
    assert [(e.actor, e.address) for e in added] == [("admin", "127.0.0.1")]

    # a group with that person (and a wrong username named beside its field)
    page.goto(ui.url + "/identity/groups")  # type: ignore[attr-defined]
    page.fill("#display_name", f"Readers {uid}")  # type: ignore[attr-defined]
    page.click("button:has-text('Add group')")  # type: ignore[attr-defined]
    page.fill("#member_uid", "nobody-" + uid)  # type: ignore[attr-defined]
    page.click("button:has-text('Add member')")  # type: ignore[attr-defined]
    assert "member_uid" in page.locator("#member_uid-error").inner_text()  # type: ignore[attr-defined]
    page.fill("#member_uid", uid)  # type: ignore[attr-defined]
    page.click("button:has-text('Add member')")  # type: ignore[attr-defined]
    assert page.locator(f"text=Remove {uid}").count() == 1  # type: ignore[attr-defined]
    page.goto(f"{ui.url}/identity/people/{inum}")  # type: ignore[attr-defined]
    assert page.locator(f"text=Readers {uid}").count() == 1  # type: ignore[attr-defined]

    # bad input: the one validator's refusal stands beside its field, nothing is added
    page.goto(ui.url + "/identity/clients/new")  # type: ignore[attr-defined]
    page.fill("#name", "Bad")  # type: ignore[attr-defined]
    page.fill("#redirect-uri", "not a uri")  # type: ignore[attr-defined]
    page.click("button:has-text('Add client')")  # type: ignore[attr-defined]
    assert "redirect-uri" in page.locator("#redirect-uri-error").inner_text()  # type: ignore[attr-defined]

    client_id, secret = add_client(page, ui, "Test RP", ["authorization_code"],
                                   **{"redirect-uri": RP, "scope": "openid profile"})
    verifier, challenge = pkce()
    context = browser.new_context()  # type: ignore[attr-defined]
    person = context.new_page()
    landed: list[str] = []
    person.route("https://rp.example/**", lambda route: (landed.append(route.request.url),
                                                         route.fulfill(body="ok")))
    person.goto(oxauth.url + "/oxauth/restv1/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": RP,
        "scope": "openid profile", "state": "s1", "nonce": "n1",
        "code_challenge": challenge, "code_challenge_method": "S256"}))
    sign_in(person, uid, "Correct-horse-9")
    deadline = time.monotonic() + 10
    while not landed and time.monotonic() < deadline:
        if person.locator("button[value=allow]").count():
            person.click("button[value=allow]")
        person.wait_for_timeout(100)
    context.close()
    code = parse_qs(urlsplit(landed[0]).query)["code"][0]
    with oxauth.client() as http:
        r = http.post("/oxauth/restv1/token", auth=(client_id, secret), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": RP,
            "code_verifier": verifier})
        assert r.status_code == 200, r.text
        keys = KeySet.import_key_set(http.get("/oxauth/restv1/jwks").json())
    claims = jwt.decode(r.json()["id_token"], keys).claims
    assert claims["sub"] == inum
    assert claims["aud"] in (client_id, [client_id])


def test_client_added_in_the_ui_gets_tokens_and_keys_rotate(
    admin: object, ui: Server, oxauth: Server
) -> None:
    client_id, secret = add_client(admin, ui, "Machine", ["client_credentials"],
                                   **{"access-token-format": "jwt", "scope": "openid"})

    def token() -> str:
        with oxauth.client() as http:
            r = http.post("/oxauth/restv1/token", auth=(client_id, secret),
                          data={"grant_type": "client_credentials"})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def kids() -> set[str]:
        with oxauth.client() as http:
            return {k["kid"] for k in http.get("/oxauth/restv1/jwks").json()["keys"]}

    old_token, before = token(), kids()
    admin.goto(ui.url + "/identity/keys")  # type: ignore[attr-defined]
    admin.click("button:has-text('Rotate keys')")  # type: ignore[attr-defined]
    assert admin.locator(".ok").count() == 1  # type: ignore[attr-defined]
    deadline = time.monotonic() + 15
    while (after := kids()) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert before < after  # new keys published, the signing ones kept
    with oxauth.client() as http:
        keys = KeySet.import_key_set(http.get("/oxauth/restv1/jwks").json())
    assert jwt.decode(old_token, keys).claims["client_id"] == client_id


def test_client_edit_and_secret_regeneration(admin: object, ui: Server, oxauth: Server) -> None:
    client_id, old = add_client(admin, ui, "Edited", ["client_credentials"], scope="openid")
    for box in admin.locator("input[name=grant-type]").all():  # type: ignore[attr-defined]
        box.set_checked(False)
    admin.click("button:has-text('Save')")  # type: ignore[attr-defined]
    assert "grant-type" in admin.locator("#grant-type-error").inner_text()  # type: ignore[attr-defined]
    admin.check("#grant-client_credentials")  # type: ignore[attr-defined]
    admin.fill("#name", "Edited again")  # type: ignore[attr-defined]
    admin.check("#trusted")  # type: ignore[attr-defined]
    admin.click("button:has-text('Save')")  # type: ignore[attr-defined]
    assert admin.locator(".ok").count() == 1  # type: ignore[attr-defined]
    assert admin.locator("#name").input_value() == "Edited again"  # type: ignore[attr-defined]
    assert admin.locator("#trusted").is_checked()  # type: ignore[attr-defined]
    admin.click("button:has-text('Regenerate secret')")  # type: ignore[attr-defined]
    new = admin.locator("#client-secret").inner_text()  # type: ignore[attr-defined]
    admin.reload()  # type: ignore[attr-defined]
    assert admin.locator("#client-secret").count() == 0  # shown once  # type: ignore[attr-defined]
    with oxauth.client() as http:
        for secret, status in ((old, 401), (new, 200)):
            r = http.post("/oxauth/restv1/token", auth=(client_id, secret),
                          data={"grant_type": "client_credentials"})
            assert r.status_code == status, r.text


def test_non_admin_gets_403(browser: object, ui: Server, directory_tools: DirectoryTools) -> None:
    person = directory_tools.add_person(password="Pass-word-1")
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    response_codes: list[int] = []
    page.on("response", lambda r: response_codes.append(r.status) if "/identity" in r.url else None)
    page.goto(ui.url + "/identity/people")
    sign_in(page, person.uid, "Pass-word-1")
    page.wait_for_url(ui.url + "/identity/auth/callback*")
    assert page.locator("h1").inner_text() == "Forbidden"
    assert 403 in response_codes
    assert "oxtrust_session" not in {c["name"] for c in context.cookies(ui.url + "/identity")}
    page.goto(ui.url + "/identity/people")  # no UI session: through oxAuth again, refused
    assert page.locator("h1").inner_text() == "Forbidden"
    context.close()


def test_change_without_csrf_token_is_refused(admin: object, ui: Server) -> None:
    cookies = {c["name"]: c["value"] for c in admin.context.cookies(ui.url + "/identity")}  # type: ignore[attr-defined]
    assert "oxtrust_session" in cookies
    uid = f"csrf{uuid.uuid4().hex[:6]}"
    form = {"uid": uid, "family_name": "X", "password": "Long-enough-1",
            "password_confirm": "Long-enough-1"}
    with httpx.Client(base_url=ui.url, cookies=cookies, trust_env=False) as http:
        r = http.post("/identity/people/new", data=form)
        assert r.status_code == 403
        assert "csrf_token" in r.text
        r = http.post("/identity/people/new", data={**form, "csrf_token": "x" * 43})
        assert r.status_code == 403
        listing = http.get("/identity/people", params={"q": uid})
        assert listing.status_code == 200
        assert "0 found." in listing.text  # nothing was written


def test_session_is_served_by_any_oxtrust_process(
    admin: object, ui: Server, stack: Stack, oxauth: Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """No sticky sessions: another node reads the session from the shared cache."""
    cookies = {c["name"]: c["value"] for c in admin.context.cookies(ui.url + "/identity")}  # type: ignore[attr-defined]
    other = start_ui(stack, oxauth, tmp_path_factory.mktemp("oxtrust-ui-2"))
    try:
        with httpx.Client(base_url=other.url, cookies=cookies, trust_env=False) as http:
            r = http.get("/identity/people")
        assert r.status_code == 200 and "<h1>People</h1>" in r.text
    finally:
        other.daemon.stop()


def test_configuration_masks_secrets_and_checks_the_organisation(
    admin: object, ui: Server, stack: Stack
) -> None:
    manager = stack.manager()
    try:
        secret = manager.get_secret(K.SESSION_SECRET) or ""
        org = manager.get(K.ORG_NAME)
    finally:
        manager.store.close()
    admin.goto(ui.url + "/identity/config")  # type: ignore[attr-defined]
    shown = admin.locator("#config-json").inner_text()  # type: ignore[attr-defined]
    assert '"session_secret"' in shown and secret and secret not in shown
    admin.fill("#country_code", "USA")  # type: ignore[attr-defined]
    admin.fill("#org_name", "Renamed Org")  # type: ignore[attr-defined]
    admin.click("button:has-text('Save organisation')")  # type: ignore[attr-defined]
    assert "country_code" in admin.locator("#country_code-error").inner_text()  # type: ignore[attr-defined]
    manager = stack.manager()
    try:
        assert manager.get(K.ORG_NAME) == org  # nothing half-written
    finally:
        manager.store.close()


def test_callback_needs_the_browser_that_began_the_sign_in(ui: Server) -> None:
    """No login CSRF: a state (and code) handed to another browser is refused."""
    with httpx.Client(base_url=ui.url, trust_env=False) as victim:
        begun = victim.get("/identity/auth/login")
        assert begun.status_code == 303
        state = parse_qs(urlsplit(begun.headers["location"]).query)["state"][0]
        victim.cookies.clear()
        r = victim.get("/identity/auth/callback", params={"state": state, "code": "c"})
        assert r.status_code == 400 and "state:" in r.text
        assert "oxtrust_session" not in r.headers.get("set-cookie", "")


def test_people_page_fits_a_360px_screen(browser: object, admin: object, ui: Server) -> None:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 360, "height": 740},
        storage_state=admin.context.storage_state(),  # type: ignore[attr-defined]
    )
    page = context.new_page()
    for path in ("/identity/people", "/identity/people/new", "/identity/clients/new",
                 "/identity/groups", "/identity/keys", "/identity/policy", "/identity",
                 "/identity/scopes", "/identity/config", "/identity/branding",
                 "/identity/sectors"):
        page.goto(ui.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
    context.close()


def test_dashboard_shows_store_members_and_replication(
    admin: object, ui: Server, stack: Stack
) -> None:
    admin.goto(ui.url + "/identity")  # type: ignore[attr-defined]
    store = admin.locator("#store").inner_text()  # type: ignore[attr-defined]
    assert store.count("up, version") == len(stack.etcd.members)  # every etcd member
    assert store.count("(leader)") == 1
    assert "in sync" in admin.locator("#replication").inner_text()  # type: ignore[attr-defined]
    assert admin.locator("meta[http-equiv=refresh]").count() == 1  # type: ignore[attr-defined]


def test_scope_with_claims_added_and_bad_name_refused(admin: object, ui: Server) -> None:
    name = f"https://app.example/{uuid.uuid4().hex[:6]}.read"
    admin.goto(ui.url + "/identity/scopes/new")  # type: ignore[attr-defined]
    admin.fill("#name", "has space")  # type: ignore[attr-defined]
    admin.click("button:has-text('Add scope')")  # type: ignore[attr-defined]
    assert admin.locator("#name-error").inner_text().startswith("name:")  # type: ignore[attr-defined]
    admin.fill("#name", name)  # type: ignore[attr-defined]
    admin.fill("#claims", "email nickname")  # type: ignore[attr-defined]
    admin.select_option("#scope_type", "oauth")  # type: ignore[attr-defined]
    admin.click("button:has-text('Add scope')")  # type: ignore[attr-defined]
    assert admin.locator("#claims").input_value() == "email nickname"  # type: ignore[attr-defined]
    admin.goto(ui.url + "/identity/scopes")  # type: ignore[attr-defined]
    assert admin.locator(f"a:has-text('{name}')").count() == 1  # type: ignore[attr-defined]
    assert admin.locator("a:has-text('has space')").count() == 0  # type: ignore[attr-defined]


def test_policy_form_names_a_bad_value_and_writes_nothing(
    admin: object, ui: Server, stack: Stack
) -> None:
    admin.goto(ui.url + "/identity/policy")  # type: ignore[attr-defined]
    admin.fill("#oxauth_lockout_window", "soon")  # type: ignore[attr-defined]
    admin.fill("#oxauth_lockout_user_failures", "7")  # type: ignore[attr-defined]
    admin.click("button:has-text('Save policy')")  # type: ignore[attr-defined]
    error = admin.locator("#oxauth_lockout_window-error").inner_text()  # type: ignore[attr-defined]
    assert "oxauth_lockout_window" in error
    manager = stack.manager()
    try:
        assert manager.get(K.OXAUTH_LOCKOUT_USER_FAILURES) != "7"  # nothing half-written
    finally:
        manager.store.close()


def test_passport_providers_page(admin: object, ui: Server, stack: Stack) -> None:
    from tests.passport.test_saml_unit import metadata

    from oxswarm.passport.providers import ProviderStore

    page: Any = admin
    run = uuid.uuid4().hex[:6]
    secret = "ui-secret-" + uuid.uuid4().hex
    page.goto(ui.url + "/identity/providers")
    assert page.locator("h1").inner_text() == "Passport providers"
    page.fill("#id", f"op{run}")
    page.fill("#issuer", "ftp://op.example")  # refused: named, nothing stored
    page.fill("#client_id", "abc")
    page.fill("#client_secret", secret)
    page.click("button:has-text('Add provider')")
    assert page.locator("#issuer-error").inner_text().startswith("issuer:")
    assert secret not in page.content()  # the secret is never sent back
    page.fill("#issuer", "https://op.example")
    page.fill("#client_secret", secret)
    page.select_option("#linking", "link_by_email")
    page.click("button:has-text('Add provider')")
    assert page.locator("[role=status]").inner_text() == f"Saved: provider op{run}."
    page.fill("#id", f"idp{run}")
    page.select_option("#type", "saml")
    page.fill("#metadata", metadata())
    page.click("button:has-text('Add provider')")
    row = page.locator(f"#provider-idp{run}")
    assert "https://idp.example/md" in row.inner_text() and "saml" in row.inner_text()
    page.locator(f"#provider-op{run} button:has-text('Disable')").click()
    assert "no" in page.locator(f"#provider-op{run}").inner_text()
    manager = stack.manager()
    try:
        store = ProviderStore(manager)
        stored = {p.id: p for p in store.list()}
        assert stored[f"op{run}"].enabled is False
        assert stored[f"op{run}"].linking == "link_by_email" and store.has_secret(f"op{run}")
        assert stored[f"idp{run}"].type == "saml"
    finally:
        manager.store.close()
    # a change without the CSRF token is refused
    cookies = {c["name"]: c["value"] for c in page.context.cookies(ui.url + "/identity")}
    with httpx.Client(base_url=ui.url, cookies=cookies, trust_env=False) as http:
        assert http.post(f"/identity/providers/op{run}/remove").status_code == 403
    page.locator(f"#provider-op{run} button:has-text('Remove')").click()
    page.locator(f"#provider-idp{run} button:has-text('Remove')").click()
    assert page.locator(f"#provider-op{run}").count() == 0
    assert page.locator(f"#provider-idp{run}").count() == 0


def test_person_page_shows_and_removes_links(admin: object, ui: Server, stack: Stack,
                                             directory_tools: DirectoryTools) -> None:
    from oxswarm.directory.people import PeopleRepository

    page: Any = admin
    person = directory_tools.add_person("Pass-word-1")
    links = ["passport-partner:2482", "passport-idp:https://idp.example/u/7"]
    with stack.directory() as directory:
        for link in links:
            PeopleRepository(directory).add_external_uid(person.inum, link)
    page.goto(f"{ui.url}/identity/people/{person.inum}")
    assert page.locator("#links code").all_inner_texts() == sorted(links)
    page.locator("#links li", has_text=links[1]).locator("button:has-text('Unlink')").click()
    assert page.locator("#links code").all_inner_texts() == [links[0]]
    with stack.directory() as directory:
        assert PeopleRepository(directory).external_uids(person.inum) == [links[0]]


# last: it ends the shared admin session
def test_sign_out_ends_the_oxauth_session_too(admin: object, ui: Server) -> None:
    admin.goto(ui.url + "/identity")  # type: ignore[attr-defined]
    admin.click("button:has-text('Sign out')")  # type: ignore[attr-defined]
    admin.wait_for_url(ui.url + "/identity/auth/signed-out")  # type: ignore[attr-defined]
    admin.goto(ui.url + "/identity")  # type: ignore[attr-defined]
    assert admin.locator("#password").count() == 1  # oxAuth asks for the password again
