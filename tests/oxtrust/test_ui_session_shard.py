"""A UI session whose Redis shard dies (as with its node in the cluster) goes on: three
real shards behind a real Twemproxy, the one holding the session's record killed; the
admin's pages and a change keep working, from the directory's copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import httpx
import pytest
from tests.oxauth.conftest import Server, start_server
from tests.oxtrust.test_ui_browser import CHROMIUM, sign_in, start_ui

from oxswarm.config import keys as K
from oxswarm.local.stack import Stack, start_stack
from oxswarm.oxtrust.ui.session import COOKIE, KIND

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("stack3"), cache_shards=3)
    manager = running.manager()
    try:
        manager.set(K.OXAUTH_TRUSTED_PROXIES, "127.0.0.1/32")
    finally:
        manager.store.close()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def oxauth(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(stack, tmp_path_factory.mktemp("oxauth3"))
    try:
        yield server
    finally:
        server.daemon.stop()


@pytest.fixture(scope="module")
def ui(stack: Stack, oxauth: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_ui(stack, oxauth, tmp_path_factory.mktemp("oxtrust-ui3"))
    try:
        yield server
    finally:
        server.daemon.stop()


def test_session_goes_on_when_its_shard_dies(stack: Stack, ui: Server) -> None:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context().new_page()
            page.goto(ui.url + "/identity")
            sign_in(page, "admin", stack.admin_password)
            page.wait_for_url(ui.url + "/identity")
            cookies = {c["name"]: c["value"] for c in page.context.cookies(ui.url + "/identity")}
        finally:
            browser.close()
    sid = cookies[COOKIE].rsplit(".", 1)[0]
    key = f"{stack.cluster}.oxauth:{KIND}:{sid}"
    holders = [node for node in stack.cache.redis if node.admin().exists(key)]
    assert len(holders) == 1, [n.name for n in holders]
    holders[0].kill()
    with httpx.Client(base_url=ui.url, cookies=cookies, trust_env=False, timeout=20) as http:
        for path in ("/identity", "/identity/people", "/identity/groups"):
            r = http.get(path)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
        assert token
        r = http.post("/identity/groups/new", data={
            "display_name": "shard-lost", "csrf_token": unescape(token.group(1))})
        assert r.status_code == 303, (r.status_code, r.text[:300])
