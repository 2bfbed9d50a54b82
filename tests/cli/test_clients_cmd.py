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
