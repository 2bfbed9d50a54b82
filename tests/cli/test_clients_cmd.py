"""``oxswarm clients``: bad input exits 2 naming the field (checked before any I/O)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

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


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--redirect-uri", "javascript:alert(1)"], "redirect-uri"),
        (["--redirect-uri", "https://a.example/cb#f"], "redirect-uri"),
        (["--frontchannel-logout-uri", "data:text/html,x"], "frontchannel-logout-uri"),
        (["--frontchannel-logout-uri", "https://a.example/x;script-src"],
         "frontchannel-logout-uri"),
        (["--jwks-uri", "http://a.example/jwks"], "jwks-uri"),
        (["--grant-type", "bogus"], "grant-type"),
        (["--scope", 'bad"scope'], "scope"),
        (["--name", " "], "name"),
        (["--auth-method", "magic"], "auth-method"),
    ],
)
def test_update_bad_input_exits_2_before_any_io(args: list[str], field: str) -> None:
    result = CliRunner().invoke(cli, ["clients", "update", "some-client", *args, *STORE])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {field}:")


def test_add_javascript_redirect_uri_exits_2() -> None:
    result = CliRunner().invoke(
        cli, ["clients", "add", "--name", "x", "--redirect-uri", "javascript:alert(1)", *STORE]
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: redirect-uri:") and "javascript" in result.output


@pytest.mark.parametrize(
    ("args", "field"),
    [(["--ttl", "0"], "ttl"), (["--ttl", "99999999"], "ttl"), (["--uses", "0"], "uses")],
)
def test_registration_token_bad_input_exits_2(args: list[str], field: str) -> None:
    result = CliRunner().invoke(cli, ["clients", "registration-token", *args, *STORE])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}:")
