from pathlib import Path

import pytest

from oxswarm.errors import InvalidInput
from oxswarm.settings import Settings, parse_store_url


def test_store_url_with_several_endpoints() -> None:
    assert parse_store_url("etcd://h1:2379,h2:12379,10.0.0.3") == [
        "http://h1:2379",
        "http://h2:12379",
        "http://10.0.0.3:2379",
    ]


def test_store_url_https() -> None:
    assert parse_store_url("etcd+https://h1:2379") == ["https://h1:2379"]


@pytest.mark.parametrize("url", ["consul://h1:8500", "h1:2379", "etcd://h1:99999", "etcd://a b"])
def test_bad_store_url_names_the_store(url: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_store_url(url)
    assert info.value.field == "store"
    assert "store" in str(info.value)


def test_options_win_over_environment() -> None:
    env = {
        "OXSWARM_STORE": "etcd://e1:1",
        "OXSWARM_CLUSTER": "envc",
        "OXSWARM_MASTER_KEY_FILE": "/k",
    }
    s = Settings.load(env, store="etcd://o1:2", cluster="optc")
    assert s.store_endpoints == ("http://o1:2",)
    assert s.cluster == "optc"
    assert s.master_key_file == Path("/k")
    assert s.prefix == "/oxswarm/optc"


def test_environment_then_defaults() -> None:
    s = Settings.load({"OXSWARM_STORE": "etcd://e1:1"})
    assert s.store_endpoints == ("http://e1:1",)
    assert s.cluster == "oxswarm"
    assert s.master_key_file is None


def test_bad_cluster_name_is_named() -> None:
    with pytest.raises(InvalidInput) as info:
        Settings.load({}, cluster="Bad Name")
    assert info.value.field == "cluster"


def test_a_container_reads_through_its_own_node_member_first() -> None:
    store = "etcd+https://etcd-manager:2379,etcd-worker-1:2379,etcd-worker-2:2379"
    seen = {node: Settings.load(env={"OXSWARM_STORE": store, "OXSWARM_NODE": node}
                                ).store_endpoints for node in ("manager", "worker-1", "worker-2")}
    assert seen["manager"] == ("https://etcd-manager:2379", "https://etcd-worker-1:2379",
                               "https://etcd-worker-2:2379")
    assert seen["worker-1"] == ("https://etcd-worker-1:2379", "https://etcd-worker-2:2379",
                                "https://etcd-manager:2379")
    assert seen["worker-2"][0] == "https://etcd-worker-2:2379"
    # no member of that name (the operator's machine, a node outside the store): as given
    for env in ({"OXSWARM_NODE": "elsewhere"}, {}):
        assert Settings.load(env={"OXSWARM_STORE": store, **env}).store_endpoints == \
            seen["manager"]
    # a name that only ends like a member's is not it
    assert Settings.load(env={"OXSWARM_STORE": "etcd://xetcd-a:2379,etcd-b:2379",
                              "OXSWARM_NODE": "a"}).store_endpoints[0] == "http://xetcd-a:2379"
