"""``oxswarm config`` against a real 3-member etcd cluster started by the test."""

import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from oxswarm.cli.main import cli
from oxswarm.config.etcd import EtcdStore
from oxswarm.local.etcd import EtcdCluster, start_etcd_cluster
from oxswarm.local.process import free_port

PASSWORD = "Adm1n-Passw0rd!"
PARAMS = {
    "hostname": "id.example.org",
    "country_code": "US",
    "state": "TX",
    "city": "Austin",
    "admin_email": "admin@example.org",
    "org_name": "Example Inc",
    "admin_pw": PASSWORD,
}


@pytest.fixture
def env(etcd_cluster: EtcdCluster, tmp_path: Path) -> dict[str, str]:
    """Store, a cluster name of this test's own, and a master key path (not created)."""
    return {
        "OXSWARM_STORE": etcd_cluster.url,
        "OXSWARM_CLUSTER": f"t{secrets.token_hex(5)}",
        "OXSWARM_MASTER_KEY_FILE": str(tmp_path / "keys" / "master.key"),
    }


@pytest.fixture
def params_file(tmp_path: Path) -> Path:
    path = tmp_path / "params.json"
    path.write_text(json.dumps(PARAMS))
    return path


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    result = CliRunner(env=env).invoke(cli, ["config", *args], input=stdin)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def show_json(env: dict[str, str], **extra: str) -> dict[str, dict[str, str]]:
    result = run({**env, **extra}, "show", "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, dict[str, str]] = json.loads(result.stdout)
    return data


pytestmark = pytest.mark.integration


def test_generate_show_get_dump_load_round_trip(
    env: dict[str, str], params_file: Path, tmp_path: Path
) -> None:
    key_path = Path(env["OXSWARM_MASTER_KEY_FILE"])
    result = run(env, "generate", "--params", str(params_file))
    assert result.exit_code == 0, result.output
    assert f"created master key file {key_path}" in result.stdout
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600

    shown = show_json(env)
    assert shown["config"]["hostname"] == "id.example.org"
    assert shown["secret"]["admin_pw"] == "**********"
    assert set(shown["secret"].values()) == {"**********"}
    text = run(env, "show")
    assert text.exit_code == 0
    assert "hostname = id.example.org" in text.stdout
    assert PASSWORD not in text.stdout
    assert "admin_pw = **********" in text.stdout

    assert run(env, "get", "admin_pw").stdout.strip() == PASSWORD
    assert run(env, "get", "country_code").stdout.strip() == "US"
    ldap_pw = run(env, "get", "ldap_admin_pw").stdout.strip()

    dump = tmp_path / "dump"
    result = run(env, "dump", "--out", str(dump))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((dump / "secret.json").stat().st_mode) == 0o600
    assert PASSWORD not in (dump / "secret.json").read_text()
    assert json.loads((dump / "config.json").read_text()) == shown["config"]

    copy = {**env, "OXSWARM_CLUSTER": env["OXSWARM_CLUSTER"] + "-copy"}
    result = run(copy, "load", "--from", str(dump))
    assert result.exit_code == 0, result.output
    assert "kept" not in result.stdout
    assert show_json(copy)["config"] == shown["config"]
    assert run(copy, "get", "admin_pw").stdout.strip() == PASSWORD
    assert run(copy, "get", "ldap_admin_pw").stdout.strip() == ldap_pw

    plain = tmp_path / "plain"
    assert run(env, "dump", "--out", str(plain), "--plaintext").exit_code == 0
    assert json.loads((plain / "secret.json").read_text())["admin_pw"] == PASSWORD
    assert stat.S_IMODE((plain / "secret.json").stat().st_mode) == 0o600


def test_generate_keeps_an_existing_configuration_unless_overwrite(
    env: dict[str, str], params_file: Path
) -> None:
    assert run(env, "generate", "--params", str(params_file)).exit_code == 0
    before = show_json(env)["config"]
    result = run(env, "generate", "--params", str(params_file))
    assert result.exit_code == 0
    assert "already holds a configuration" in result.stdout
    assert "--overwrite" in result.stdout
    assert show_json(env)["config"] == before

    result = run(env, "generate", "--params", str(params_file), "--overwrite")
    assert result.exit_code == 0, result.output
    after = show_json(env)["config"]
    assert after["hostname"] == before["hostname"]
    assert after["admin_inum"] != before["admin_inum"]  # newly generated


def test_load_says_which_keys_were_kept(
    env: dict[str, str], params_file: Path, tmp_path: Path
) -> None:
    assert run(env, "generate", "--params", str(params_file)).exit_code == 0
    assert run(env, "dump", "--out", str(tmp_path / "d")).exit_code == 0
    config = json.loads((tmp_path / "d" / "config.json").read_text())
    config["city"] = "Dallas"
    (tmp_path / "d" / "config.json").write_text(json.dumps(config))

    result = run(env, "load", "--from", str(tmp_path / "d"))
    assert result.exit_code == 0
    assert "kept" in result.stdout
    assert "city" in result.stdout
    assert run(env, "get", "city").stdout.strip() == "Austin"

    result = run(env, "load", "--from", str(tmp_path / "d"), "--overwrite")
    assert result.exit_code == 0
    assert "kept" not in result.stdout
    assert run(env, "get", "city").stdout.strip() == "Dallas"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hostname": "not a host"}, "hostname"),
        ({"country_code": "USA"}, "country_code"),
        ({"admin_pw": "weak"}, "admin_pw"),
        ({"admin_email": None}, "admin_email"),
    ],
)
def test_invalid_params_exit_2_naming_the_field(
    env: dict[str, str], tmp_path: Path, change: dict[str, str | None], field: str
) -> None:
    params = {k: v for k, v in {**PARAMS, **change}.items() if v is not None}
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params))
    result = run(env, "generate", "--params", str(path))
    assert result.exit_code == 2
    assert f"error: {field}:" in result.stderr
    assert "weak" not in result.stderr
    assert not Path(env["OXSWARM_MASTER_KEY_FILE"]).exists()


def test_params_file_errors(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run(env, "generate", "--params", str(bad))
    assert result.exit_code == 2
    assert "params:" in result.stderr
    result = run(env, "generate", "--params", str(tmp_path / "missing.json"))
    assert result.exit_code == 2
    assert "params:" in result.stderr


def test_without_params_and_without_a_terminal(env: dict[str, str]) -> None:
    result = run(env, "generate")
    assert result.exit_code == 2
    assert "--params" in result.stderr


def test_prompts_like_config_sh(env: dict[str, str]) -> None:
    answers = [
        "not-a-fqdn", "us", "TX", "Austin", "admin@example.org", "Example Inc",
        PASSWORD, "a typo", PASSWORD, PASSWORD,  # asked twice; a mismatch asks again
        "id.example.org",  # the bad hostname is asked again
    ]  # fmt: skip
    result = run(env, "generate", "--interactive", stdin="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # masked input
    assert "invalid: hostname:" in result.stderr
    assert run(env, "get", "hostname").stdout.strip() == "id.example.org"
    assert run(env, "get", "country_code").stdout.strip() == "US"
    assert run(env, "get", "admin_pw").stdout.strip() == PASSWORD


def test_master_key_required_except_for_generate(
    env: dict[str, str], params_file: Path, tmp_path: Path
) -> None:
    key_path = env["OXSWARM_MASTER_KEY_FILE"]
    for args in (["show"], ["get", "hostname"], ["dump", "--out", str(tmp_path / "o")]):
        result = run(env, *args)
        assert result.exit_code == 1, args
        assert key_path in result.stderr
    no_key = {k: v for k, v in env.items() if k != "OXSWARM_MASTER_KEY_FILE"}
    result = run(no_key, "show")
    assert result.exit_code == 2
    assert "master-key-file" in result.stderr


def test_wrong_master_key_is_a_clear_error(
    env: dict[str, str], params_file: Path, tmp_path: Path
) -> None:
    assert run(env, "generate", "--params", str(params_file)).exit_code == 0
    other = tmp_path / "other.key"
    other.write_bytes(secrets.token_bytes(32))
    result = run({**env, "OXSWARM_MASTER_KEY_FILE": str(other)}, "get", "admin_pw")
    assert result.exit_code == 1
    assert "cannot decrypt secret 'admin_pw': wrong master key or tampered data" in result.stderr
    malformed = tmp_path / "malformed.key"
    malformed.write_text("short")
    result = run({**env, "OXSWARM_MASTER_KEY_FILE": str(malformed)}, "show")
    assert result.exit_code == 1
    assert str(malformed) in result.stderr


def test_get_unknown_key_and_empty_store(env: dict[str, str], params_file: Path) -> None:
    Path(env["OXSWARM_MASTER_KEY_FILE"]).parent.mkdir(parents=True)
    Path(env["OXSWARM_MASTER_KEY_FILE"]).write_bytes(secrets.token_bytes(32))
    result = run(env, "show")
    assert result.exit_code == 1
    assert "no configuration" in result.stderr
    assert run(env, "generate", "--params", str(params_file)).exit_code == 0
    result = run(env, "get", "no_such_key")
    assert result.exit_code == 2
    assert "'no_such_key'" in result.stderr
    result = run(env, "get", "../etc")
    assert result.exit_code == 2
    assert "key:" in result.stderr


def test_bad_store_and_cluster_options(env: dict[str, str]) -> None:
    result = run(env, "show", "--store", "http://x:1")
    assert result.exit_code == 2
    assert "store:" in result.stderr
    result = run(env, "show", "--cluster", "Bad Name")
    assert result.exit_code == 2
    assert "cluster:" in result.stderr


def test_unreachable_store_exits_1_naming_endpoints(
    env: dict[str, str], params_file: Path, tmp_path: Path
) -> None:
    ports = [free_port() for _ in range(3)]
    down = {**env, "OXSWARM_STORE": "etcd://" + ",".join(f"127.0.0.1:{p}" for p in ports)}
    key_path = Path(env["OXSWARM_MASTER_KEY_FILE"])
    result = run(down, "generate", "--params", str(params_file))
    assert result.exit_code == 1
    for port in ports:
        assert f"http://127.0.0.1:{port}" in result.stderr
    assert not key_path.exists()  # nothing created when nothing could be stored

    key_path.parent.mkdir(parents=True)
    key_path.write_bytes(secrets.token_bytes(32))
    for args in (["show"], ["get", "hostname"], ["dump", "--out", str(tmp_path / "o")]):
        result = run(down, *args)
        assert result.exit_code == 1, args
        assert all(f"http://127.0.0.1:{port}" in result.stderr for port in ports)
    result = run(env, "load", "--from", str(tmp_path / "nothing-here"))
    assert result.exit_code == 2
    assert "config.json" in result.stderr


def test_console_script_real_subprocess(env: dict[str, str], params_file: Path) -> None:
    exe = shutil.which("oxswarm") or str(Path(sys.executable).parent / "oxswarm")
    full_env = {**os.environ, **env}

    def oxswarm(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [exe, "config", *args], env={**full_env, **extra}, capture_output=True,
            text=True, stdin=subprocess.DEVNULL, timeout=60, check=False,
        )  # fmt: skip

    done = oxswarm("generate", "--params", str(params_file))
    assert done.returncode == 0, done.stderr
    assert oxswarm("get", "hostname").stdout.strip() == "id.example.org"

    port = free_port()
    done = oxswarm("show", OXSWARM_STORE=f"etcd://127.0.0.1:{port}")
    assert done.returncode == 1
    assert f"http://127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr

    bad = params_file.with_name("bad.json")
    bad.write_text(json.dumps({**PARAMS, "hostname": "x"}))
    done = oxswarm("generate", "--params", str(bad))
    assert done.returncode == 2
    assert done.stderr.startswith("error: hostname:")
    assert "Traceback" not in done.stderr


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[EtcdCluster]:
    cluster = start_etcd_cluster(tmp_path / "own-etcd", 3)
    try:
        yield cluster
    finally:
        cluster.stop()


def test_config_reads_and_writes_with_one_member_down(
    own_cluster: EtcdCluster, env: dict[str, str], params_file: Path, tmp_path: Path
) -> None:
    env = {**env, "OXSWARM_STORE": own_cluster.url}
    assert run(env, "generate", "--params", str(params_file)).exit_code == 0
    assert run(env, "dump", "--out", str(tmp_path / "d")).exit_code == 0
    config = json.loads((tmp_path / "d" / "config.json").read_text())
    config["city"] = "El Paso"
    (tmp_path / "d" / "config.json").write_text(json.dumps(config))

    victim = own_cluster.members[0]  # the first endpoint every command tries
    victim.kill()
    assert run(env, "get", "admin_pw").stdout.strip() == PASSWORD
    result = run(env, "load", "--from", str(tmp_path / "d"), "--overwrite")
    assert result.exit_code == 0, result.output
    assert run(env, "get", "city").stdout.strip() == "El Paso"

    victim.restart()
    with EtcdStore([victim.client_url], retry_for=10) as only_victim:
        cluster = env["OXSWARM_CLUSTER"]
        assert only_victim.get(f"/oxswarm/{cluster}/config/city") == b"El Paso"
    only = {**env, "OXSWARM_STORE": f"etcd://127.0.0.1:{victim.client_port}"}
    assert run(only, "get", "city").stdout.strip() == "El Paso"
