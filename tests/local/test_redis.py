import socket
from pathlib import Path

import pytest
import redis

from oxswarm.local.redis import LocalRedis


def _client(node: LocalRedis) -> "redis.Redis[bytes]":
    return node.admin()


@pytest.mark.integration
def test_start_kill_restart_comes_back_empty(tmp_path: Path) -> None:
    node = LocalRedis(name="r1", workdir=tmp_path / "r1", maxmemory_mb=16).start()
    try:
        assert node.port > 0 and node.running()
        assert "maxmemory 16mb" in node.conf_file.read_text()
        client = _client(node)
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
        client.set("k", "v")
        node.kill()
        assert not node.running()
        node.restart()
        assert node.running()
        assert _client(node).get("k") is None  # no persistence: a crash loses the data
    finally:
        node.stop()
    assert not node.running()
    assert not node.daemon.pid_file.exists()


@pytest.mark.integration
def test_a_picked_port_taken_meanwhile_is_replaced(tmp_path: Path) -> None:
    node = LocalRedis(name="r1", workdir=tmp_path / "r1")
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind((node.host, node.port))
    squatter.listen()
    taken = node.port
    try:
        node.start()
        assert node.port != taken
        assert _client(node).ping()
    finally:
        node.stop()
        squatter.close()


@pytest.mark.integration
def test_restart_keeps_its_port(tmp_path: Path) -> None:
    node = LocalRedis(name="r1", workdir=tmp_path / "r1").start()
    try:
        port = node.port
        node.kill()
        node.restart()
        assert node.port == port
    finally:
        node.stop()
