import socket
from pathlib import Path

import pytest

from oxswarm.cache.spec import Shard, TwemproxyPool
from oxswarm.errors import DaemonError
from oxswarm.local.process import free_port
from oxswarm.local.redis import LocalRedis
from oxswarm.local.twemproxy import LocalTwemproxy


@pytest.mark.integration
def test_twemproxy_serves_and_reports_stats(tmp_path: Path) -> None:
    node = LocalRedis(name="r1", workdir=tmp_path / "r1").start()
    pool = TwemproxyPool(
        name="lab",
        listen_port=free_port(),
        shards=(Shard(name="r1", host=node.host, port=node.port),),
    )
    proxy = LocalTwemproxy(pool, tmp_path / "tw")
    try:
        proxy.start()
        assert proxy.running()
        assert proxy.stats_port not in (0, 22222)
        stats = proxy.stats()
        assert stats["service"] == "nutcracker"
        assert "r1" in stats["lab"]
        assert "hash: murmur" in proxy.conf_file.read_text()
    finally:
        proxy.stop()
        node.stop()
    assert not proxy.running()


@pytest.mark.integration
def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    pool = TwemproxyPool(listen_port=free_port(), shards=(Shard(name="r1", host="127.0.0.1"),))
    proxy = LocalTwemproxy(pool.model_copy(update={"hash": "nope"}), tmp_path / "tw")
    with pytest.raises(DaemonError, match="nutcracker rejects"):
        proxy.start()
    assert not proxy.running()


@pytest.mark.integration
def test_picked_listen_port_taken_meanwhile_is_replaced(tmp_path: Path) -> None:
    node = LocalRedis(name="r1", workdir=tmp_path / "r1").start()
    pool = TwemproxyPool(
        listen_port=free_port(), shards=(Shard(name="r1", host=node.host, port=node.port),)
    )
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", pool.listen_port))
    squatter.listen()
    proxy = LocalTwemproxy(pool, tmp_path / "tw", pick_ports=True)
    try:
        proxy.start()
        assert proxy.port != pool.listen_port
        assert proxy.stats()["oxswarm"]["r1"]["server_ejected_at"] == 0
    finally:
        proxy.stop()
        node.stop()
        squatter.close()
