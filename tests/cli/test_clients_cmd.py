"""``oxswarm clients``: bad input exits 2 naming the field (checked before any I/O)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from oxswarm.cli.clients_cmd import build_client, response_types_for
from oxswarm.cli.main import cli

STORE = ["--store", "etcd://127.0.0.1:1", "--master-key-file", "/nonexistent"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--name", "x", "--redirect-uri", "ftp://a.example/cb"], "redirect-uri"),
        (["--name", "x", "--redirect-uri", "http://a.example/cb"], "redirect-uri"),
        (["--name", "x", "--redirect-uri", "https://a.example/cb#frag"], "redirect-uri"),
        (["--name", "x", "--redirect-uri", "not a url"], "redirect-uri"),
        (["--name", "x"], "redirect-uri"),
        (["--name", "x", "--grant-type", "bogus", "--redirect-uri", "https://a/cb"], "grant-type"),
        (
            ["--name", "x", "--auth-method", "magic", "--redirect-uri", "https://a/cb"],
            "auth-method",
        ),
        (["--name", "x", "--public", "--grant-type", "client_credentials"], "grant-type"),
        (
            [
                "--name",
                "x",
                "--public",
                "--auth-method",
                "client_secret_post",
                "--redirect-uri",
                "https://a/cb",
            ],
            "auth-method",
        ),
        (["--name", "x", "--scope", 'bad"scope', "--redirect-uri", "https://a/cb"], "scope"),
        (["--name", " ", "--redirect-uri", "https://a/cb"], "name"),
        (
            [
                "--name",
                "x",
                "--redirect-uri",
                "https://a/cb",
                "--post-logout-redirect-uri",
                "javascript:alert(1)",
            ],
            "post-logout-redirect-uri",
        ),
        (
            ["--name", "x", "--auth-method", "private_key_jwt", "--redirect-uri", "https://a/cb"],
            "jwks-uri",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_field(args: list[str], field: str) -> None:
    result = CliRunner().invoke(cli, ["clients", "add", *args, *STORE])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {field}:")


def test_bad_access_token_format_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        cli, ["clients", "add", "--name", "x", "--access-token-format", "xml", *STORE]
    )
    assert result.exit_code == 2
    assert "access-token-format" in result.output


def test_unreachable_store_exits_1() -> None:
    result = CliRunner().invoke(
        cli, ["clients", "list", "--store", "etcd://127.0.0.1:1", "--master-key-file", "/nope"]
    )
    assert result.exit_code == 1
    assert result.output.startswith("error:")


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
    assert response_types_for(("client_credentials",)) == []
    assert set(response_types_for(("authorization_code", "implicit"))) == {
        "code",
        "id_token",
        "id_token token",
        "token",
        "code id_token",
        "code token",
        "code id_token token",
    }
