"""The lab network reconciler, driven through a recording runner (no namespaces made)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from oxswarm.deploy.lab.netns import LabNetwork, host_link, hosts_file, members
from oxswarm.deploy.runner import Result
from oxswarm.deploy.spec import lab_spec


class Recorder:
    """Answers every ``ip`` query with "nothing there" and records the commands."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def run(self, argv: Sequence[str], *, check: bool = True, input: str | None = None,
            timeout: float = 120.0, env: Mapping[str, str] | None = None) -> Result:
        self.calls.append(list(argv))
        return Result(tuple(argv), 1 if "show" in argv else 0, "", "")


def test_members_are_nodes_registry_and_lb() -> None:
    spec = lab_spec(nodes=2, state_dir="/s", cluster="c", image="i")
    assert [m.name for m in members(spec)] == ["manager", "worker-1", "registry", "lb"]
    assert all(m.namespace.startswith("oxs-c-") for m in members(spec))


def test_host_link_fits_an_interface_name() -> None:
    assert len(host_link("a-very-long-cluster-name-indeed")) <= 15
    assert host_link("x").startswith("oxs-")


def test_hosts_file_names_every_member() -> None:
    spec = lab_spec(nodes=2, state_dir="/s", cluster="c", image="i")
    text = hosts_file(spec, "worker-1")
    assert f"{spec.nodes[1].address}\tworker-1" in text
    assert "127.0.0.1\tlocalhost" in text


def test_up_from_nothing_creates_bridge_links_and_hosts(tmp_path: Path) -> None:
    spec = lab_spec(nodes=2, state_dir="/s", cluster="c", image="i")
    runner = Recorder()
    done = LabNetwork(runner, spec, netns_etc=tmp_path).up()
    assert "namespace oxs-c-sw" in done
    assert any(c[:4] == ["ip", "netns", "add", "oxs-c-manager"] for c in runner.calls)
    assert ["ip", "-n", "oxs-c-sw", "link", "add", "br0", "type", "bridge"] in runner.calls
    assert (tmp_path / "oxs-c-lb" / "hosts").read_text() == hosts_file(spec, "lb")
    # no default route, no NAT: nothing in the lab is sent beyond its own /24
    assert not any("route" in c for c in runner.calls)
