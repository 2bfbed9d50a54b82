from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from oxswarm.cache.client import Cache
from oxswarm.cache.render import render_redis_conf, render_twemproxy
from oxswarm.cache.spec import RedisNode, Shard, TwemproxyPool
from oxswarm.errors import DaemonError
from oxswarm.local.cache import LocalCacheCluster
from oxswarm.local.process import free_port
from oxswarm.local.twemproxy import LocalTwemproxy, check_config

from .conftest import shard_of


def _pool(**kwargs: object) -> TwemproxyPool:
    shards = tuple(Shard(name=f"n{i}", host=f"10.0.0.{i}", port=6379) for i in (1, 2, 3))
    return TwemproxyPool.model_validate({"shards": shards, "listen_port": 22121, **kwargs})


def _settings(text: str) -> dict[str, str]:
    lines = text.splitlines()
    return {
        k.strip(): v.strip()
        for k, _, v in (line.partition(":") for line in lines[1:])
        if v.strip() and not k.strip().startswith("-")
    }


def test_twemproxy_pool_settings() -> None:
    text = render_twemproxy(_pool())
    assert text.splitlines()[0] == "oxswarm:"
    assert _settings(text) == {
        "listen": "127.0.0.1:22121",
        "hash": "murmur",
        "distribution": "ketama",
        "redis": "true",
        "timeout": "400",
        "backlog": "1024",
        "preconnect": "true",
        "auto_eject_hosts": "true",
        "server_retry_timeout": "2000",
        "server_failure_limit": "2",
        "server_connections": "1",
    }


def test_twemproxy_servers_are_named_so_ketama_hashes_names() -> None:
    text = render_twemproxy(_pool())
    servers = [line.strip() for line in text.splitlines() if line.strip().startswith("- ")]
    assert servers == [
        "- 10.0.0.1:6379:1 n1",
        "- 10.0.0.2:6379:1 n2",
        "- 10.0.0.3:6379:1 n3",
    ]


def test_twemproxy_options_are_rendered() -> None:
    text = render_twemproxy(_pool(preconnect=False, server_failure_limit=3, name="gluu"))
    assert text.startswith("gluu:\n")
    assert "  preconnect: false\n" in text
    assert "  server_failure_limit: 3\n" in text


@pytest.mark.integration
def test_nutcracker_accepts_the_rendered_config(tmp_path: Path) -> None:
    conf = tmp_path / "nutcracker.yml"
    conf.write_text(render_twemproxy(_pool()))
    check_config(conf)
    conf.write_text(render_twemproxy(_pool()).replace("hash: murmur", "hash: nope"))
    with pytest.raises(DaemonError, match="rejects"):
        check_config(conf)


PW = SecretStr("p" * 20)


def _conf(text: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in text.splitlines())  # type: ignore[misc]


def test_redis_conf_is_a_memory_only_cache(tmp_path: Path) -> None:
    conf = _conf(render_redis_conf(
        RedisNode(port=7001, dir=tmp_path, maxmemory_mb=64, passwords=(PW,))))
    assert conf["save"] == '""'
    assert conf["appendonly"] == "no"
    assert conf["maxmemory"] == "64mb"
    assert conf["maxmemory-policy"] == "allkeys-lru"
    assert conf["port"] == "7001"
    assert conf["bind"] == "127.0.0.1"
    assert conf["dir"] == f'"{tmp_path}"'
    assert conf["daemonize"] == "no"
    assert conf["timeout"] == "0"


def test_redis_is_protected_and_needs_a_password_everywhere(tmp_path: Path) -> None:
    new = SecretStr("n" * 20)
    admin = SecretStr("a" * 20)
    overlay = render_redis_conf(RedisNode(bind=("10.0.1.5", "127.0.0.1"), dir=tmp_path,
                                          passwords=(PW, new), admin_password=admin))
    lines = overlay.splitlines()
    assert "protected-mode yes" in lines
    assert "bind 10.0.1.5 127.0.0.1" in lines
    # Twemproxy's single-argument AUTH is the default user: both passwords while rotating
    assert f"user default reset on >{'p' * 20} >{'n' * 20} ~* &* +@all -@dangerous" in lines
    assert f"user oxadmin reset on >{'a' * 20} ~* &* +@all" in lines


def test_a_cache_password_must_render_safely(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="passwords: 16-256") as info:
        RedisNode(dir=tmp_path, passwords=(SecretStr("short pw#x"),))
    assert "short pw#x" not in str(info.value)
    with pytest.raises(ValidationError, match="at least 1"):
        RedisNode(dir=tmp_path, passwords=())
    with pytest.raises(ValidationError, match="redis_auth"):
        _pool(redis_auth=SecretStr("a: b"))


def test_twemproxy_redis_auth_is_rendered() -> None:
    assert f"  redis_auth: {'p' * 20}\n" in render_twemproxy(_pool(redis_auth=PW))
    assert "redis_auth" not in render_twemproxy(_pool())


@pytest.mark.integration
def test_ketama_placement_follows_shard_names(cluster: LocalCacheCluster, tmp_path: Path) -> None:
    """Same names in another order: same placement. Names moved to other addresses: the
    keys are looked for where the *name* now points, so placement is by name."""
    with Cache(cluster.host, cluster.port, "placement", password=cluster.password) as cache:
        for i in range(60):
            cache.set("k", str(i), f"v{i}", 60)
    where = {str(i): shard_of(cluster, f"placement:k:{i}") for i in range(60)}
    r1, r2, r3 = cluster.pool.shards
    reordered = (r3, r1, r2)
    swapped = (
        r1.model_copy(update={"port": r2.port}),
        r2.model_copy(update={"port": r1.port}),
        r3,
    )
    for label, shards in (("reordered", reordered), ("swapped", swapped)):
        pool = cluster.pool.model_copy(update={"shards": shards, "listen_port": free_port()})
        proxy = LocalTwemproxy(pool, tmp_path / label).start()
        try:
            with Cache(proxy.host, proxy.port, "placement", password=cluster.password) as cache:
                found = {i for i in where if cache.get("k", i) == f"v{i}".encode()}
        finally:
            proxy.stop()
        if label == "reordered":
            assert found == set(where)
        else:
            assert found == {i for i, shard in where.items() if shard == "r3"}
