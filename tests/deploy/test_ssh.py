"""The ssh driver's pure parts: ssh options (checked by ``ssh -G``, which connects to
nothing), the folder line (run by a real shell), image distribution and stack options."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from oxswarm.deploy.deployer import Deployer
from oxswarm.deploy.docker import Docker
from oxswarm.deploy.runner import Result
from oxswarm.deploy.spec import ClusterSpec, lab_spec, ssh_spec
from oxswarm.deploy.ssh import SshClient, SshDriver, _mkdirs, leave_swarm
from oxswarm.errors import DeployError

HOSTS = ["manager=ssh://root@10.9.0.11", "worker-1=ssh://root@10.9.0.12",
         "worker-2=ssh://ops@10.9.0.13:2222"]


class Recorder:
    """A runner that records every command and answers them all with success."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, check: bool = True, input: str | None = None,
            timeout: float = 120.0, env: Mapping[str, str] | None = None) -> Result:
        self.calls.append(tuple(argv))
        return Result(tuple(argv), 0, "", "")


def spec(registry: str | None = None, config: str | None = None) -> ClusterSpec:
    return ssh_spec(hosts=HOSTS, image="img", registry=registry, ssh_config=config)


def test_hosts_keep_their_user_and_port() -> None:
    nodes = spec().nodes
    assert [(n.name, n.address, n.ssh) for n in nodes] == [
        ("manager", "10.9.0.11", "ssh://root@10.9.0.11"),
        ("worker-1", "10.9.0.12", "ssh://root@10.9.0.12"),
        ("worker-2", "10.9.0.13", "ssh://ops@10.9.0.13:2222")]


def test_the_docker_clis_ssh_uses_the_given_config(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host 10.9.0.*\n    User deploy\n    Port 2200\n")
    client = SshClient(tmp_path / "bin", config)
    client.install()
    wrapper = tmp_path / "bin" / "ssh"
    assert wrapper.stat().st_mode & 0o111
    env = client.env()
    assert env["PATH"].startswith(f"{tmp_path / 'bin'}:")
    # ssh -G evaluates the configuration and prints it; it connects to nothing
    shown = subprocess.run(["ssh", "-G", "10.9.0.12"], capture_output=True, text=True,
                           env={"PATH": env["PATH"]}, check=True).stdout.splitlines()
    assert {"user deploy", "port 2200", "batchmode yes"} <= set(shown)


def test_without_a_config_ssh_is_the_users_own_but_never_prompts(tmp_path: Path) -> None:
    client = SshClient(tmp_path / "bin")
    assert "-F" not in client.argv("ssh://root@10.9.0.11", "true")
    client.install()
    shown = subprocess.run([str(tmp_path / "bin" / "ssh"), "-G", "10.9.0.11"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert "batchmode yes" in shown


def test_folder_line_creates_only_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "etcd").mkdir()
    folders = [str(tmp_path / name) for name in ("etcd", "ldap", "my dir")]
    line = _mkdirs(folders)
    out = subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == folders[1:]
    assert all(Path(f).is_dir() for f in folders)
    again = subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=True)
    assert again.stdout == ""


def test_with_a_registry_nothing_is_copied(tmp_path: Path) -> None:
    runner = Recorder()
    driver = SshDriver(spec(registry="registry.example.org:5000"), tmp_path, runner)
    assert driver.image_registry() == "registry.example.org:5000"
    assert driver.distribute(Docker("unix:///nowhere", runner), "img:1") == []
    assert runner.calls == []


def test_docker_calls_go_over_ssh_with_the_wrapper_first_on_path(tmp_path: Path) -> None:
    driver = SshDriver(spec(), tmp_path)
    docker = driver.docker("worker-2")
    assert docker.host == "ssh://ops@10.9.0.13:2222"
    assert docker.env["PATH"].split(":")[0] == str(tmp_path / "bin")


def test_a_lab_spec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="ssh spec"):
        SshDriver(lab_spec(nodes=1, state_dir=str(tmp_path), image="img"), tmp_path)


@pytest.mark.parametrize(("registry", "resolve"), [(None, True), ("reg:5000", False)])
def test_a_loaded_image_is_not_resolved_in_a_registry(tmp_path: Path, registry: str | None,
                                                      resolve: bool) -> None:
    runner = Recorder()
    Deployer._stack_deploy(Docker("ssh://root@10.9.0.11", runner), tmp_path / "stack.yml",
                           spec(registry=registry))
    (argv,) = runner.calls
    assert (argv[-3:-1] == ("--resolve-image", "never")) is resolve, argv
    assert argv[-1] == "oxs"


class Leaving:
    """A daemon whose ``swarm leave`` answers "context deadline exceeded" ``stuck`` times
    (its node stays ``active``) before it leaves."""

    def __init__(self, stuck: int) -> None:
        self.stuck = stuck
        self.leaves = 0
        self.state = "active"

    def run(self, argv: Sequence[str], *, check: bool = True, input: str | None = None,
            timeout: float = 120.0, env: Mapping[str, str] | None = None) -> Result:
        if "leave" in argv:
            self.leaves += 1
            if self.leaves <= self.stuck:
                return Result(tuple(argv), 1, "", "Error response from daemon: "
                              "context deadline exceeded\n")
            self.state = "inactive"
            return Result(tuple(argv), 0, "Node left the swarm.\n", "")
        if "info" in argv:
            return Result(tuple(argv), 0, f'{{"LocalNodeState":"{self.state}"}}\n', "")
        raise AssertionError(argv)


def test_a_leave_that_timed_out_is_asked_again() -> None:
    daemon = Leaving(stuck=2)
    leave_swarm(Docker("ssh://root@10.9.0.13", daemon), pause=0)
    assert daemon.leaves == 3 and daemon.state == "inactive"


def test_a_node_that_never_leaves_is_named_with_the_daemons_words() -> None:
    daemon = Leaving(stuck=5)
    with pytest.raises(DeployError) as failed:
        leave_swarm(Docker("ssh://root@10.9.0.13", daemon), pause=0)
    assert daemon.leaves == 3
    assert "ssh://root@10.9.0.13" in str(failed.value)
    assert "context deadline exceeded" in str(failed.value)
