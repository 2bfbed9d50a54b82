"""A UI session outlives the loss of its cache record (what a lost node's Redis shard
takes with it, docs/cache.md): the directory's copy serves it and puts it back; sign-out
deletes both, and the copy never brings a signed-out session back.

Real Chromium signs in through a real oxAuth; the session is then used with plain HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.oxauth.conftest import Server
from tests.oxtrust.test_ui_browser import CHROMIUM, sign_in, start_ui

from oxswarm.cache.client import Cache
from oxswarm.directory.tree import Tree
from oxswarm.local.stack import Stack
from oxswarm.oxtrust.ui.session import COOKIE, KIND

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ui(stack: Stack, oxauth: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_ui(stack, oxauth, tmp_path_factory.mktemp("oxtrust-ui-copy"))
    try:
        yield server
    finally:
        server.daemon.stop()


def session_dn(stack: Stack, sid: str) -> str:
    return f"inum={sid},{Tree().ou('sessions')}"


def test_session_survives_its_lost_cache_record_and_sign_out_ends_it(
        stack: Stack, ui: Server) -> None:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context().new_page()
            page.goto(ui.url + "/identity")
            sign_in(page, "admin", stack.admin_password)
            page.wait_for_url(ui.url + "/identity")
            cookies = {c["name"]: c["value"] for c in page.context.cookies(ui.url + "/identity")}
            sid = cookies[COOKIE].rsplit(".", 1)[0]
            with stack.directory() as directory:
                assert directory.exists(session_dn(stack, sid))  # the copy, from sign-in
            cache = Cache(stack.cache.host, stack.cache.port,
                          namespace=f"{stack.cluster}.oxauth", password=stack.cache.password)
            try:
                assert cache.get(KIND, sid) is not None
                assert cache.delete(KIND, sid)  # as when its shard's node is lost
                with httpx.Client(base_url=ui.url, cookies=cookies, trust_env=False) as http:
                    r = http.get("/identity/people")
                    assert r.status_code == 200 and "<h1>People</h1>" in r.text
                    assert cache.get(KIND, sid) is not None  # put back from the copy
                    # sign-out (the page's own form, its CSRF token) deletes both
                    page.goto(ui.url + "/identity")
                    page.click("button:has-text('Sign out')")
                    page.wait_for_url(ui.url + "/identity/auth/signed-out")
                    assert cache.get(KIND, sid) is None
                    with stack.directory() as directory:
                        assert not directory.exists(session_dn(stack, sid))
                    r = http.get("/identity/people")
                    assert r.status_code in (302, 303), r.status_code
                    assert "/identity/auth/login" in r.headers["location"]
            finally:
                cache.close()
        finally:
            browser.close()
