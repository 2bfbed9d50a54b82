"""Wrong or missing credentials: the command says which, exits 1, no traceback, no secret
(real etcd, slapd, Redis and Twemproxy from ``start_stack``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from oxswarm.cli.main import cli
from oxswarm.config import keys as K
from oxswarm.crypto import pki
from oxswarm.local.stack import Stack, start_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("stack"))
    try:
        yield running
    finally:
        running.stop()


def run(stack: Stack, *args: str) -> tuple[int, str]:
    env = {"OXSWARM_STORE": stack.store_url, "OXSWARM_CLUSTER": stack.cluster,
           "OXSWARM_MASTER_KEY_FILE": str(stack.master_key_file)}
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.output


def one_line_error(output: str) -> str:
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    return lines[0]


def test_the_directory_refuses_a_wrong_password(stack: Stack) -> None:
    code, out = run(stack, "clients", "list")
    assert code == 0, out  # the control
    manager = stack.manager()
    right = manager.get_secret(K.LDAP_ADMIN_PW) or ""
    try:
        manager.set_secret(K.LDAP_ADMIN_PW, "Not-The-Password-1")
        code, out = run(stack, "clients", "list")
        assert code == 1
        line = one_line_error(out)
        assert "bind as cn=directory manager,o=gluu" in line and "invalidCredentials" in line
        assert "Not-The-Password-1" not in out and right not in out
    finally:
        manager.set_secret(K.LDAP_ADMIN_PW, right)
        manager.store.close()


def test_a_directory_the_cluster_ca_did_not_sign_is_refused(stack: Stack) -> None:
    manager = stack.manager()
    ca = manager.get(K.CA_CERT) or ""
    try:
        manager.set(K.CA_CERT, pki.create_ca("Someone Else").cert_pem)
        code, out = run(stack, "clients", "list")
        assert code == 1
        line = one_line_error(out)
        assert "no directory server answered" in line and "certificate" in line.lower()
    finally:
        manager.set(K.CA_CERT, ca)
        manager.store.close()


def test_a_wrong_master_key_is_named(stack: Stack, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.key"
    wrong.write_bytes(b"\x01" * 32)
    wrong.chmod(0o600)
    result = CliRunner().invoke(cli, ["cache", "rotate-password", "--settle", "0"], env={
        "OXSWARM_STORE": stack.store_url, "OXSWARM_CLUSTER": stack.cluster,
        "OXSWARM_MASTER_KEY_FILE": str(wrong)})
    assert result.exit_code == 1
    line = one_line_error(result.output)
    assert "redis_pw" in line or "master key" in line.lower(), line
