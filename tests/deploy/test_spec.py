"""The cluster spec: node names, lab addresses, validation errors naming the field."""

from __future__ import annotations

import pytest

from oxswarm.deploy.spec import lab_spec, lab_subnet_index, node_names, parse_hosts, ssh_spec
from oxswarm.errors import InvalidInput


def test_node_names_follow_the_original() -> None:
    assert node_names(1) == ["manager"]
    assert node_names(4) == ["manager", "worker-1", "worker-2", "worker-3"]


def test_zero_nodes_is_invalid_input_naming_nodes() -> None:
    with pytest.raises(InvalidInput) as err:
        node_names(0)
    assert err.value.field == "nodes"


def test_lab_spec_places_nodes_on_their_own_subnet() -> None:
    spec = lab_spec(nodes=3, state_dir="/s", cluster="c1", image="img")
    index = lab_subnet_index("c1")
    assert [n.address for n in spec.nodes] == [f"10.213.{index}.{11 + i}" for i in range(3)]
    assert spec.lab is not None and spec.lab.contains(spec.nodes[2].address)
    assert spec.namespace("worker-1") == "oxs-c1-worker-1"
    assert spec.nodes[1].data_dir == "/s/n/worker-1/host"
    assert spec.store_url().startswith(f"etcd+https://10.213.{index}.11:2379,")


def test_subnets_differ_between_clusters() -> None:
    assert lab_subnet_index("a") != lab_subnet_index("b")


def test_bad_hostname_names_the_field() -> None:
    with pytest.raises(InvalidInput) as err:
        lab_spec(nodes=1, state_dir="/s", hostname="localhost", image="img")
    assert err.value.field == "hostname"


def test_unknown_node_names_the_node() -> None:
    spec = lab_spec(nodes=2, state_dir="/s", image="img")
    with pytest.raises(InvalidInput, match="worker-7"):
        spec.node("worker-7")


def test_ssh_hosts_are_ordered_manager_first() -> None:
    nodes = parse_hosts(["worker-1=ssh://root@10.0.0.2", "manager=ssh://root@10.0.0.1"])
    assert [(n.name, n.address, n.slot) for n in nodes] == [
        ("manager", "10.0.0.1", 0), ("worker-1", "10.0.0.2", 1)]
    assert nodes[0].ssh == "ssh://root@10.0.0.1"


@pytest.mark.parametrize("hosts", [["manager=http://x"], ["worker-1=ssh://a"], ["m"]])
def test_bad_hosts_name_the_host_field(hosts: list[str]) -> None:
    with pytest.raises(InvalidInput) as err:
        ssh_spec(hosts=hosts, image="img")
    assert err.value.field == "host"
