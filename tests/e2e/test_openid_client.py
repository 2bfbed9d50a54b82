"""openid-client (a certified relying party, Node.js) against a real single-host stack:
discovery, code + PKCE with sign-in and consent, ID token validation (signature included:
``enableNonRepudiationChecks``), userinfo, refresh rotation, client credentials,
introspection, revocation, dynamic registration with single sign-on, RP-initiated logout.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from oxswarm.local.dev import DevInfo

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def flows(dev_stack: DevInfo,
          run_rp: Callable[[str, dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    client = dev_stack.client
    payload = {
        "issuer": dev_stack.issuer,
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "redirect_uri": client["redirect_uris"][0],
        "post_logout_redirect_uri": client["post_logout_redirect_uris"][0],
        "username": dev_stack.admin_user,
        "password": Path(dev_stack.admin_password_file).read_text().strip(),
    }
    return run_rp("rp.mjs", payload)


def test_discovery(flows: dict[str, Any], dev_stack: DevInfo) -> None:
    assert flows["discovery"]["issuer"] == dev_stack.issuer
    assert flows["discovery"]["end_session_endpoint"].endswith("/oxauth/restv1/end_session")


def test_code_flow_with_login_and_consent(flows: dict[str, Any], dev_stack: DevInfo) -> None:
    code = flows["code"]
    assert code["steps"] == ["login", "consent"]
    assert code["iss"] == dev_stack.issuer
    assert code["aud"] == dev_stack.client["client_id"]
    assert code["sid"] and code["sub"] and code["auth_time"]
    assert code["has_refresh"]


def test_userinfo(flows: dict[str, Any]) -> None:
    assert flows["userinfo"]["sub"] == flows["code"]["sub"]
    assert flows["userinfo"]["preferred_username"] == "admin"
    assert "@" in flows["userinfo"]["email"]


def test_refresh_rotates(flows: dict[str, Any]) -> None:
    assert flows["refresh"]["access_token_changed"]
    assert flows["refresh"]["refresh_token_rotated"]


def test_client_credentials(flows: dict[str, Any]) -> None:
    cc = flows["client_credentials"]
    assert cc["has_access_token"] and cc["token_type"].lower() == "bearer"
    assert cc["expires_in"] > 0


def test_introspection_and_revocation(flows: dict[str, Any]) -> None:
    intro = flows["introspection"]
    assert intro["active_before"] is True
    assert intro["sub_before"] == flows["code"]["sub"]
    assert intro["active_after"] is False


def test_dynamic_registration_and_single_sign_on(flows: dict[str, Any]) -> None:
    reg = flows["registration"]
    assert reg["has_secret"]
    assert reg["steps"] == ["consent"]  # already signed in: no second login
    assert reg["same_sub"] and reg["same_sid"]


def test_rp_initiated_logout(flows: dict[str, Any]) -> None:
    logout = flows["logout"]
    assert logout["status"] == 303
    location = urlsplit(logout["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://localhost:8080/"
    assert parse_qs(location.query)["state"] == [logout["state"]]
    silent = parse_qs(urlsplit(logout["silent_location"]).query)
    assert silent["error"] == ["login_required"]
    assert silent["state"] == ["after-logout"]
