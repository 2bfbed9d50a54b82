"""Registration metadata rules (RFC 7591 2, 3.2.2; OIDC Registration 2) and RFC 7592."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from tests.oauth.memory import Clients

from oxswarm.oauth import rfc7591, rfc7592
from oxswarm.oauth.rfc6749.errors import InvalidClientMetadata, InvalidRedirectUri, InvalidToken

POLICY = rfc7591.dynamic_policy(
    default_scopes=("openid", "profile", "email"), signing_algs=("RS256",), allow_http=False
)
CB = "https://rp.example/cb"


def test_defaults_and_credentials() -> None:
    meta = rfc7591.parse_metadata({"redirect_uris": [CB], "scope": "openid email x"}, POLICY)
    assert meta.grant_types == ("authorization_code",) and meta.response_types == ("code",)
    assert meta.scopes == ("openid", "email")
    client, _token = rfc7591.with_credentials(meta)
    assert client.client_secret and client.registration_access_token_hash
    body = rfc7591.client_response(client, "https://id/register?client_id=x")
    assert body["client_secret_expires_at"] == 0 and "registration_access_token_hash" not in body
    public, _ = rfc7591.with_credentials(rfc7591.parse_metadata(
        {"redirect_uris": [CB], "token_endpoint_auth_method": "none"}, POLICY))
    assert public.client_secret is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, InvalidRedirectUri),
        ({"redirect_uris": ["https://rp.example/cb#f"]}, InvalidRedirectUri),
        ({"redirect_uris": ["http://rp.example/cb"]}, InvalidRedirectUri),
        ({"redirect_uris": "https://rp.example/cb"}, InvalidClientMetadata),
        ({"redirect_uris": [CB], "grant_types": ["urn:magic"]}, InvalidClientMetadata),
        ({"redirect_uris": [CB], "response_types": ["token"]}, InvalidClientMetadata),
        ({"redirect_uris": [CB], "token_endpoint_auth_method": "private_key_jwt"},
         InvalidClientMetadata),
        ({"redirect_uris": [CB], "id_token_signed_response_alg": "none"}, InvalidClientMetadata),
        ({"redirect_uris": [CB, "https://other.example/cb"], "subject_type": "pairwise"},
         InvalidClientMetadata),
        ({"redirect_uris": [CB], "jwks": {"keys": []}, "jwks_uri": "https://rp.example/j"},
         InvalidClientMetadata),
    ],
)
def test_refused_metadata(data: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        rfc7591.parse_metadata(data, POLICY)
    assert caught.value.status_code == 400  # type: ignore[attr-defined]


def test_localhost_http_and_client_credentials_only() -> None:
    assert rfc7591.parse_metadata({"redirect_uris": ["http://localhost:8080/cb"]}, POLICY)
    meta = rfc7591.parse_metadata({"grant_types": ["client_credentials"]}, POLICY)
    assert meta.response_types == () and meta.redirect_uris == ()


def test_management_token_and_update() -> None:
    clients = Clients()
    client, token = rfc7591.with_credentials(rfc7591.parse_metadata({"redirect_uris": [CB]},
                                                                    POLICY))
    clients.add(client)
    assert asyncio.run(rfc7592.authorize(clients, client.client_id, token)) == client
    for cid, tok in [(client.client_id, "wrong"), ("nobody", token), (None, token)]:
        with pytest.raises(InvalidToken):
            asyncio.run(rfc7592.authorize(clients, cid, tok))
    fresh = rfc7592.updated(client, {"client_id": client.client_id, "redirect_uris": [CB],
                                     "client_name": "new"}, POLICY)
    assert fresh.client_name == "new" and fresh.client_secret == client.client_secret
    with pytest.raises(InvalidClientMetadata):
        rfc7592.updated(client, {"client_id": "other", "redirect_uris": [CB]}, POLICY)
    with pytest.raises(InvalidClientMetadata):
        rfc7592.updated(client, {"client_id": client.client_id, "redirect_uris": [CB],
                                 "client_secret": "guess"}, POLICY)


def test_update_keeps_what_an_administrator_gave() -> None:
    """RFC 7592 PUT: policy flags, admin scopes and the password grant stay; a body cannot
    set flags nor add scopes beyond the defaults."""
    base = rfc7591.parse_metadata({"redirect_uris": [CB]}, POLICY)
    client = dataclasses.replace(
        base, trusted=True, resource_server=True, allow_password_grant=True,
        access_token_lifetime=60, scopes=("openid", "payments"),
        grant_types=("authorization_code", "password"),
    )
    body = {"client_id": client.client_id, "redirect_uris": [CB], "trusted": False,
            "resource_server": False, "allow_password_grant": False, "skip_consent": True,
            "scope": "openid payments admin", "grant_types": ["authorization_code", "password"]}
    fresh = rfc7592.updated(client, body, POLICY)
    assert (fresh.trusted, fresh.resource_server, fresh.allow_password_grant) == (True, True, True)
    assert fresh.access_token_lifetime == 60
    assert fresh.scopes == ("openid", "payments")  # kept; "admin" dropped
    assert fresh.grant_types == ("authorization_code", "password")
    assert fresh.extra == {}
    # a client without the password grant cannot add it by an update
    with pytest.raises(InvalidClientMetadata, match="grant_types"):
        rfc7592.updated(base, {"client_id": base.client_id, "redirect_uris": [CB],
                               "grant_types": ["authorization_code", "password"]}, POLICY)
