"""``oxswarm ldap init`` with a real etcd (config store) and a real slapd."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from oxswarm.cli.main import cli
from oxswarm.cli.options import open_manager
from oxswarm.config import keys
from oxswarm.directory.connection import Directory, DirectoryConfig
from oxswarm.directory.people import PeopleRepository
from oxswarm.local.etcd import EtcdCluster
from oxswarm.local.process import free_port
from oxswarm.local.slapd import plan_nodes, start_nodes, stop_nodes, write_tls
from oxswarm.settings import Settings

pytestmark = pytest.mark.integration

PARAMS = {
    "hostname": "id.example.org",
    "country_code": "US",
    "state": "TX",
    "city": "Austin",
    "admin_email": "admin@example.org",
    "org_name": "Example Inc",
    "admin_pw": "Adm1n-Passw0rd!",
}


@pytest.fixture
def env(etcd_cluster: EtcdCluster, tmp_path: Path) -> dict[str, str]:
    env = {
        "OXSWARM_STORE": etcd_cluster.url,
        "OXSWARM_CLUSTER": f"t{secrets.token_hex(5)}",
        "OXSWARM_MASTER_KEY_FILE": str(tmp_path / "master.key"),
    }
    params = tmp_path / "params.json"
    params.write_text(json.dumps(PARAMS))
    assert run(env, "config", "generate", "--params", str(params)).exit_code == 0
    return env


def settings_of(env: dict[str, str]) -> Settings:
    return Settings.load(env)


def run(env: dict[str, str], *args: str) -> Result:
    result = CliRunner(env=env).invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result


def test_ldap_init_twice(env: dict[str, str], tmp_path: Path) -> None:
    with open_manager(settings_of(env)) as manager:
        root_pw = manager.get_secret(keys.LDAP_ADMIN_PW)
        admin_inum = manager.get(keys.ADMIN_INUM)
        ca_cert, ca_key = manager.get(keys.CA_CERT), manager.get_secret(keys.CA_KEY)
    assert root_pw and admin_inum
    assert ca_cert and ca_key
    # the directory's certificate from the cluster's CA, which `ldap init` trusts
    tls = write_tls(tmp_path / "tls", ca_cert, ca_key, ["localhost", "127.0.0.1"])
    nodes = plan_nodes(tmp_path / "ldap", 1, root_pw, tls=tls)
    start_nodes(nodes)
    try:
        url = nodes[0].url
        first = run(env, "ldap", "init", "--url", url)
        assert first.exit_code == 0, first.output
        assert f"added inum={admin_inum},ou=people,o=gluu" in first.stdout
        second = run(env, "ldap", "init", "--url", url)
        assert second.exit_code == 0, second.output
        assert "0 added" in second.stdout and "already present" in second.stdout
        config = DirectoryConfig((url,), "cn=directory manager,o=gluu", root_pw,
                                 ca_file=tls.ca_file)
        with Directory(config) as directory:
            people = PeopleRepository(directory)
            assert people.authenticate("admin", PARAMS["admin_pw"]) is not None
            stored = directory.read(people.tree.person(admin_inum), ["userPassword"])
            assert (stored.get("userPassword") or "").startswith("{ARGON2}")
    finally:
        stop_nodes(nodes)


def test_ldap_init_errors(env: dict[str, str]) -> None:
    result = run(env, "ldap", "init")
    assert result.exit_code == 2
    assert "url" in result.stderr
    result = run(env, "ldap", "init", "--url", "http://nope")
    assert result.exit_code == 2
    dead = f"ldap://127.0.0.1:{free_port()}"
    result = run(env, "ldap", "init", "--url", dead)
    assert result.exit_code == 1
    assert "no directory server answered" in result.stderr
