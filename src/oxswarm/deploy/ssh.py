"""The ``ssh`` driver: existing hosts with Docker, reached over SSH.

Every Docker call is ``docker -H ssh://user@host ...``: the Docker CLI's own SSH transport
(``ssh user@host docker system dial-stdio``), so a host needs sshd, Docker and a key login
(ssh-agent or ``~/.ssh``). ``--ssh-config FILE`` names an ssh_config(5) used instead of
the user's own; every ssh runs with ``BatchMode=yes`` (a missing key fails at once instead
of prompting). Plain commands (the host folders) go through ``ssh`` itself.

The image reaches the hosts through ``--registry`` (pushed once, pulled by each node) or,
without one, by ``docker save | docker load`` over SSH to each host that lacks it.
``down`` removes the stack, the swarm and the host folders it created.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from oxswarm.deploy.docker import Docker
from oxswarm.deploy.runner import Result, Runner, SubprocessRunner, clean_env
from oxswarm.deploy.spec import HOST_FOLDERS, ClusterSpec, NodeSpec
from oxswarm.deploy.swarm import Swarm
from oxswarm.errors import DeployError, OxSwarmError

log = logging.getLogger(__name__)

SSH_OPTIONS = ("-o", "BatchMode=yes", "-o", "ConnectTimeout=10")
Step = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


class SshClient:
    """How this machine runs ``ssh``: options, and a ``PATH`` for the Docker CLI's ssh."""

    def __init__(self, bin_dir: Path, config: Path | None = None) -> None:
        self.bin_dir = bin_dir
        self.config = config

    def options(self) -> list[str]:
        return [*(("-F", str(self.config)) if self.config else ()), *SSH_OPTIONS]

    def argv(self, url: str, command: str) -> list[str]:
        """``ssh [options] ssh://user@host -- command`` (``command`` is a shell line)."""
        return ["ssh", *self.options(), url, "--", command]

    def install(self) -> None:
        """A ``ssh`` wrapper that the Docker CLI finds first on ``PATH``."""
        real = shutil.which("ssh", path=os.defpath + ":/usr/bin") or "/usr/bin/ssh"
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        wrapper = self.bin_dir / "ssh"
        text = f'#!/bin/sh\nexec {real} {shlex.join(self.options())} "$@"\n'
        if not wrapper.is_file() or wrapper.read_text() != text:
            wrapper.write_text(text)
            wrapper.chmod(0o755)

    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.bin_dir}:{os.environ.get('PATH', os.defpath)}"}


class SshDriver:
    """The nodes of an ``ssh`` cluster: reconcile, distribute the image, remove."""

    def __init__(self, spec: ClusterSpec, state_dir: Path, runner: Runner | None = None) -> None:
        if spec.driver != "ssh" or any(n.ssh is None for n in spec.nodes):
            raise DeployError("the ssh driver needs an ssh spec (--host NAME=ssh://user@addr)")
        self.spec = spec
        self.state_dir = state_dir
        self.runner = runner or SubprocessRunner()
        self.client = SshClient(state_dir / "bin",
                                Path(spec.ssh_config) if spec.ssh_config else None)

    def _url(self, node: NodeSpec) -> str:
        assert node.ssh is not None  # checked in __init__
        return node.ssh

    # -- parts --------------------------------------------------------------------
    def docker(self, node: str) -> Docker:
        return Docker(self._url(self.spec.node(node)), self.runner, env=self.client.env())

    def dockers(self) -> dict[str, Docker]:
        return {n.name: self.docker(n.name) for n in self.spec.nodes}

    def shell(self, node: NodeSpec, command: str, check: bool = True,
              timeout: float = 60.0) -> Result:
        """Run a shell line on ``node``; DeployError names the node when it fails."""
        res = self.runner.run(self.client.argv(self._url(node), command), check=False,
                              timeout=timeout)
        if check and not res.ok:
            detail = " | ".join((res.stderr or res.stdout).strip().splitlines()[-2:])
            raise DeployError(f"{node.name} ({node.ssh}): `{command}` failed: {detail}")
        return res

    def folders(self, node: NodeSpec) -> list[str]:
        return [f"{node.data_dir}/{name}" for name in HOST_FOLDERS]

    # -- reconcile ------------------------------------------------------------------
    def up(self, step: Step = _quiet) -> list[str]:
        """Reach every host, make its folders, then the swarm (init, join, labels, network)."""
        self.client.install()
        done: list[str] = []
        for node in self.spec.nodes:
            step(f"{node.name}: docker over {node.ssh}")
            self.check_docker(node)
            made = self.shell(node, _mkdirs(self.folders(node))).stdout.split()
            if made:
                done.append(f"{node.name}: folders {' '.join(made)}")
        step("swarm")
        done += Swarm(self.spec, self.dockers()).up()
        return done

    def check_docker(self, node: NodeSpec) -> None:
        try:
            self.docker(node.name).run("version", "--format", "{{.Server.Version}}", timeout=60)
        except OxSwarmError as exc:
            raise DeployError(f"{node.name}: docker over {node.ssh} does not answer: "
                              f"{exc}") from None

    def is_up(self) -> bool:
        try:
            return all(self.docker(n.name).reachable() for n in self.spec.nodes)
        except OxSwarmError:
            return False

    # -- image --------------------------------------------------------------------
    def image_registry(self) -> str | None:
        return self.spec.registry

    def distribute(self, source: Docker, ref: str, step: Step = _quiet) -> list[str]:
        """Without a registry: ``docker save`` once, ``docker load`` on each host lacking it."""
        if self.spec.registry:
            return []
        done: list[str] = []
        archive: Path | None = None
        try:
            for node in self.spec.nodes:
                target = self.docker(node.name)
                if target.image_exists(ref):
                    continue
                if archive is None:
                    step(f"docker save {ref}")
                    archive = self.state_dir / "image.tar"
                    source.run("save", "-o", str(archive), ref, timeout=600)
                step(f"{node.name}: docker load ({archive.stat().st_size // 2**20} MiB over ssh)")
                started = time.monotonic()
                load(target, archive)
                done.append(f"{node.name}: image loaded in {time.monotonic() - started:.0f}s")
        finally:
            if archive is not None:
                archive.unlink(missing_ok=True)
        return done

    # -- teardown -------------------------------------------------------------------
    def down(self, step: Step = _quiet) -> list[str]:
        """Stack, swarm (every node leaves) and host folders; the hosts keep Docker."""
        done: list[str] = []
        self.client.install()
        failed: list[str] = []
        manager = self.docker(self.spec.manager.name)
        step(f"docker stack rm {self.spec.stack}")
        try:
            if manager.run("stack", "rm", self.spec.stack, check=False).ok:
                done.append(f"stack {self.spec.stack}")
        except OxSwarmError as exc:
            failed.append(f"{self.spec.manager.name}: {exc}")
        for node in reversed(self.spec.nodes):  # workers first, the manager last
            step(f"{node.name}: leave the swarm, remove folders")
            try:
                docker = self.docker(node.name)
                if docker.swarm_info().get("LocalNodeState") not in (None, "", "inactive"):
                    leave_swarm(docker)
                    done.append(f"{node.name} left the swarm")
                self._wait_no_containers(docker)
                self.shell(node, "rm -rf " + " ".join(map(shlex.quote, self.folders(node))))
                done.append(f"{node.name}: folders removed")
            except OxSwarmError as exc:
                failed.append(f"{node.name}: {exc}")
        if failed:
            raise DeployError("down is incomplete (run it again when the hosts answer): "
                              + "; ".join(failed))
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir, ignore_errors=True)
            done.append(f"removed {self.state_dir}")
        return done

    def _wait_no_containers(self, docker: Docker, timeout: float = 60.0) -> None:
        """Until the stack's containers are gone (they hold the folders open)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            names = docker.run("ps", "-a", "--filter", f"label=com.docker.stack.namespace="
                               f"{self.spec.stack}", "--format", "{{.Names}}").stdout.split()
            if not names:
                return
            docker.run("rm", "-f", *names, check=False)
            time.sleep(1.0)
        raise DeployError(f"containers of stack {self.spec.stack} remain on {docker.host}")


def leave_swarm(docker: Docker, attempts: int = 3, pause: float = 2.0) -> None:
    """``docker swarm leave --force`` until the node says ``inactive``. A node that was cut
    off from the managers (the partition test's host) answered "context deadline
    exceeded" while its agent was still stopping: the daemon is asked again, and the
    leave counts as done once the node reports it left."""
    error = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause)
        res = docker.run("swarm", "leave", "--force", check=False, timeout=90)
        state = docker.swarm_info().get("LocalNodeState")
        if state == "inactive":
            return
        error = (res.stderr.strip().splitlines() or [f"the node is still {state}"])[-1]
    raise DeployError(f"docker swarm leave --force on {docker.host}: {error} "
                      f"({attempts} attempts)")


def _mkdirs(folders: list[str]) -> str:
    """A shell line creating each missing folder and printing the ones it created."""
    quoted = " ".join(map(shlex.quote, folders))
    return f'for d in {quoted}; do [ -d "$d" ] || {{ mkdir -p "$d" && echo "$d"; }}; done'


def load(target: Docker, archive: Path, timeout: float = 1200.0) -> None:
    """``docker -H ssh://... load`` fed from ``archive`` (streamed over ssh)."""
    with archive.open("rb") as data:
        try:
            proc = subprocess.run([target.binary, "-H", target.host, "load", "-q"], stdin=data,
                                  capture_output=True, timeout=timeout, check=False,
                                  env=clean_env(target.env))
        except subprocess.TimeoutExpired:
            raise DeployError(f"docker load on {target.host}: timed out after "
                              f"{timeout:.0f}s") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()[-2:]
        raise DeployError(f"docker load on {target.host}: {' | '.join(detail)}")
