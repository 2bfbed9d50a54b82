"""Client building for the admin tools: defaults, public clients, response types."""

from __future__ import annotations

import pytest

from oxswarm.errors import InvalidInput
from oxswarm.oauth.client_metadata import response_types_for
from oxswarm.oxauth.clients_admin import build_client, client_json


def test_build_client_defaults() -> None:
    client = build_client(
        name="web",
        grant_types=(),
        redirect_uris=("http://localhost:3000/cb",),
        post_logout_redirect_uris=(),
        auth_method=None,
        scopes=(),
        public=False,
        access_token_format="jwt",
    )
    assert client.grant_types == ["authorization_code", "refresh_token"]
    assert client.response_types == ["code"]
    assert client.scopes == ["openid", "profile", "email"]
    assert client.token_endpoint_auth_method == "client_secret_basic"
    assert client.client_secret and len(client.client_secret) >= 43
    assert client.access_token_format == "jwt"


def test_public_client_has_no_secret() -> None:
    client = build_client(
        name="spa",
        grant_types=(),
        redirect_uris=("https://spa.example/cb",),
        post_logout_redirect_uris=(),
        auth_method=None,
        scopes=(),
        public=True,
        access_token_format="opaque",
    )
    assert client.client_secret is None
    assert client.token_endpoint_auth_method == "none"


def test_response_types_follow_grants() -> None:
    assert response_types_for(("client_credentials",)) == ()
    assert set(response_types_for(("authorization_code", "implicit"))) == {
        "code",
        "id_token",
        "id_token token",
        "token",
        "code id_token",
        "code token",
        "code id_token token",
    }


def test_bad_redirect_uri_names_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        build_client(
            name="web", grant_types=(), redirect_uris=("http://app.example/cb",),
            post_logout_redirect_uris=(), auth_method=None, scopes=(), public=False,
            access_token_format="opaque",
        )
    assert caught.value.field == "redirect-uri"


def test_client_json_shows_the_secret_only_when_asked() -> None:
    client = build_client(
        name="web", grant_types=("client_credentials",), redirect_uris=(),
        post_logout_redirect_uris=(), auth_method=None, scopes=("read",), public=False,
        access_token_format="opaque",
    )
    assert "client_secret" not in client_json(client)
    shown = client_json(client, secret=True)
    assert shown["client_secret"] == client.client_secret and shown["scope"] == "read"


def test_update_changes_only_what_is_given() -> None:
    from oxswarm.oxauth.clients_admin import update_client

    client = build_client(
        name="web", grant_types=(), redirect_uris=("https://app.example/cb",),
        post_logout_redirect_uris=("https://app.example/bye",), auth_method=None,
        scopes=("openid", "payments"), public=False, access_token_format="jwt", trusted=True,
    )
    client = client.model_copy(update={"metadata": {"extra": {"skip_consent": True}}})
    fresh = update_client(client, name="Web 2", resource_server=True)
    assert fresh.name == "Web 2" and fresh.trusted and fresh.resource_server
    assert fresh.client_secret == client.client_secret
    assert fresh.scopes == ["openid", "payments"] and fresh.access_token_format == "jwt"
    assert fresh.post_logout_redirect_uris == ["https://app.example/bye"]
    assert "skip_consent" not in str(fresh.metadata)  # junk from before is not kept
    cleared = update_client(fresh, post_logout_redirect_uris=("",), trusted=False)
    assert cleared.post_logout_redirect_uris == [] and not cleared.trusted
    with pytest.raises(InvalidInput) as caught:
        update_client(fresh, redirect_uris=("javascript:alert(1)",))
    assert caught.value.field == "redirect-uri"
    public = update_client(fresh, auth_method="none")
    assert public.client_secret is None
    again = update_client(public, auth_method="client_secret_post")
    assert again.client_secret and again.client_secret != client.client_secret


def test_administrator_may_give_the_password_grant_and_loopback_http() -> None:
    client = build_client(
        name="legacy", grant_types=("password",), redirect_uris=(),
        post_logout_redirect_uris=(), auth_method=None, scopes=(), public=False,
        access_token_format="opaque", jwks_uri="http://127.0.0.1:9000/jwks",
    )
    assert client.grant_types == ["password"] and client.jwks_uri == "http://127.0.0.1:9000/jwks"
    assert client_json(client)["trusted"] is False
