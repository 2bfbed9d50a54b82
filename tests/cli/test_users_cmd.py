"""``oxswarm users``: bad input exits 2 naming the field (checked before any I/O)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from oxswarm.cli.main import cli

STORE = ["--store", "etcd://127.0.0.1:1", "--master-key-file", "/nonexistent"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--username", "bob", "--password", "short"], "password"),
        (["--username", "bobbybobby", "--password", "BobbyBobby"], "password"),
        (["--username", "bad user", "--password", "long enough pw"], "username"),
        (["--username", "bob", "--password", "long enough pw", "--email", "nope"], "email"),
    ],
)
def test_add_bad_input(args: list[str], field: str) -> None:
    result = CliRunner().invoke(cli, ["users", "add", *args, *STORE])
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith(f"error: {field}:")
    assert len(result.output.strip().splitlines()) == 1


def test_passwd_weak() -> None:
    result = CliRunner().invoke(
        cli, ["users", "passwd", "--username", "bob", "--password", "1234", *STORE]
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: password:")
