"""One dockerd per lab node (in the node's network namespace), and the root-namespace builder.

Per node (``lab.md``): ``nsenter --net=/run/netns/<ns> unshare --uts sh -c "hostname N;
exec dockerd ..."`` with its own data root, exec root, socket, pid file, cgroup parent and
containerd namespaces, and a ``daemon.json`` listing the lab registry as insecure. Every
``exec`` keeps one PID from ``nsenter`` to ``dockerd``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from oxswarm.deploy.runner import SubprocessRunner, clean_env
from oxswarm.deploy.spec import HOST_DATA_DIR
from oxswarm.errors import DaemonError, DeployError
from oxswarm.local.process import pid_alive, wait_until

log = logging.getLogger(__name__)

DOCKERD = "dockerd"
HOST_SOCKET = "unix:///run/docker.sock"
HOST_DATA = HOST_DATA_DIR  # a host-like node's, bound over the real path
DOCKER = "docker"
START_TIMEOUT = 90.0
# Launched daemons outlive the objects that started them: keep their Popen handles so
# that they are not collected (and warned about) while the daemon runs.
LAUNCHED: list[subprocess.Popen[bytes]] = []
STOP_TIMEOUT = 30.0


@dataclass(frozen=True)
class DockerdConfig:
    """Where one dockerd keeps its state and how it is set up."""

    name: str
    root: Path
    namespace: str | None
    hostname: str | None
    cgroup_parent: str | None
    containerd_namespace: str
    insecure_registries: tuple[str, ...] = ()
    bip: str | None = None
    address_pool: str | None = None
    builder: bool = False
    # Where containers' embedded DNS forwards names it does not know. Lab nodes name their
    # own address: no query may leave the lab for the host's resolver.
    dns: tuple[str, ...] = ()
    # A "host" for the ssh driver: dockerd runs in a private mount namespace where /run is
    # the node's own ``run`` folder (so /var/run/docker.sock is its socket, as on a real
    # machine) and HOST_DATA is the node's own ``host`` folder.
    host_like: bool = False

    @property
    def socket(self) -> Path:
        """The socket as reached from the root namespace."""
        return self.run_dir / "docker.sock" if self.host_like else self.root / "docker.sock"

    @property
    def run_dir(self) -> Path:
        """A host-like node's /run."""
        return self.root / "run"

    @property
    def data_dir(self) -> Path:
        """A host-like node's HOST_DATA folder."""
        return self.root / "host"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid_file(self) -> Path:
        return self.root / "dockerd.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "dockerd.log"

    @property
    def exec_root(self) -> Path:
        return self.root / "exec"

    @property
    def data_root(self) -> Path:
        return self.root / "data"

    def daemon_json(self) -> dict[str, object]:
        """The daemon's configuration file (everything but the launch flags)."""
        conf: dict[str, object] = {
            "data-root": str(self.data_root),
            "exec-root": str(self.exec_root),
            "pidfile": str(self.pid_file),
            "hosts": [HOST_SOCKET if self.host_like else self.host],
            "containerd-namespace": self.containerd_namespace,
            "containerd-plugins-namespace": f"{self.containerd_namespace}-plugins",
            "insecure-registries": list(self.insecure_registries),
            "log-driver": "json-file",
            "log-opts": {"max-size": "5m", "max-file": "2"},
            "storage-driver": "overlay2",
        }
        if self.cgroup_parent:
            conf["cgroup-parent"] = self.cgroup_parent
        if self.dns:
            conf["dns"] = list(self.dns)
        if self.builder:
            conf.update({"bridge": "none", "iptables": False, "ip-forward": False,
                         "ip-masq": False})
        else:
            if self.bip:
                conf["bip"] = self.bip
            if self.address_pool:
                conf["default-address-pools"] = [{"base": self.address_pool, "size": 24}]
        return conf

    def argv(self) -> list[str]:
        dockerd = [DOCKERD, "--config-file", str(self.root / "daemon.json")]
        if self.namespace is None:
            return dockerd
        inner = f"hostname {self.hostname or self.name} && exec {' '.join(dockerd)}"
        if not self.host_like:
            return ["nsenter", f"--net=/run/netns/{self.namespace}", "unshare", "--uts",
                    "sh", "-c", inner]
        mounts = (f"mount --bind {self.run_dir} /run && mkdir -p {HOST_DATA} && "
                  f"mount --bind {self.data_dir} {HOST_DATA} && ")
        return ["nsenter", f"--net=/run/netns/{self.namespace}", "unshare", "--uts", "--mount",
                "--propagation", "private", "sh", "-c", mounts + inner]


class Dockerd:
    """Start (idempotent), probe and stop one dockerd."""

    def __init__(self, config: DockerdConfig) -> None:
        self.config = config
        self.runner = SubprocessRunner()

    def pid(self) -> int | None:
        try:
            pid = int(self.config.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def answers(self) -> bool:
        if not self.config.socket.exists():
            return False
        try:
            res = self.runner.run([DOCKER, "-H", self.config.host, "version", "--format",
                                   "{{.Server.Version}}"], check=False, timeout=10)
        except DeployError:  # timed out: a swarm manager waiting for its quorum, say
            return False
        return res.ok

    def start(self) -> bool:
        """Start unless it already answers; True when it was started now."""
        if self.pid() is not None and self.answers():
            return False
        self.wait_ready(self.launch())
        return True

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it (see :meth:`wait_ready`)."""
        self.stop()
        cfg = self.config
        cfg.root.mkdir(parents=True, exist_ok=True)
        if cfg.host_like:
            cfg.run_dir.mkdir(exist_ok=True)
            cfg.data_dir.mkdir(exist_ok=True)
        (cfg.root / "daemon.json").write_text(json.dumps(cfg.daemon_json(), indent=2) + "\n")
        cfg.pid_file.unlink(missing_ok=True)
        cfg.socket.unlink(missing_ok=True)
        with cfg.log_file.open("ab") as out:
            proc = subprocess.Popen(cfg.argv(), stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    env=clean_env())
        LAUNCHED.append(proc)
        (cfg.root / "launcher.pid").write_text(f"{proc.pid}\n")
        return proc

    def wait_ready(self, proc: subprocess.Popen[bytes], timeout: float = START_TIMEOUT) -> None:
        """Until the launched dockerd answers; DeployError when it exits or times out."""
        cfg = self.config

        def ready() -> bool:
            if proc.poll() is not None:
                raise DeployError(f"dockerd {cfg.name} exited: {self.tail()}")
            return self.answers()

        try:
            wait_until(ready, timeout, f"dockerd {cfg.name}", interval=0.5)
        except DaemonError as exc:
            raise DeployError(f"dockerd {cfg.name} did not come up: {self.tail()}") from exc

    def tail(self, lines: int = 8) -> str:
        try:
            text = self.config.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM and wait (dockerd stops its containerd); SIGKILL after ``timeout``."""
        pids = [p for p in (self.pid(), self._launcher_pid()) if p is not None]
        for pid in set(pids):
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in pids:
            if pid_alive(pid):
                _signal(pid, signal.SIGKILL)
        self.config.pid_file.unlink(missing_ok=True)
        (self.config.root / "launcher.pid").unlink(missing_ok=True)

    def _launcher_pid(self) -> int | None:
        try:
            pid = int((self.config.root / "launcher.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)
