from pathlib import Path

import pytest

from oxswarm.errors import DaemonError
from oxswarm.local.etcd import start_etcd_cluster
from oxswarm.local.process import pid_alive

pytestmark = pytest.mark.integration


def test_three_members_kill_restart_stop(tmp_path: Path) -> None:
    with start_etcd_cluster(tmp_path, 3) as cluster:
        names = [m.name for m in cluster.members]
        ports = [p for m in cluster.members for p in (m.client_port, m.peer_port)]
        assert len(set(names)) == 3
        assert len(set(ports)) == 6
        assert cluster.url == "etcd://" + ",".join(
            f"127.0.0.1:{m.client_port}" for m in cluster.members
        )
        for member in cluster.members:
            assert "--pre-vote" in member.argv
            assert member.data_dir.is_relative_to(tmp_path)
            assert (member.data_dir / "member").is_dir()
            assert member.daemon.pid_file.exists()
        pids = [m.daemon.pid for m in cluster.members]

        victim = cluster.members[1]
        victim.kill()
        assert not victim.running()
        with cluster.store() as store:
            store.put("/while-down", b"1")
        victim.restart()
        assert victim.running()
        cluster.wait_healthy(10)
    for pid in pids:
        assert pid is not None
        assert not pid_alive(pid)
    assert all(not m.running() for m in cluster.members)


def test_single_member(tmp_path: Path) -> None:
    with start_etcd_cluster(tmp_path, 1) as cluster, cluster.store() as store:
        store.put("/a", b"b")
        assert store.get("/a") == b"b"


def test_size_zero_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DaemonError, match="at least one member"):
        start_etcd_cluster(tmp_path, 0)
