"""``oxswarm providers`` against the real config store: add, list (table, JSON), show,
update, enable, disable, remove; the client secret only from a file, stored encrypted,
never printed; every change in the audit log (actor ``cli:<user>``, never the secret);
bad input exits 2 with one line naming the option, nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.passport.conftest import Passport

from oxswarm.oxtrust import audit
from oxswarm.passport.providers import CONFIG_KEY, secret_name

pytestmark = pytest.mark.integration

SECRET = "cli-secret-0123456789abcdef"


def one_line_error(done: object, exit_code: int, *words: str) -> None:
    import subprocess

    assert isinstance(done, subprocess.CompletedProcess)
    assert done.returncode == exit_code, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def audited(passport: Passport, target: str) -> list[audit.AuditEvent]:
    """The audit log's entries about ``target``, oldest first."""
    with passport.stack.directory() as directory:
        events = audit.page(directory, 0, 200).events
    return [e for e in reversed(events) if e.target == target]


def test_crud(passport: Passport, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"nickname": "display_name", "phone_number": ""}))
    done = passport.cli("providers", "add", "--id", "clitest", "--issuer",
                        "https://op.example.org", "--client-id", "abc", "--client-secret-file",
                        str(secret), "--scope", "email", "--mapping", str(mapping),
                        "--linking", "link_by_email", "--update", "always", "--json")
    assert done.returncode == 0, done.stderr
    added = json.loads(done.stdout)
    assert added["scopes"] == ["openid", "email"] and added["linking"] == "link_by_email"
    assert added["mapping"] == {"nickname": "display_name", "phone_number": ""}
    assert added["client_secret"] == "set" and SECRET not in done.stdout
    manager = passport.stack.manager()
    try:
        raw = manager.store.get(manager.secret_key(secret_name("clitest")))
        assert raw is not None and SECRET.encode() not in raw  # encrypted at rest
        assert manager.get_secret(secret_name("clitest")) == SECRET
        assert SECRET not in (manager.get(CONFIG_KEY) or "")
    finally:
        manager.store.close()
    table = passport.cli("providers", "list").stdout
    assert "ID" in table and "clitest" in table and "https://op.example.org" in table
    assert SECRET not in table
    listed = json.loads(passport.cli("providers", "list", "--json").stdout)
    assert "clitest" in [p["id"] for p in listed]
    done = passport.cli("providers", "update", "clitest", "--linking", "existing_only",
                        "--name", "Example OP", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(passport.cli("providers", "show", "clitest", "--json").stdout)
    assert shown["linking"] == "existing_only" and shown["name"] == "Example OP"
    assert shown["scopes"] == ["openid", "email"] and shown["update"] == "always"
    secret.write_text(SECRET + "-new\n")
    done = passport.cli("providers", "update", "clitest", "--client-secret-file", str(secret))
    assert done.returncode == 0 and SECRET not in done.stdout, done.stderr
    assert passport.cli("providers", "disable", "clitest").returncode == 0
    assert json.loads(passport.cli("providers", "show", "clitest", "--json").stdout)[
        "enabled"] is False
    assert passport.cli("providers", "enable", "clitest").returncode == 0
    done = passport.cli("providers", "remove", "clitest")
    assert done.returncode == 0 and "clitest" in done.stdout
    one_line_error(passport.cli("providers", "show", "clitest"), 2, "id", "clitest")
    manager = passport.stack.manager()
    try:
        assert manager.get_secret(secret_name("clitest")) is None
    finally:
        manager.store.close()
    # every change in the audit log, by the OS user, never the secret
    events = audited(passport, "clitest")[-6:]
    assert [e.action for e in events] == ["passport_provider.create"] + [
        "passport_provider.update"] * 4 + ["passport_provider.delete"]
    assert all(e.actor.startswith("cli:") for e in events)
    assert events[0].detail["linking"] == "link_by_email"
    assert events[0].detail["mapping"] == {"nickname": "display_name", "phone_number": ""}
    assert events[1].detail["linking"] == "existing_only"
    assert events[1].detail["credential_changed"] is False
    assert events[2].detail["credential_changed"] is True  # that it changed, not what to
    assert (events[3].detail, events[4].detail) == ({"enabled": False}, {"enabled": True})
    assert SECRET not in str([e.to_json() for e in events])


def test_bad_input(passport: Passport, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    base = ["providers", "add", "--issuer", "https://op.example.org", "--client-id", "c",
            "--client-secret-file", str(secret)]
    one_line_error(passport.cli(*base, "--id", "Bad Id"), 2, "id:")
    one_line_error(passport.cli(*base[:-2], "--id", "nosecret"), 2, "client-secret-file")
    one_line_error(passport.cli(*base[:-1], str(tmp_path / "absent"), "--id", "x1"), 2,
                   "client-secret-file")
    one_line_error(passport.cli(*base, "--id", "x2", "--linking", "merge"), 2, "linking")
    one_line_error(passport.cli(*base, "--id", "x3", "--type", "cas"), 2, "type")
    one_line_error(passport.cli("providers", "add", "--id", "x4", "--issuer", "ftp://x",
                                "--client-id", "c", "--client-secret-file", str(secret)),
                   2, "issuer")
    bad_map = tmp_path / "map.json"
    bad_map.write_text('{"x": "userPassword"}')
    one_line_error(passport.cli(*base, "--id", "x5", "--mapping", str(bad_map)), 2, "mapping")
    bad_map.write_text("[1")
    one_line_error(passport.cli(*base, "--id", "x6", "--mapping", str(bad_map)), 2, "mapping")
    assert passport.cli(*base, "--id", "dup").returncode == 0
    one_line_error(passport.cli(*base, "--id", "dup"), 2, "already exists")
    one_line_error(passport.cli("providers", "update", "nope", "--name", "x"), 2, "nope")
    listed = [p["id"] for p in json.loads(passport.cli("providers", "list", "--json").stdout)]
    assert not {"x1", "x2", "x3", "x4", "x5", "x6", "nosecret"} & set(listed)
    assert passport.cli("providers", "remove", "dup").returncode == 0
