"""openid-client against a real single-host stack, beyond the code flow: the implicit flow
(``implicitAuthentication``) and the hybrid flow ``code id_token``
(``useCodeIdTokenResponseType`` + ``authorizationCodeGrant``), each with the fragment and
form_post response modes; ``PrivateKeyJwt`` and ``ClientSecretJwt`` client authentication
(and a replayed assertion refused); an RFC 9068 JWT access token validated by
oauth4webapi's ``validateJwtAccessToken``. The library itself checks every ID token
(signature included: ``enableNonRepudiationChecks``), nonce, state, ``c_hash`` and iss.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from oxswarm.local.dev import DevInfo

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def flows(dev_stack: DevInfo,
          run_rp: Callable[[str, dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    client = dev_stack.client
    payload = {
        "issuer": dev_stack.issuer,
        "redirect_uri": client["redirect_uris"][0],
        "username": dev_stack.admin_user,
        "password": Path(dev_stack.admin_password_file).read_text().strip(),
    }
    return run_rp("rp_advanced.mjs", payload)


@pytest.mark.parametrize("mode", ["fragment", "form_post"])
def test_implicit(flows: dict[str, Any], mode: str) -> None:
    got = flows["implicit"][mode]
    assert got["nonce_ok"] and got["sub"] and got["aud"]
    assert got["fields"] == ["id_token", "iss", "state"]
    assert got["amr"] == ["pwd"]
    assert got["acr"] == "simple_password_auth"


def test_implicit_signs_in_once(flows: dict[str, Any]) -> None:
    assert flows["implicit"]["fragment"]["steps"][0] == "login"
    assert flows["implicit"]["form_post"]["steps"] == []  # SSO, consent remembered


@pytest.mark.parametrize("mode", ["fragment", "form_post"])
def test_hybrid(flows: dict[str, Any], mode: str) -> None:
    got = flows["hybrid"][mode]
    assert got["fields"] == ["code", "id_token", "iss", "state"]
    assert got["has_access_token"]
    assert got["sub"] == flows["implicit"]["fragment"]["sub"]


def test_private_key_jwt(flows: dict[str, Any]) -> None:
    got = flows["private_key_jwt"]
    assert got["method"] == "private_key_jwt"
    assert got["token_type"].lower() == "bearer"
    assert got["active"] and got["client_id_ok"]
    assert got["replay"] == {"first": 200, "second": 401, "error": "invalid_client"}


def test_client_secret_jwt(flows: dict[str, Any]) -> None:
    got = flows["client_secret_jwt"]
    assert got["method"] == "client_secret_jwt"
    assert got["has_access_token"] and got["token_type"].lower() == "bearer"


def test_jwt_access_token(flows: dict[str, Any], dev_stack: DevInfo) -> None:
    got = flows["jwt_access_token"]
    assert got["typ"] == "at+jwt"
    assert got["iss"] == dev_stack.issuer
    assert got["aud"] == got["client_id"]
    assert got["sub_ok"] and got["has_jti"]
    assert set(got["scope"].split()) == {"openid", "profile"}
    assert got["tampered_rejected"] is True
