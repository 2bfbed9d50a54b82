"""The admin UI's passport provider edit page in real headless Chromium (Debian's
``chromium``, driven by Playwright) against a real ``oxswarm run oxtrust`` on the local
stack: the attribute mapping and the "apply mapped attributes" setting edited, a refusal
named beside its row and nothing stored, the new secret never sent back nor logged, a form
or button made stale by another writer refused with nothing overwritten, a POST without
the CSRF token refused, every change in the audit log as the admin."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx
import pytest
from tests.oxauth.conftest import Server
from tests.oxtrust.test_ui_browser import (  # noqa: F401  (fixtures)
    admin,
    browser,
    ui,
)

from oxswarm.local.stack import Stack
from oxswarm.oxtrust import audit
from oxswarm.passport.providers import Provider, ProviderStore, build, secret_name

pytestmark = pytest.mark.integration


def stored(stack: Stack, pid: str) -> Provider:
    manager = stack.manager()
    try:
        return ProviderStore(manager).get(pid)
    finally:
        manager.store.close()


def other_writer(stack: Stack, pid: str, **change: Any) -> None:
    """Another admin (here: the store, as the CLI or the API writes) changes ``pid``."""
    manager = stack.manager()
    try:
        store = ProviderStore(manager)
        store.replace(dataclasses.replace(store.get(pid), **change))
    finally:
        manager.store.close()


def test_mapping_edit_stale_forms_and_audit(admin: object, ui: Server,  # noqa: F811
                                            stack: Stack) -> None:
    page: Any = admin
    pid = "edit" + uuid.uuid4().hex[:6]
    secret = "ui-new-secret-" + uuid.uuid4().hex
    manager = stack.manager()
    try:
        ProviderStore(manager).add(build({
            "id": pid, "issuer": "https://op.example.org", "client_id": "c",
            "mapping": {"nickname": "display_name"}}), "old-secret")
    finally:
        manager.store.close()
    page.goto(ui.url + "/identity/providers")
    page.locator(f"#provider-{pid} a:has-text('Edit')").click()
    assert page.locator("h1").inner_text() == f"Provider {pid}"
    assert page.input_value("#map_claim_0") == "nickname"
    assert page.input_value("#map_field_0") == "display_name"
    assert page.input_value("#update") == "first"
    # a claim with a space, and a field without a claim: each named beside its row
    page.fill("#map_claim_1", "bad claim")
    page.select_option("#map_field_1", "email")
    page.click("button:has-text('Save provider')")
    assert page.locator("#map_claim_1-error").inner_text().startswith("mapping:")
    assert page.input_value("#map_claim_1") == "bad claim"  # the entry is kept
    page.fill("#map_claim_1", "")
    page.click("button:has-text('Save provider')")
    assert "no claim" in page.locator("#map_claim_1-error").inner_text()
    page.fill("#map_claim_1", "nickname")  # mapped twice
    page.click("button:has-text('Save provider')")
    assert "twice" in page.locator("#map_claim_1-error").inner_text()
    assert stored(stack, pid).mapping == {"nickname": "display_name"}  # nothing stored
    # a good edit: the mapping, every sign-in, a new secret
    page.fill("#map_claim_1", "mail_alt")
    page.select_option("#map_field_0", "given_name")
    page.fill("#map_claim_2", "locale")
    page.select_option("#map_field_2", "")  # drops a default
    page.select_option("#update", "always")
    page.fill("#client_secret", secret)
    page.click("button:has-text('Save provider')")
    assert page.locator("[role=status]").inner_text() == f"Saved: provider {pid}."
    saved = stored(stack, pid)
    assert dict(saved.mapping) == {"nickname": "given_name", "mail_alt": "email",
                                   "locale": ""}
    assert saved.update == "always" and saved.issuer == "https://op.example.org"
    manager = stack.manager()
    try:
        assert manager.get_secret(secret_name(pid)) == secret
    finally:
        manager.store.close()
    # a form made stale by another writer: refused, the other change kept
    page.locator(f"#provider-{pid} a:has-text('Edit')").click()
    page.fill("#name", "From the stale form")
    other_writer(stack, pid, linking="existing_only")
    page.click("button:has-text('Save provider')")
    assert "changed by someone else" in page.locator("#problem").inner_text()
    now = stored(stack, pid)
    assert (now.linking, now.name) == ("existing_only", "")
    assert page.input_value("#name") == "From the stale form"  # the entry is not lost
    # a stale Disable button on the list
    page.goto(ui.url + "/identity/providers")
    other_writer(stack, pid, name="Renamed elsewhere")
    page.locator(f"#provider-{pid} button:has-text('Disable')").click()
    assert "changed by someone else" in page.locator("#problem").inner_text()
    assert stored(stack, pid).enabled is True
    # without the CSRF token: refused
    cookies = {c["name"]: c["value"] for c in page.context.cookies(ui.url + "/identity")}
    with httpx.Client(base_url=ui.url, cookies=cookies, trust_env=False) as http:
        assert http.post(f"/identity/providers/{pid}", data={
            "name": "x", "linking": "create", "update": "first"}).status_code == 403
    assert stored(stack, pid).name == "Renamed elsewhere"
    # a fresh page: disable, then remove
    page.goto(ui.url + "/identity/providers")
    page.locator(f"#provider-{pid} button:has-text('Disable')").click()
    assert stored(stack, pid).enabled is False
    page.locator(f"#provider-{pid} button:has-text('Remove')").click()
    assert page.locator(f"#provider-{pid}").count() == 0
    with stack.directory() as directory:
        events = [e for e in reversed(audit.page(directory, 0, 100).events)
                  if e.target == pid]
    assert [e.action for e in events] == ["ui.passport_provider.update"] * 2 + [
        "ui.passport_provider.delete"]  # the UI's actions carry ui.
    assert {e.actor for e in events} == {"admin"}
    assert events[0].detail["update"] == "always"
    assert events[0].detail["credential_changed"] is True
    assert events[1].detail == {"enabled": False}
    assert secret not in str([e.to_json() for e in events])
