"""``oxswarm up``'s config-init options: validated (exit 2 naming the field) before any
node, image or store is touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from oxswarm.cli.main import cli
from oxswarm.cli.up_cmd import DEFAULT_HOSTNAME, cluster_hostname, config_answers
from oxswarm.errors import InvalidInput

NONE: dict[str, str | None] = {
    "country_code": None, "state": None, "city": None, "admin_email": None, "org_name": None,
}


def test_options_override_the_defaults(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("S3cret!pass\n")
    answers = config_answers("id.example.org", None, pw, {
        **NONE, "country_code": "fr", "city": "Lyon", "org_name": "Acme"})
    assert answers is not None
    assert answers["hostname"] == "id.example.org"
    assert (answers["country_code"], answers["city"], answers["org_name"]) == ("fr", "Lyon", "Acme")
    assert answers["admin_pw"] == "S3cret!pass"
    assert answers["admin_email"] == "admin@example.org"


def test_defaults_give_a_strong_random_password() -> None:
    one = config_answers("id.example.org", None, None, NONE)
    two = config_answers("id.example.org", None, None, NONE)
    assert one is not None and two is not None
    assert one["admin_pw"] != two["admin_pw"]


def test_params_file_excludes_single_options(tmp_path: Path) -> None:
    params = tmp_path / "p.json"
    params.write_text("{}")
    with pytest.raises(InvalidInput) as info:
        config_answers("id.example.org", params, None, {**NONE, "city": "Lyon"})
    assert info.value.field == "params"
    assert config_answers("id.example.org", params, None, NONE) is None


@pytest.mark.parametrize(("args", "field"), [
    (["--country-code", "FRA"], "country_code"),
    (["--admin-email", "not-an-email"], "admin_email"),
    (["--hostname", "localhost"], "hostname"),
    (["--nodes", "0"], "nodes"),
    (["--driver", "ssh", "--state-dir", "/nonexistent/oxs"], "host"),
    (["--driver", "ssh", "--host", "manager=http://10.0.0.1"], "host"),
    (["--driver", "ssh", "--host", "worker-1=ssh://root@10.0.0.1"], "host"),
    (["--driver", "ssh", "--host", "manager=ssh://root@10.0.0.1", "--registry", "a b"],
     "registry"),
    (["--driver", "ssh", "--host", "manager=ssh://root@10.0.0.1", "--ssh-config",
      "/nonexistent/ssh_config"], "ssh_config"),
    (["--host", "manager=ssh://root@10.0.0.1"], "host"),
    (["--registry", "10.0.0.1:5000"], "registry"),
    (["--driver", "ssh", "--nodes", "5", "--host", "manager=ssh://root@10.0.0.1"], "nodes"),
])
def test_bad_option_exits_2_naming_the_field(args: list[str], field: str) -> None:
    result = CliRunner().invoke(cli, ["up", *args])
    assert result.exit_code == 2, result.output
    assert field in result.output
    assert "Traceback" not in result.output


def test_weak_admin_password_file_is_refused(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("short")
    result = CliRunner().invoke(cli, ["up", "--admin-pw-file", str(pw)])
    assert result.exit_code == 2
    assert "admin_pw" in result.output
    assert "short" not in result.output


PARAMS = {"hostname": "sso.example.net", "country_code": "FR", "state": "Rhone",
          "city": "Lyon", "admin_email": "admin@example.net", "org_name": "Example",
          "admin_pw": "Str0ng!Pass"}


def params_file(tmp_path: Path, **changes: str) -> Path:
    import json

    path = tmp_path / "params.json"
    path.write_text(json.dumps(PARAMS | changes))
    return path


def test_the_hostname_comes_from_the_params_file(tmp_path: Path) -> None:
    file = params_file(tmp_path)
    assert cluster_hostname(None, file) == "sso.example.net"
    assert cluster_hostname("sso.example.net", file) == "sso.example.net"  # the same: fine
    assert cluster_hostname(None, file, saved="id.old.test") == "sso.example.net"
    assert cluster_hostname(None, None) == DEFAULT_HOSTNAME
    assert cluster_hostname(None, None, saved="id.old.test") == "id.old.test"
    assert cluster_hostname("id.new.test", None, saved="id.old.test") == "id.new.test"


def test_a_different_hostname_beside_params_exits_2_naming_hostname(tmp_path: Path) -> None:
    file = params_file(tmp_path)
    result = CliRunner().invoke(cli, ["up", "--params", str(file), "--hostname",
                                      "id.other.test", "--state-dir", str(tmp_path / "s")])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "hostname" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "s").exists()  # nothing built


def test_a_bad_params_file_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    file = params_file(tmp_path, admin_email="nope")
    result = CliRunner().invoke(cli, ["up", "--params", str(file), "--state-dir",
                                      str(tmp_path / "s")])
    assert result.exit_code == 2, result.output
    assert "admin_email" in result.output
    assert "Str0ng" not in result.output


def test_a_running_cluster_keeps_its_number_of_nodes(tmp_path: Path) -> None:
    """``--nodes`` defaults to the running cluster's own; another number is refused before
    anything is touched (growing etcd, the directory and the cache ring is not supported)."""
    from oxswarm.cli.up_cmd import same_size
    from oxswarm.deploy.spec import lab_spec

    spec = lab_spec(nodes=3, state_dir=str(tmp_path), cluster="grow", image="oxswarm:test")
    (tmp_path / "cluster.json").write_text(spec.model_dump_json())
    assert same_size("grow", spec.nodes, None) == 3
    assert same_size("grow", spec.nodes, 3) == 3
    assert same_size("grow", (), None) == 3
    assert same_size("grow", (), 5) == 5
    before = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(cli, ["up", "--cluster", "grow", "--state-dir", str(tmp_path),
                                      "--nodes", "5"])
    assert result.exit_code == 2, result.output
    assert "runs 3 nodes" in result.output and "--nodes 3" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before
