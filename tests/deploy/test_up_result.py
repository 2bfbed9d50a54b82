"""What ``oxswarm up`` prints: oxTrust's URL and the file that really holds the admin's
password (``--params``'s, remembered for a later ``up`` without it)."""

from __future__ import annotations

from pathlib import Path

from oxswarm.deploy.deployer import Deployer
from oxswarm.deploy.spec import lab_spec


def test_result_names_identity_and_the_admin_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    deployer = Deployer(cluster="c", state_dir=state)
    spec = lab_spec(nodes=3, state_dir=str(state), cluster="c", hostname="sso.example.net",
                    image="i")
    given = tmp_path / "answers.json"
    given.write_text("{}")
    first = deployer.result(spec, None, "i", [], {}, params_file=given)
    assert first.identity_url == "https://sso.example.net/identity"
    assert first.idp_metadata_url == "https://sso.example.net/idp/shibboleth"
    assert first.as_dict()["idp_metadata_url"] == first.idp_metadata_url
    assert first.issuer == "https://sso.example.net"
    assert first.admin_credentials == str(given.resolve())
    # a later `up` without --params still names that file
    assert deployer.result(spec, None, "i", [], {}).admin_credentials == str(given.resolve())
    # a cluster whose answers up generated itself: its own params.json
    other = Deployer(cluster="d", state_dir=tmp_path / "d")
    (tmp_path / "d").mkdir()
    assert other.result(spec, None, "i", [], {}).admin_credentials == str(
        tmp_path / "d" / "params.json")
