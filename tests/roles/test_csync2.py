"""The csync2 role's member: names, folders and files as the stack gives them."""

from __future__ import annotations

from pathlib import Path

import pytest

from oxswarm.errors import InvalidInput
from oxswarm.roles.csync2 import csync2_node
from oxswarm.sync.csync2 import render_csync2_cfg


def test_member_of_every_node_with_its_state_under_the_host_folder(tmp_path: Path) -> None:
    hosts = ["csync2-manager", "csync2-worker-1", "csync2-worker-2"]
    node = csync2_node("csync2-worker-1", hosts, Path("/opt/shared-shibboleth-idp"), tmp_path)
    assert node.system_dir == tmp_path / "system"
    assert node.db_dir == tmp_path / "db"
    cfg = render_csync2_cfg(node.group)
    assert "host csync2-manager csync2-worker-1 csync2-worker-2;" in cfg
    assert "on *: /opt/shared-shibboleth-idp;" in cfg
    assert f"key {tmp_path}/system/csync2.key;" in cfg


def test_a_name_outside_the_group_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not in the group"):
        csync2_node("csync2-other", ["csync2-manager"], Path("/s"), tmp_path)
