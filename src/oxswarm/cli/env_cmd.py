"""``oxswarm env [--cluster NAME] [--json]``: point every command at a cluster.

Prints ``export NAME=VALUE`` lines (values shell-quoted) for the cluster ``up`` made, read
from its state folder, so that ``eval "$(oxswarm env)"`` points ``status``, ``clients``,
``users``, ``config`` ... at it from the operator's machine (docker-machine's habit; see
:mod:`oxswarm.deploy.operator_env` for the variables). ``--json``: one object instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from oxswarm.deploy.deployer import Deployer
from oxswarm.deploy.operator_env import export_lines, operator_env
from oxswarm.errors import NotFound
from oxswarm.settings import DEFAULT_CLUSTER, ENV_CLUSTER


@click.command("env")
@click.option("--cluster", default=DEFAULT_CLUSTER, show_default=True, envvar=ENV_CLUSTER,
              help=f"The cluster. [env {ENV_CLUSTER}]")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the cluster's files live. [default /var/lib/oxswarm/CLUSTER]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def env_command(cluster: str, state_dir: Path | None, as_json: bool) -> None:
    """Print the variables that point every command at a cluster (eval "$(oxswarm env)")."""
    deployer = Deployer(cluster=cluster, state_dir=state_dir)
    spec = deployer.saved_spec()
    if spec is None:
        raise NotFound(f"cluster {cluster} is not up (no {deployer.spec_file}): "
                       "run oxswarm up first")
    env = operator_env(spec, deployer.state_dir)
    click.echo(json.dumps(env) if as_json else export_lines(env), nl=as_json)


def register(root: click.Group) -> None:
    root.add_command(env_command)
