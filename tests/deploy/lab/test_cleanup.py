"""Throwing away a killed lab node's volatile state (pure: a recording runner, tmp_path)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from oxswarm.deploy.lab import cleanup
from oxswarm.deploy.runner import Result


class RecordingRunner:
    """Answers ``ip -j link show`` with ``links``; records every command."""

    def __init__(self, links: list[str], failing: set[str] | None = None) -> None:
        self.links = links
        self.failing = failing or set()
        self.calls: list[list[str]] = []

    def run(self, argv: Sequence[str], *, check: bool = True, input: str | None = None,
            timeout: float = 120.0, env: Mapping[str, str] | None = None) -> Result:
        self.calls.append(list(argv))
        if list(argv[-3:]) == ["-j", "link", "show"]:
            out = json.dumps([{"ifindex": i, "ifname": n} for i, n in enumerate(self.links)])
            return Result(tuple(argv), 0, out, "")
        code = 1 if argv[-1] in self.failing else 0
        return Result(tuple(argv), code, "", "Cannot find device" if code else "")


def test_every_device_but_the_nodes_own_is_deleted() -> None:
    runner = RecordingRunner(["lo", "eth0", "docker_gwbridge", "docker0", "veth1a2b3c4"])
    removed = cleanup.remove_links(runner, "oxs-t-worker-2", ("lo", "eth0"))
    assert removed == ["docker_gwbridge", "docker0", "veth1a2b3c4"]
    deleted = [c[-1] for c in runner.calls if c[-2:-1] == ["del"]]
    assert deleted == removed
    assert all(c[:3] == ["ip", "-n", "oxs-t-worker-2"] for c in runner.calls)


def test_a_device_already_gone_is_not_counted() -> None:
    runner = RecordingRunner(["lo", "eth0", "veth1", "veth2"], failing={"veth1"})
    assert cleanup.remove_links(runner, "ns", ("lo", "eth0")) == ["veth2"]


def test_no_namespace_no_devices() -> None:
    class Missing(RecordingRunner):
        def run(self, argv: Sequence[str], *, check: bool = True, input: str | None = None,
                timeout: float = 120.0, env: Mapping[str, str] | None = None) -> Result:
            return Result(tuple(argv), 1, "", 'Cannot open network namespace "ns"')

    assert cleanup.remove_links(Missing([]), "ns", ("lo",)) == []


def test_clear_folder_empties_it_but_keeps_it(tmp_path: Path) -> None:
    exec_root = tmp_path / "exec"
    (exec_root / "netns").mkdir(parents=True)
    (exec_root / "netns" / "1-abc").touch()
    (exec_root / "containerd" / "daemon").mkdir(parents=True)
    (exec_root / "stale.sock").touch()
    (exec_root / "link").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    assert cleanup.clear_folder(exec_root) == 4
    assert exec_root.is_dir() and list(exec_root.iterdir()) == []
    assert (tmp_path / "elsewhere").is_dir()


def test_clear_folder_missing_is_nothing(tmp_path: Path) -> None:
    assert cleanup.clear_folder(tmp_path / "absent") == 0
