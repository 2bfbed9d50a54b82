"""``oxswarm lab fail NODE --mode kill|partition`` and ``oxswarm lab heal NODE``."""

from __future__ import annotations

from pathlib import Path

import click

from oxswarm.deploy.deployer import Deployer
from oxswarm.errors import DeployError


def _driver(cluster: str, state_dir: Path | None):  # type: ignore[no-untyped-def]
    deployer = Deployer(cluster=cluster, state_dir=state_dir)
    spec = deployer.saved_spec()
    if spec is None:
        raise DeployError(f"cluster {cluster} is not up (run oxswarm up)")
    return deployer.driver(spec)


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


def register(root: click.Group) -> None:
    root.add_command(lab_group)
