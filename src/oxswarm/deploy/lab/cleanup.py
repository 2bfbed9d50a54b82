"""Remove what a lab left behind, also after a crash halfway: processes, mounts, cgroups.

A process belongs to the lab when it runs in one of the cluster's namespaces, in one of
its dockerds' cgroups (``/sys/fs/cgroup/<controller>/oxs-<cluster>-<node>``: the
containers), or names the lab's state folder on its command line (containerd shims are
re-parented to PID 1). Mounts under the state folder (overlay layers, the nsfs mounts a
dockerd leaves under its exec root) are unmounted deepest first.

A killed node's namespace also keeps kernel state that a real machine loses when it
loses power: the host ends of its containers' veths (still on ``docker_gwbridge``, their
dead containers' network namespaces kept alive by orphaned TCP sockets retransmitting a
FIN for up to ~2 min) and the runtime files of its exec root (``/run/docker`` is a tmpfs
on a real host). :func:`remove_links` and :func:`clear_folder` throw them away.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from oxswarm.deploy.runner import Runner
from oxswarm.local.process import pid_alive

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")


def netns_pids(runner: Runner, namespaces: Iterable[str]) -> set[int]:
    pids: set[int] = set()
    for ns in namespaces:
        res = runner.run(["ip", "netns", "pids", ns], check=False)
        pids.update(int(p) for p in res.stdout.split() if p.isdigit())
    return pids


def cgroup_dirs(prefix: str, root: Path = CGROUP_ROOT) -> list[Path]:
    """Every cgroup folder (any controller) whose top-level name starts with ``prefix``."""
    found: list[Path] = []
    if not root.is_dir():
        return found
    candidates = [root, *[p for p in root.iterdir() if p.is_dir()]]
    for base in candidates:
        with contextlib.suppress(OSError):
            found += [p for p in base.iterdir() if p.is_dir() and p.name.startswith(prefix)]
    return found


def cgroup_pids(prefix: str, root: Path = CGROUP_ROOT) -> set[int]:
    pids: set[int] = set()
    for top in cgroup_dirs(prefix, root):
        for procs in top.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(p) for p in procs.read_text().split())
    return pids


def cmdline_pids(marker: str) -> set[int]:
    """Processes whose command line contains ``marker`` (a state folder path)."""
    pids: set[int] = set()
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        with contextlib.suppress(OSError):
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if marker in cmd:
                pids.add(int(entry.name))
    return pids


def kill_all(pids: Iterable[int], timeout: float = 5.0) -> list[int]:
    """SIGKILL every pid (a power loss); wait until they are gone or zombies."""
    targets = sorted(set(pids) - {os.getpid(), 1})
    for pid in targets:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in targets) and time.monotonic() < deadline:
        time.sleep(0.1)
    return targets


def mounts_under(folder: Path) -> list[str]:
    """Mount points at or below ``folder``, deepest first (from /proc/self/mountinfo)."""
    prefix = str(folder).rstrip("/") + "/"
    points: list[str] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix) or point == prefix.rstrip("/"):
                points.append(point)
    return sorted(set(points), key=lambda p: (-p.count("/"), p))


def unmount_all(runner: Runner, folder: Path) -> int:
    points = mounts_under(folder)
    for point in points:
        if not runner.run(["umount", point], check=False).ok:
            runner.run(["umount", "-l", point], check=False)
    return len(points)


def remove_cgroups(prefix: str, root: Path = CGROUP_ROOT) -> int:
    removed = 0
    for top in cgroup_dirs(prefix, root):
        for folder in sorted(top.rglob("*"), key=lambda p: -len(p.parts)):
            if folder.is_dir():
                with contextlib.suppress(OSError):
                    folder.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()
            removed += 1
    return removed


def remove_links(runner: Runner, namespace: str, keep: Iterable[str]) -> list[str]:
    """Delete every network device in ``namespace`` but ``keep``; the names deleted.

    Deleting a veth's host end deletes its peer too, whatever namespace holds it.
    """
    res = runner.run(["ip", "-n", namespace, "-j", "link", "show"], check=False)
    if not res.ok or not res.stdout.strip():
        return []
    kept = set(keep)
    names = [str(link["ifname"]) for link in json.loads(res.stdout)
             if str(link.get("ifname", "")) not in kept]
    removed = [name for name in names
               if runner.run(["ip", "-n", namespace, "link", "del", name], check=False).ok]
    return removed


def clear_folder(folder: Path) -> int:
    """Empty ``folder`` (a tmpfs after a reboot), unless something is still mounted there."""
    if not folder.is_dir() or mounts_under(folder):
        return 0
    count = 0
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        count += 1
    return count
