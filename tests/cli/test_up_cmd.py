"""``oxswarm up``'s config-init options: validated (exit 2 naming the field) before any
node, image or store is touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from oxswarm.cli.main import cli
from oxswarm.cli.up_cmd import config_answers
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
