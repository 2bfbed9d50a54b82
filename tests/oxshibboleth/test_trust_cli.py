"""``oxswarm saml trust`` against the real directory and store: add (file, stdin, URL under
the outbound rules), list (table, JSON), show, update, remove; bad input exits 2 with one
line naming the option, nothing stored."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from tests.oxshibboleth.conftest import Saml
from tests.oxshibboleth.sp import with_methods

from oxswarm.config import keys as K

pytestmark = pytest.mark.integration


def one_line_error(done: object, exit_code: int, *words: str) -> None:
    import subprocess

    assert isinstance(done, subprocess.CompletedProcess)
    assert done.returncode == exit_code, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_add_list_show_update_remove(saml: Saml) -> None:
    sp = saml.sp()
    path = sp.folder / "md.xml"
    path.write_text(sp.metadata)
    done = saml.cli("saml", "trust", "add", "--metadata", str(path), "--name", "Wiki",
                    "--release", "uid", "--release", "sn", "--json")
    assert done.returncode == 0, done.stderr
    added = json.loads(done.stdout)
    assert added["entity_id"] == sp.entity_id and added["acs"] == [sp.acs]
    assert added["release"] == ["uid", "sn"] and added["nameid_format"] == "transient"
    assert added["authn_requests_signed"] is True
    table = saml.cli("saml", "trust", "list").stdout
    assert "NAME" in table.splitlines()[0] and "Wiki" in table and sp.entity_id in table
    listed = json.loads(saml.cli("saml", "trust", "list", "--json").stdout)
    assert sp.entity_id in [t["entity_id"] for t in listed]
    done = saml.cli("saml", "trust", "update", sp.entity_id, "--nameid-format", "persistent",
                    "--release", "mail", "--sign-assertions", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(saml.cli("saml", "trust", "show", added["inum"], "--json").stdout)
    assert shown["nameid_format"] == "persistent" and shown["release"] == ["mail"]
    assert shown["sign_assertions"] is True and shown["name"] == "Wiki"
    assert saml.cli("saml", "trust", "show", sp.entity_id, "--metadata").stdout.strip() == \
        sp.metadata.strip()
    done = saml.cli("saml", "trust", "remove", sp.entity_id)
    assert done.returncode == 0 and sp.entity_id in done.stdout
    one_line_error(saml.cli("saml", "trust", "show", sp.entity_id), 1, "no trust relationship")


def test_metadata_pasted_on_stdin(saml: Saml) -> None:
    sp = saml.sp()
    done = saml.cli("saml", "trust", "add", "--metadata", "-", "--json", stdin=sp.metadata)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["entity_id"] == sp.entity_id


def test_bad_input_exits_2_naming_the_option_and_stores_nothing(saml: Saml) -> None:
    sp = saml.sp()
    folder = sp.folder
    doctype = folder / "doctype.xml"
    doctype.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>' + sp.metadata)
    one_line_error(saml.cli("saml", "trust", "add", "--metadata", str(doctype)), 2,
                   "metadata", "DOCTYPE")
    junk = folder / "junk.xml"
    junk.write_text("<html>not metadata</html>")
    one_line_error(saml.cli("saml", "trust", "add", "--metadata", str(junk)), 2, "metadata")
    one_line_error(saml.cli("saml", "trust", "add", "--metadata", str(folder / "nope.xml")),
                   2, "metadata", "cannot read")
    good = folder / "md.xml"
    good.write_text(sp.metadata)
    one_line_error(saml.cli("saml", "trust", "add", "--metadata", str(good), "--release",
                            "userPassword"), 2, "release", "never released")
    done = saml.cli("saml", "trust", "add", "--metadata", str(good), "--nameid-format", "x")
    assert done.returncode == 2 and "'--nameid-format': 'x' is not one of" in done.stderr
    big = folder / "big.xml"
    big.write_text(sp.metadata.replace("</md:EntityDescriptor>", "")
                   + "<!--" + "x" * 300_000 + "-->")
    one_line_error(saml.cli("saml", "trust", "add", "--metadata", str(big)), 2, "larger than")
    weak = folder / "weak.xml"
    weak.write_text(with_methods(sp.metadata, "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
                                 "http://www.w3.org/2001/04/xmlenc#rsa-1_5"))
    one_line_error(saml.cli("saml", "trust", "add", "--metadata", str(weak),
                            "--encrypt-assertions"), 2, "encrypt-assertions", "EncryptionMethod",
                   "tripledes-cbc")
    listed = json.loads(saml.cli("saml", "trust", "list", "--json").stdout)
    assert sp.entity_id not in [t["entity_id"] for t in listed]
    assert saml.cli("saml", "trust", "add", "--metadata", str(good)).returncode == 0
    one_line_error(saml.cli("saml", "trust", "add", "--metadata", str(good)), 2,
                   "already trusted")


@pytest.fixture
def metadata_server(saml: Saml) -> Iterator[tuple[str, str]]:
    sp = saml.sp()
    body = sp.metadata.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metadata", sp.entity_id
    finally:
        server.shutdown()
        server.server_close()


def test_metadata_from_a_url_follows_the_outbound_rules(
    saml: Saml, metadata_server: tuple[str, str]
) -> None:
    url, _entity_id = metadata_server
    # https only, and never to loopback, private or the cluster's own addresses (oxAuth's
    # SSRF rules) ...
    one_line_error(saml.cli("saml", "trust", "add", "--metadata", url), 2,
                   "metadata", "only https")
    https_url = url.replace("http://", "https://")
    one_line_error(saml.cli("saml", "trust", "add", "--metadata", https_url), 2,
                   "metadata", "loopback")
    # ... unless the operator opens an address (oxauth_fetch_allow): then the fetch goes
    # out and TLS is required (this test server speaks plain HTTP, so the handshake fails)
    manager = saml.stack.manager()
    try:
        manager.set(K.OXAUTH_FETCH_ALLOW, '["127.0.0.1/32"]')
        done = saml.cli("saml", "trust", "add", "--metadata", https_url)
        one_line_error(done, 2, "metadata", "not fetched")
        assert "loopback" not in done.stderr
    finally:
        manager.set(K.OXAUTH_FETCH_ALLOW, "[]")
        manager.store.close()
