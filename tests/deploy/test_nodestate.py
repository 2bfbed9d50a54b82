"""Per-node status facts: replication state from real slapd, memory from a cgroup tree."""

from __future__ import annotations

from pathlib import Path

import ldap3
import pytest

from oxswarm.deploy.nodestate import cgroup_memory, context_csn, mebibytes, replication_state
from oxswarm.local.process import free_port, wait_until
from oxswarm.local.slapd import slapd_cluster

ROOT_DN = "cn=directory manager,o=gluu"
ROOT_PW = "Root-Pw-1"
A1 = "20261126010000.000001Z#000000#001#000000"
A2 = "20261126010005.000001Z#000000#001#000000"
B1 = "20261126010001.000001Z#000000#002#000000"


def test_equal_csn_sets_are_in_sync_and_an_older_one_is_behind() -> None:
    state = replication_state({"manager": [A2, B1], "worker-1": [A2, B1],
                               "worker-2": [A1, B1], "worker-3": None})
    assert state["manager"].startswith("in sync")
    assert state["worker-1"].startswith("in sync")
    assert state["worker-2"] == "behind (1 of 2 CSNs older or missing)"
    assert state["worker-3"] == "unreachable"


def test_cgroup_v1_and_v2_used_memory_leaves_out_inactive_cache(tmp_path: Path) -> None:
    v1 = tmp_path / "memory" / "oxs-c-manager"
    v1.mkdir(parents=True)
    (v1 / "memory.usage_in_bytes").write_text("104857600\n")
    (v1 / "memory.stat").write_text("cache 1\ntotal_inactive_file 20971520\n")
    v2 = tmp_path / "oxs-c-worker-1"
    v2.mkdir()
    (v2 / "memory.current").write_text("52428800\n")
    (v2 / "memory.stat").write_text("anon 1\ninactive_file 10485760\n")
    assert cgroup_memory("/oxs-c-manager", tmp_path) == 80 * 2**20
    assert cgroup_memory("oxs-c-worker-1", tmp_path) == 40 * 2**20
    assert cgroup_memory("oxs-c-none", tmp_path) is None
    assert mebibytes(80 * 2**20) == "80 MiB"
    assert mebibytes(None) == "unknown"


@pytest.mark.integration
def test_context_csn_of_replicating_slapd(tmp_path: Path) -> None:
    with slapd_cluster(tmp_path / "ldap", 2, ROOT_PW) as nodes:
        urls = [n.url for n in nodes]
        ca = nodes[0].ca_file.read_text()
        tls = ldap3.Tls(ca_certs_data=ca, validate=2)
        conn = ldap3.Connection(ldap3.Server(urls[1], tls=tls), ROOT_DN, ROOT_PW, auto_bind=True)
        try:
            assert conn.add("ou=probe,o=gluu", ["organizationalUnit"], {"ou": "probe"})
        finally:
            conn.unbind()

        def csns() -> dict[str, list[str] | None]:
            return {u: context_csn(u, ROOT_DN, ROOT_PW, "o=gluu", ca_pem=ca) for u in urls}

        wait_until(lambda: all(v and "#002#" in " ".join(v) for v in csns().values()), 30,
                   "the write on the second server to replicate", 0.2)
        assert set(replication_state(csns()).values()) == {"in sync (2 CSNs)"}
        down = f"ldap://127.0.0.1:{free_port()}"
        assert context_csn(down, ROOT_DN, ROOT_PW, "o=gluu", timeout=1) is None
        assert context_csn(urls[0], ROOT_DN, "wrong", "o=gluu", ca_pem=ca) is None
        # without the CA, the server's certificate is not trusted: nothing is sent
        assert context_csn(urls[0], ROOT_DN, ROOT_PW, "o=gluu") is None
        # plain LDAP: the bind is refused (confidentialityRequired)
        assert context_csn(nodes[0].plain_url, ROOT_DN, ROOT_PW, "o=gluu") is None
