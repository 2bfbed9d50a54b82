"""``oxswarm users``: bad input exits 2 naming the field (checked before any I/O); the
password never comes from the command line (issue 8): a hidden prompt asked twice,
``--password-file`` or ``--password-stdin``; ``--password VALUE`` is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from oxswarm.cli.main import cli
from oxswarm.directory.people import PeopleRepository
from oxswarm.directory.tree import Tree
from oxswarm.local.stack import Stack, start_stack

STORE = ["--store", "etcd://127.0.0.1:1", "--master-key-file", "/nonexistent"]


def invoke(args: list[str], stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, *STORE], input=stdin)
    return result.exit_code, result.output.strip()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--username", "bob"], "password"),
        (["--username", "bobbybobby"], "password"),
        (["--username", "bad user"], "username"),
        (["--username", "bob", "--email", "nope"], "email"),
    ],
)
def test_add_bad_input(args: list[str], field: str) -> None:
    password = {"bob": "short", "bobbybobby": "BobbyBobby"}.get(args[1], "long enough pw")
    code, output = invoke(["users", "add", *args, "--password-stdin"], password + "\n")
    assert code == 2, output
    assert output.startswith(f"error: {field}:")
    assert len(output.splitlines()) == 1


def test_passwd_weak() -> None:
    code, output = invoke(["users", "passwd", "--username", "bob", "--password-stdin"], "1234\n")
    assert code == 2
    assert output.startswith("error: password:")


@pytest.mark.parametrize("command", ["add", "passwd"])
def test_password_on_the_command_line_is_refused(command: str) -> None:
    code, output = invoke(["users", command, "--username", "bob", "--password", "long enough pw"])
    assert code == 2
    assert output.splitlines() == [
        "error: password: --password is not accepted (it would show in ps); use "
        "--password-file PATH, --password-stdin or the prompt (on a terminal)"
    ]
    assert "long enough pw" not in output


def test_no_source_without_a_terminal_is_refused() -> None:
    code, output = invoke(["users", "passwd", "--username", "bob"])
    assert code == 2 and output.startswith("error: password: not given; use --password-file")


def test_both_sources_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("long enough pw\n")
    args = ["users", "passwd", "--username", "bob", "--password-file", str(secret)]
    code, output = invoke([*args, "--password-stdin"], "x\n")
    assert code == 2 and "not both" in output


def test_unreadable_password_file_names_the_option(tmp_path: Path) -> None:
    code, output = invoke(
        ["users", "passwd", "--username", "bob", "--password-file", str(tmp_path / "missing")]
    )
    assert code == 2 and output.startswith("error: password-file: cannot read")


def test_each_source_reaches_the_password_check(tmp_path: Path) -> None:
    """A weak password from each source is seen (and refused) before any I/O."""
    weak = tmp_path / "weak"
    weak.write_text("short\r\nsecond line ignored\n")
    base = ["users", "passwd", "--username", "bob"]
    assert invoke([*base, "--password-file", str(weak)])[1].startswith("error: password: too weak")
    assert invoke([*base, "--password-stdin"], "short")[1].startswith("error: password: too weak")
    prompted = invoke([*base, "--interactive"], "short\nshort\n")[1]
    assert "New password:" in prompted and "error: password: too weak" in prompted
    assert "short" not in prompted.replace("too weak", "")  # the prompt hides the input


def test_the_prompt_asks_twice_until_both_match() -> None:
    code, output = invoke(
        ["users", "passwd", "--username", "bob", "--interactive"], "a-long-pw-1\nother-pw-2\n"
    )
    assert "do not match" in output.lower() and code != 0


# -- against a real directory, through a real process -------------------------------------
@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("users-stack"))
    try:
        yield running
    finally:
        running.stop()


def oxswarm(stack: Stack, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    info = stack.describe()
    argv = [
        sys.executable,
        "-m",
        "oxswarm",
        "users",
        *args,
        "--store",
        info["store"],
        "--cluster",
        info["cluster"],
        "--master-key-file",
        info["master_key_file"],
        "--ldap-url",
        info["ldap"],
    ]
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=60, env=dict(os.environ)
    )


def authenticates(stack: Stack, username: str, password: str) -> bool:
    with stack.directory() as directory:
        return PeopleRepository(directory).authenticate(username, password) is not None


def stored_password(stack: Stack, username: str) -> list[str]:
    with stack.directory() as directory:
        person = PeopleRepository(directory).get_by_uid(username)
        assert person is not None
        return directory.read(Tree().person(person.inum), ["userPassword"]).all("userPassword")


ARGON2ID = "{ARGON2}$argon2id$v=19$m=7168,t=5,p=1$"  # hashed by oxswarm at OWASP's setting


@pytest.mark.integration
def test_stdin_and_file_set_the_password_in_a_real_directory(stack: Stack, tmp_path: Path) -> None:
    username = f"dora{uuid.uuid4().hex[:6]}"
    first, second = "first-Secret-1 é", "second-Secret-2"
    added = oxswarm(stack, "add", "--username", username, "--password-stdin", stdin=first + "\n")
    assert added.returncode == 0, added.stderr
    assert authenticates(stack, username, first)
    stored = stored_password(stack, username)
    assert len(stored) == 1 and stored[0].startswith(ARGON2ID), stored

    secret = tmp_path / "new-password"
    secret.write_text(second + "\n")
    secret.chmod(0o600)
    changed = oxswarm(stack, "passwd", "--username", username, "--password-file", str(secret))
    assert changed.returncode == 0, changed.stderr
    assert authenticates(stack, username, second) and not authenticates(stack, username, first)
    assert stored_password(stack, username)[0].startswith(ARGON2ID)
    assert stored_password(stack, username) != stored

    refused = oxswarm(stack, "passwd", "--username", username, "--password", "third-Secret-3")
    assert refused.returncode == 2 and "--password is not accepted" in refused.stderr
    assert authenticates(stack, username, second)
