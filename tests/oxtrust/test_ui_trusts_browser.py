"""The admin UI's SAML trust page in real headless Chromium (Debian's ``chromium``, driven
by Playwright) against a real ``oxswarm run oxtrust`` on the local stack: add a service
provider from an uploaded metadata file, a pasted text and a URL (under oxAuth's outbound
rules), choose what it gets, update, remove; each change in the directory and the audit
log; a refusal named beside its field and nothing stored."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from tests.oxauth.conftest import Server
from tests.oxtrust.test_ui_browser import (  # noqa: F401  (fixtures)
    admin,
    browser,
    ui,
)

from oxswarm.crypto import pki
from oxswarm.directory.tree import Tree
from oxswarm.directory.trust_relationships import TrustRepository
from oxswarm.local.stack import Stack
from oxswarm.oxtrust import audit

pytestmark = pytest.mark.integration


def sp_metadata(entity_id: str, *, encryption: bool = True) -> str:
    cert = "".join(pki.self_signed_cert("sp.test").cert_pem.strip().splitlines()[1:-1])
    keys = "".join(
        f'<md:KeyDescriptor use="{use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}'
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for use in (("signing", "encryption") if encryption else ("signing",)))
    return (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">'
        '<md:SPSSODescriptor AuthnRequestsSigned="true" protocolSupportEnumeration='
        f'"urn:oasis:names:tc:SAML:2.0:protocol">{keys}'
        '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        f'Location="{entity_id}/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>')


def trusts(stack: Stack) -> dict[str, object]:
    with stack.directory() as directory:
        return {t.entity_id: t for t in TrustRepository(directory, Tree("o=gluu")).list()}


def error_of(page: object, field: str) -> str:
    return str(page.locator(f"#{field}-error").inner_text())  # type: ignore[attr-defined]


def submit(page: object, label: str) -> None:
    page.click(f"button:has-text('{label}')")  # type: ignore[attr-defined]


def test_trust_pages(admin: object, ui: Server, stack: Stack, tmp_path: Path) -> None:  # noqa: F811
    page: object = admin
    entity = f"https://wiki-{uuid.uuid4().hex[:8]}.test/sp"
    path = tmp_path / "sp.xml"
    path.write_text(sp_metadata(entity))
    page.goto(ui.url + "/identity")  # type: ignore[attr-defined]
    page.click("nav >> text=SAML")  # type: ignore[attr-defined]
    page.click("text=Add a service provider")  # type: ignore[attr-defined]
    page.fill("#name", "Wiki")  # type: ignore[attr-defined]
    page.set_input_files("#metadata-file", str(path))  # type: ignore[attr-defined]
    for box in page.locator("input[name=release]").all():  # type: ignore[attr-defined]
        box.set_checked(box.get_attribute("value") in ("uid", "mail", "memberOf"))
    page.select_option("#nameid-format", "persistent")  # type: ignore[attr-defined]
    page.check("#sign-assertions")  # type: ignore[attr-defined]
    page.check("#encrypt-assertions")  # type: ignore[attr-defined]
    submit(page, "Add service provider")
    assert page.locator(".ok").inner_text() == "Saved."  # type: ignore[attr-defined]
    assert page.locator("#entity-id").inner_text() == entity  # type: ignore[attr-defined]
    stored = trusts(stack)[entity]
    assert (stored.name, stored.release, stored.nameid_format, stored.sign_assertions,  # type: ignore[attr-defined]
            stored.encrypt_assertions) == ("Wiki", ("uid", "mail", "memberOf"),  # type: ignore[attr-defined]
                                           "persistent", True, True)
    inum = stored.inum  # type: ignore[attr-defined]

    # refusals: named beside the field, nothing stored
    before = set(trusts(stack))
    other = f"https://other-{uuid.uuid4().hex[:8]}.test/sp"
    cases = [
        ({"metadata-text": "<!DOCTYPE x>" + sp_metadata(other)}, "metadata", "DOCTYPE"),
        ({"metadata-text": sp_metadata(other), "release-other": "userPassword"},
         "release", "never released"),
        ({"metadata-text": sp_metadata(other, encryption=False), "encrypt": "1"},
         "encrypt-assertions", "encryption certificate"),
        ({"metadata-text": sp_metadata(entity)}, "entity-id", "already trusted"),
        ({}, "metadata", "give the SP's metadata"),
        ({"metadata-text": sp_metadata(other), "metadata-url": "https://x.test/md"},
         "metadata", "not several"),
        ({"metadata-url": "http://127.0.0.1:9/md"}, "metadata", "https"),
        ({"metadata-url": "https://127.0.0.1:9/md"}, "metadata", "loopback"),
    ]
    for fields, field, words in cases:
        page.goto(ui.url + "/identity/trusts/new")  # type: ignore[attr-defined]
        for name in ("metadata-text", "metadata-url", "release-other"):
            if name in fields:
                page.fill(f"#{name}", fields[name])  # type: ignore[attr-defined]
        if "encrypt" in fields:
            page.check("#encrypt-assertions")  # type: ignore[attr-defined]
        submit(page, "Add service provider")
        assert words in error_of(page, field), (field, page.content())  # type: ignore[attr-defined]
        assert field in error_of(page, field)
    assert set(trusts(stack)) == before

    # pasted text works too
    pasted = f"https://pasted-{uuid.uuid4().hex[:8]}.test/sp"
    page.goto(ui.url + "/identity/trusts/new")  # type: ignore[attr-defined]
    page.fill("#metadata-text", sp_metadata(pasted))  # type: ignore[attr-defined]
    submit(page, "Add service provider")
    assert trusts(stack)[pasted].release == ("uid", "mail")  # type: ignore[attr-defined]

    # update: the stored metadata kept, the choices changed; a bad one changes nothing
    page.goto(f"{ui.url}/identity/trusts/{inum}")  # type: ignore[attr-defined]
    page.fill("#release-other", "pwdHistory")  # type: ignore[attr-defined]
    submit(page, "Save")
    assert "release" in error_of(page, "release")
    assert trusts(stack)[entity].release == ("uid", "mail", "memberOf")  # type: ignore[attr-defined]
    page.goto(f"{ui.url}/identity/trusts/{inum}")  # type: ignore[attr-defined]
    page.select_option("#nameid-format", "emailAddress")  # type: ignore[attr-defined]
    page.uncheck("#sign-assertions")  # type: ignore[attr-defined]
    page.fill("#release-other", "displayName")  # type: ignore[attr-defined]
    page.uncheck("#enabled")  # type: ignore[attr-defined]
    submit(page, "Save")
    assert page.locator(".ok").inner_text() == "Saved."  # type: ignore[attr-defined]
    updated = trusts(stack)[entity]
    assert (updated.nameid_format, updated.sign_assertions, updated.enabled,  # type: ignore[attr-defined]
            updated.release, updated.metadata) == (  # type: ignore[attr-defined]
        "emailAddress", False, False, ("uid", "mail", "memberOf", "displayName"),
        stored.metadata)  # type: ignore[attr-defined]
    page.goto(ui.url + "/identity/trusts")  # type: ignore[attr-defined]
    row = page.locator(f"tr[data-entity-id='{entity}']")  # type: ignore[attr-defined]
    assert "(disabled)" in row.inner_text() and "emailAddress" in row.inner_text()

    # remove
    page.goto(f"{ui.url}/identity/trusts/{inum}")  # type: ignore[attr-defined]
    submit(page, "Remove this service provider")
    assert page.url == ui.url + "/identity/trusts"  # type: ignore[attr-defined]
    assert entity not in trusts(stack)
    with stack.directory() as directory:
        events = audit.page(directory, limit=1000).events
    done = [e.action for e in events if e.target == entity]
    assert sorted(done) == ["ui.saml_trust.create", "ui.saml_trust.delete",
                            "ui.saml_trust.update"]
    assert {e.actor for e in events if e.target == entity} == {"admin"}
