"""``oxauth_fetch_ca``: the CAs oxAuth's server-side fetches trust besides the public ones
(a partner's private CA), checked like every policy value and applied live by
:meth:`Outbound.trust` (a TLS server on loopback with a certificate of a private CA)."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from oxswarm.crypto.pki import CertAndKey, create_ca, issue_server_cert
from oxswarm.errors import InvalidInput
from oxswarm.oxauth.adapters.outbound import FetchError, FetchRules, Outbound
from oxswarm.oxauth.policy import FETCH_CA, fetch_ca, read_policy
from oxswarm.oxshibboleth.trust import fetch_metadata


@pytest.fixture(scope="module")
def partner_ca() -> CertAndKey:
    return create_ca("Partner")


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def partner_site(partner_ca: CertAndKey, tmp_path: Path) -> Iterator[str]:
    """An https site on loopback whose certificate the partner's CA signed: its URL."""
    leaf = issue_server_cert(partner_ca.cert_pem, partner_ca.key_pem, ["127.0.0.1"])
    (tmp_path / "site.crt").write_text(leaf.cert_pem)
    (tmp_path / "site.key").write_text(leaf.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "site.crt", tmp_path / "site.key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/doc.json"
    finally:
        server.shutdown()
        server.server_close()


def test_the_value_is_certificates_named_when_it_is_not(partner_ca: CertAndKey) -> None:
    assert read_policy({}.get).fetch_ca == ""
    other = create_ca("Other")
    both = f"  {partner_ca.cert_pem}\n{other.cert_pem}\n"
    kept = read_policy({FETCH_CA: both}.get).fetch_ca
    assert kept.count("-----BEGIN CERTIFICATE-----") == 2 and kept.startswith("-----BEGIN")
    for bad in ("not a certificate", partner_ca.key_pem,
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                partner_ca.cert_pem * 21, "x" * 70_000):
        with pytest.raises(InvalidInput) as caught:
            fetch_ca(bad)
        assert caught.value.field == FETCH_CA
        assert str(caught.value).startswith(f"{FETCH_CA}: ")


def test_a_private_ca_is_trusted_once_set_and_no_longer_once_removed(
        partner_ca: CertAndKey, partner_site: str) -> None:
    async def fetch(outbound: Outbound) -> str:
        try:
            return (await outbound.get_json_bytes(partner_site)).decode()
        except FetchError as exc:
            return f"refused: {exc}"

    async def run() -> list[str]:
        outbound = Outbound(FetchRules(dev=True))  # loopback allowed; the public CAs only
        seen = [await fetch(outbound)]
        outbound.trust(fetch_ca(partner_ca.cert_pem))
        seen.append(await fetch(outbound))
        outbound.trust("")
        seen.append(await fetch(outbound))
        await outbound.close()
        return seen

    untrusted, trusted, removed = asyncio.run(run())
    assert untrusted.startswith("refused") and "CERTIFICATE_VERIFY_FAILED" in untrusted
    assert trusted == '{"ok": true}'
    assert removed.startswith("refused") and "CERTIFICATE_VERIFY_FAILED" in removed


def test_metadata_urls_trust_the_private_ca_too(partner_ca: CertAndKey,
                                                partner_site: str) -> None:
    """``saml trust add --metadata URL``, ``providers --metadata URL`` and the UI's URL
    field fetch with the policy's CAs too (one fetch: ``fetch_metadata``)."""
    rules = FetchRules(dev=True)
    with pytest.raises(InvalidInput) as caught:
        asyncio.run(fetch_metadata(partner_site, rules))
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert asyncio.run(fetch_metadata(partner_site, rules, partner_ca.cert_pem)) == \
        '{"ok": true}'
