"""The IdP's trust files (docs/saml.md "Trust files"), with real daemons: an IdP started
with ``--trust-folder`` (as every node's in the stack) writes each trust the real
``oxswarm saml trust`` command puts in the directory into its folder within seconds,
without any request, follows an update and a removal, and serves from the files: a
second IdP whose directory does not answer serves an SP from a copy of that folder (what
csync2 hands a node), and refuses an SP that is not in it."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.oxauth.conftest import Server
from tests.oxshibboleth.conftest import Browser, Saml, start_idp
from tests.oxshibboleth.test_statelessness import at

from oxswarm.local.process import free_port, wait_until
from oxswarm.local.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared") / "idp" / "trusts"


@pytest.fixture(scope="module")
def filed_idp(stack: Stack, idp: Server, oxauth: Server, folder: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_idp(stack, tmp_path_factory.mktemp("idp-files"), oxauth.url,
                       public_url=idp.url, extra=("--trust-folder", str(folder)))
    try:
        yield server
    finally:
        server.daemon.stop()


def settings_of(folder: Path, entity_id: str) -> dict[str, object] | None:
    for path in folder.glob("*.json"):
        doc = json.loads(path.read_text())
        if doc["entity_id"] == entity_id:
            return dict(doc)
    return None


def test_trusts_are_written_to_the_folder_and_served_from_it(
        saml: Saml, filed_idp: Server, folder: Path, browser: Browser) -> None:
    sp = saml.sp()
    began = time.monotonic()
    saml.trust(sp, "--name", "Filed", "--release", "uid", "--release", "mail")
    # no request names the SP: the reconciling pass writes it
    wait_until(lambda: settings_of(folder, sp.entity_id) is not None, 15,
               "the trust's files", interval=0.1)
    print(f"\ntrust files written {time.monotonic() - began:.1f}s after `trust add`")
    found = settings_of(folder, sp.entity_id)
    assert found is not None and found["release"] == ["uid", "mail"]
    assert (folder / f"{found['inum']}.xml").read_text() == sp.metadata
    _, url = sp.redirect_request()
    first = browser.http.get(at(filed_idp, url))
    assert first.status_code == 303 and "/oxauth/" in first.headers["location"], first.text
    # an update and a removal reach the files
    done = saml.cli("saml", "trust", "update", sp.entity_id, "--release", "displayName")
    assert done.returncode == 0, done.stderr
    wait_until(lambda: (settings_of(folder, sp.entity_id) or {}).get("release")
               == ["displayName"], 15, "the updated settings", interval=0.2)
    done = saml.cli("saml", "trust", "remove", sp.entity_id)
    assert done.returncode == 0, done.stderr
    wait_until(lambda: not list(folder.glob(f"{found['inum']}.*")), 15, "files removed",
               interval=0.2)
    _, url = sp.redirect_request()
    gone = browser.http.get(at(filed_idp, url))
    assert gone.status_code == 400 and "not a trusted service provider" in gone.text


def test_an_idp_serves_its_files_while_the_directory_does_not_answer(
        stack: Stack, saml: Saml, *, idp: Server, oxauth: Server, filed_idp: Server,
        folder: Path, browser: Browser, tmp_path: Path) -> None:
    sp, stranger = saml.sp(), saml.sp()
    saml.trust(sp)
    wait_until(lambda: settings_of(folder, sp.entity_id) is not None, 15, "the trust's files",
               interval=0.1)
    copy = tmp_path / "trusts"
    shutil.copytree(folder, copy)  # what csync2 gives a node
    saml.trust(stranger)  # in the directory only
    nowhere = f"ldaps://127.0.0.1:{free_port()}"
    cut = start_idp(stack, tmp_path / "idp", oxauth.url, public_url=idp.url,
                    ldap_url=nowhere, extra=("--trust-folder", str(copy)))
    try:
        _, url = sp.redirect_request()
        served = browser.http.get(at(cut, url))
        assert served.status_code == 303 and "/oxauth/" in served.headers["location"], \
            served.text
        _, url = stranger.redirect_request()
        refused = browser.http.get(at(cut, url))
        assert refused.status_code == 400, refused.text
        with cut.client() as http:
            health = http.get("/idp/health")
        assert health.status_code == 503 and "directory" in health.json()["failed"]
    finally:
        cut.daemon.stop()
