"""Signing in through an upstream SAML 2.0 IdP: samlify's IdentityProvider (npm
``samlify``, ``tests/passport/saml_idp/idp.cjs``, installed outside the project under
``$SAML_IDP_HOME``), two oxAuth processes (each sign-in starts at one, its callback lands
at the other).

The IdP checks our AuthnRequest's signature against our SP metadata; the first sign-in
provisions, the second links; e-mail collisions follow the linking mode; an unsigned
response, another audience, another InResponseTo, a replayed response, an expired one,
one signed with another key, and a callback without the browser's cookie are each a 4xx
page with the reason and a link back, logged, and change nobody.
"""

from __future__ import annotations

import datetime
import html
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from tests.passport.conftest import RUN, Browser, Passport, code_of, refused_page
from tests.passport.test_node_op import id_token

from oxswarm.local.process import Daemon, free_port

pytestmark = pytest.mark.integration

PROVIDERS = {"samlc": "create", "samll": "link_by_email", "samld": "deny_on_collision",
             "samlo": "existing_only"}
TAKEN = f"samltaken-{RUN}@example.org"
USERS: dict[str, dict[str, str]] = {
    f"sue{RUN}": {"email": f"sue-{RUN}@example.org", "givenName": "Sue", "sn": "Saml",
                  "uid": f"sue{RUN}"},
    # the claims-URI form of the e-mail attribute
    f"tom{RUN}": {"email": f"tom-{RUN}@example.org", "sn": "Tom",
                  "mailName": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
                              "emailaddress"},
    f"col{RUN}": {"email": TAKEN, "sn": "Collides", "mailName": "mail"},
    f"new{RUN}": {"email": f"new-{RUN}@example.org", "sn": "New"},
    f"bad{RUN}": {"email": f"bad-{RUN}@example.org", "sn": "Bad"},
    f"enc{RUN}": {"email": f"enc-{RUN}@example.org", "sn": "Enc"},
    f"web{RUN}": {"email": f"web-{RUN}@example.org", "sn": "Web"},  # test_saml_browser
}


def idp_home() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("SAML_IDP_HOME") or Path(base) / "oxswarm-passport-saml-npm")


def key_pair(folder: Path, name: str) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"saml-idp-{name}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@pytest.fixture(scope="module")
def saml_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """samlify's IdP on a free port: its base URL."""
    home = idp_home()
    if not (home / "node_modules" / "samlify").is_dir():
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(home), "--no-audit", "--no-fund",
                        "samlify@2.13.1", "@authenio/samlify-node-xmllint@2.0.0"],
                       check=True, capture_output=True, timeout=600)
    folder = tmp_path_factory.mktemp("saml-idp")
    key, cert = key_pair(folder, "idp")
    other_key, other_cert = key_pair(folder, "other")
    script = home / "passport-test-idp.cjs"
    script.write_text((Path(__file__).parent / "saml_idp" / "idp.cjs").read_text())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    daemon = Daemon(f"saml-idp-{port}", ["node", str(script)], folder, env={
        "PORT": str(port), "BASE_URL": base, "ENTITY_ID": f"{base}/metadata",
        "KEY_FILE": str(key), "CERT_FILE": str(cert), "OTHER_KEY_FILE": str(other_key),
        "OTHER_CERT_FILE": str(other_cert), "USERS": json.dumps(USERS),
        "NODE_PATH": str(home / "node_modules")}).start()
    try:
        daemon.wait_tcp("127.0.0.1", port, timeout=30)
        yield base
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def saml_providers(passport: Passport, saml_idp: str) -> str:
    metadata = passport.folder / "idp-metadata.xml"
    metadata.write_text(httpx.get(f"{saml_idp}/metadata", timeout=10).text)
    for provider_id, linking in PROVIDERS.items():
        done = passport.cli("providers", "add", "--id", provider_id, "--type", "saml",
                            "--metadata", str(metadata), "--linking", linking, "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["issuer"] == f"{saml_idp}/metadata"
    time.sleep(2)  # every oxAuth process follows the store within a second
    for provider_id in PROVIDERS:
        with passport.servers[0].client() as http:
            sp = http.get(f"/passport/auth/meta/idp/{provider_id}")
        assert sp.status_code == 200, sp.text
        assert f'entityID="http://id.oxswarm.test/passport/auth/meta/idp/{provider_id}"' \
            in sp.text
        assert f"/passport/auth/saml/{provider_id}/callback" in sp.text
        assert httpx.post(f"{saml_idp}/sp", params={"id": provider_id}, content=sp.text,
                          timeout=10).status_code == 204
    return saml_idp


def to_idp(browser: Browser, start: httpx.Response, provider: str, login: str,
           variant: str = "ok") -> dict[str, str]:
    """Our AuthnRequest at the IdP (which verifies its signature): the form it posts."""
    location = start.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    assert query["Signature"] and query["RelayState"]
    extra = urlencode({"sp": provider, "login": login, "variant": variant})
    page = browser.http.get(f"{location}&{extra}")
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    action = re.search(r'action="([^"]+)"', page.text)
    assert action
    fields["action"] = html.unescape(action.group(1))
    return fields


def post_back(browser: Browser, form: dict[str, str], at: int = 1) -> httpx.Response:
    return browser.http.post(browser.ours(form["action"], at), data={
        "SAMLResponse": form["SAMLResponse"], "RelayState": form["RelayState"]})


def sign_in(browser: Browser, client: Any, provider: str, login: str,
            variant: str = "ok") -> httpx.Response:
    start = browser.start(client, provider, 0)
    return post_back(browser, to_idp(browser, start, provider, login, variant))


def test_saml_first_sign_in_provisions_then_links(
        passport: Passport, saml_providers: str, new_browser: Callable[[], Browser]) -> None:
    client = passport.client()
    login = f"sue{RUN}"
    browser = new_browser()
    start = browser.start(client, "samlc", 0)
    cookie = start.headers["set-cookie"]
    assert "oxpassport_browser=" in cookie and "Path=/passport" in cookie
    code = code_of(post_back(browser, to_idp(browser, start, "samlc", login)))
    claims = id_token(passport, client, code)
    assert claims["acr"] == "passport_saml"
    assert claims["amr"] == ["fed"]
    person = passport.linked(f"passport-samlc:{login}")
    assert person is not None
    assert (person.uid, person.email, person.given_name, person.family_name) == (
        login, USERS[login]["email"], "Sue", "Saml")
    assert not passport.has_password(person.inum)
    # the second sign-in, another browser: the same person, nobody new
    again = code_of(sign_in(new_browser(), client, "samlc", login))
    assert id_token(passport, client, again)["sub"] == claims["sub"]
    assert len(passport.with_email(USERS[login]["email"])) == 1
    # the claims-URI form of the e-mail attribute
    code_of(sign_in(new_browser(), client, "samlc", f"tom{RUN}"))
    tom = passport.linked(f"passport-samlc:tom{RUN}")
    assert tom is not None and tom.email == USERS[f"tom{RUN}"]["email"]
    assert "passport_saml" in httpx.get(
        f"{passport.servers[0].url}/.well-known/openid-configuration").json()[
        "acr_values_supported"]


def test_saml_encrypted_assertion_signs_in(
        passport: Passport, saml_providers: str, new_browser: Callable[[], Browser]) -> None:
    client = passport.client()
    login = f"enc{RUN}"
    answer = sign_in(new_browser(), client, "samlc", login, "encrypted")
    assert id_token(passport, client, code_of(answer))["acr"] == "passport_saml"
    person = passport.linked(f"passport-samlc:{login}")
    assert person is not None and person.email == USERS[login]["email"]


def test_saml_email_collision_per_mode(passport: Passport, saml_providers: str,
                                       new_browser: Callable[[], Browser]) -> None:
    client = passport.client()
    local = passport.person(email=TAKEN)
    login = f"col{RUN}"
    for provider in ("samlc", "samld", "samll"):  # SAML asserts no e-mail verification
        refused_page(sign_in(new_browser(), client, provider, login), 403, "refused")
        assert passport.linked(f"passport-{provider}:{login}") is None
    refused_page(sign_in(new_browser(), client, "samlo", f"new{RUN}"), 403, "refused")
    assert passport.with_email(USERS[f"new{RUN}"]["email"]) == []
    assert passport.links(local.inum) == []


@pytest.mark.parametrize(("variant", "reason"), [
    ("unsigned", "signature"),
    ("audience", "not for us"),
    ("inresponseto", "InResponseTo"),
    ("expired", "expired"),
    ("otherkey", "signature"),
])
def test_saml_forged_responses_are_refused(
        passport: Passport, saml_providers: str, new_browser: Callable[[], Browser],
        variant: str, reason: str) -> None:
    client = passport.client()
    login = f"bad{RUN}"
    answer = sign_in(new_browser(), client, "samlc", login, variant)
    refused_page(answer, 403, "Sign-in through samlc refused", reason)
    assert passport.linked(f"passport-samlc:{login}") is None
    assert passport.with_email(USERS[login]["email"]) == []
    assert "passport samlc: sign-in refused: SAMLResponse" in passport.logs()


def test_saml_replay_and_foreign_browser_are_refused(
        passport: Passport, saml_providers: str, new_browser: Callable[[], Browser]) -> None:
    client = passport.client()
    login = f"new{RUN}"
    owner, thief = new_browser(), new_browser()
    form = to_idp(owner, owner.start(client, "samlc", 0), "samlc", login)
    # the IdP's POST without the browser's cookie (another browser): refused, record kept
    refused_page(post_back(thief, form), 400, "did not come from the browser")
    assert passport.linked(f"passport-samlc:{login}") is None
    code_of(post_back(owner, form))  # its owner still finishes
    # the same Response again: refused
    refused_page(post_back(owner, form, at=0), 400, "RelayState")
    # the same assertion under a fresh RelayState of a browser: its request ID differs
    other = new_browser()
    fresh = other.start(client, "samlc", 0)
    relay = parse_qs(urlsplit(fresh.headers["location"]).query)["RelayState"][0]
    refused_page(post_back(other, {**form, "RelayState": relay}), 403, "InResponseTo")


def test_saml_provider_bad_metadata_is_one_line_exit_2(passport: Passport,
                                                       saml_idp: str) -> None:
    doctype = passport.folder / "doctype.xml"
    doctype.write_text('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    for source, words in ((f"{saml_idp}/metadata", "metadata: not fetched"),  # loopback
                          (str(doctype), "metadata: a DOCTYPE is not allowed"),
                          (str(passport.folder / "none.xml"), "metadata: cannot read")):
        done = passport.cli("providers", "add", "--id", "samlbad", "--type", "saml",
                            "--metadata", source)
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    listed = passport.cli("providers", "list", "--json")
    assert "samlbad" not in [p["id"] for p in json.loads(listed.stdout)]
