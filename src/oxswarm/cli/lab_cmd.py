"""``oxswarm lab fail NODE --mode kill|partition`` and ``oxswarm lab heal NODE``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from oxswarm.deploy.deployer import STATE_ROOT, Deployer
from oxswarm.deploy.lab.driver import LabDriver
from oxswarm.deploy.lab.hosts import LabHosts
from oxswarm.errors import DeployError, InvalidInput


def _driver(cluster: str, state_dir: Path | None) -> LabDriver:
    deployer = Deployer(cluster=cluster, state_dir=state_dir)
    spec = deployer.saved_spec()
    if spec is None:
        raise DeployError(f"cluster {cluster} is not up (run oxswarm up)")
    driver = deployer.driver(spec)
    if not isinstance(driver, LabDriver):
        raise InvalidInput(f"cluster: {cluster} runs on ssh hosts, not in the lab",
                           field="cluster")
    return driver


@click.group("lab")
def lab_group() -> None:
    """Simulate the loss and return of a lab node."""


@lab_group.command("fail")
@click.argument("node")
@click.option("--mode", type=click.Choice(["kill", "partition"]), default="kill",
              show_default=True)
@click.option("--cluster", default="oxswarm", show_default=True)
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def fail_command(node: str, mode: str, cluster: str, state_dir: Path | None) -> None:
    """Cut NODE's network (partition) or also SIGKILL all its processes (kill)."""
    killed = _driver(cluster, state_dir).fail(node, mode)
    click.echo(f"{node}: {mode}" + (f" ({len(killed)} processes killed)" if killed else ""))


@lab_group.command("heal")
@click.argument("node")
@click.option("--cluster", default="oxswarm", show_default=True)
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def heal_command(node: str, cluster: str, state_dir: Path | None) -> None:
    """Reconnect NODE and restart its dockerd if it was killed."""
    done = _driver(cluster, state_dir).heal(node)
    click.echo(f"{node}: " + (", ".join(done) or "already healthy"))


@lab_group.group("hosts")
def hosts_group() -> None:
    """Machines for the ssh driver on this one (namespaces with dockerd and sshd)."""


def _hosts(name: str, nodes: int, state_dir: Path | None) -> LabHosts:
    if nodes < 1:
        raise InvalidInput("nodes: must be at least 1", field="nodes")
    return LabHosts(name, nodes, state_dir or STATE_ROOT / name)


@hosts_group.command("up")
@click.option("--name", default="oxhosts", show_default=True, help="The lab's name.")
@click.option("--nodes", default=3, show_default=True, type=int)
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the hosts' files live. [default /var/lib/oxswarm/NAME]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def hosts_up_command(name: str, nodes: int, state_dir: Path | None, as_json: bool) -> None:
    """Create (or reconcile) NODES hosts reachable over SSH, and say how to deploy to them."""
    hosts = _hosts(name, nodes, state_dir)
    done = hosts.up(step=lambda m: click.echo(f"  {m}", err=True))
    command = ["oxswarm", "up", "--driver", "ssh", "--ssh-config", str(hosts.ssh_config),
               *(a for h in hosts.host_args() for a in ("--host", h))]
    info = {"hosts": hosts.host_args(), "ssh_config": str(hosts.ssh_config),
            "registry": hosts.registry.endpoint, "changes": done, "up": " ".join(command)}
    if as_json:
        click.echo(json.dumps(info))
        return
    for key, value in info.items():
        click.echo(f"{key}: {' '.join(value) if isinstance(value, list) else value}")


@hosts_group.command("down")
@click.option("--name", default="oxhosts", show_default=True)
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def hosts_down_command(name: str, state_dir: Path | None) -> None:
    """Remove the hosts (namespaces, dockerds, sshds, their files)."""
    for item in _hosts(name, 1, state_dir).down():
        click.echo(item)
    click.echo(f"hosts {name}: removed")


def register(root: click.Group) -> None:
    root.add_command(lab_group)
