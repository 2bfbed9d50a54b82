"""``oxswarm up`` / ``down`` / ``status``: the whole cluster in one command."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.status import Status
from rich.text import Text

from oxswarm.cli.status_view import print_status
from oxswarm.config.params import Params
from oxswarm.deploy.deployer import Deployer, default_params
from oxswarm.deploy.status import cluster_status
from oxswarm.errors import InvalidInput
from oxswarm.settings import DEFAULT_CLUSTER, ENV_CLUSTER

MIN_HA_NODES = 3
DEFAULT_NODES = 3
DEFAULT_HOSTNAME = "id.oxswarm.test"
REGISTRY = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[a-z0-9._/-]+)?$")


def config_answers(hostname: str, params_file: Path | None, admin_pw_file: Path | None,
                   given: dict[str, str | None]) -> dict[str, str] | None:
    """config-init's answers from ``up``'s options, validated before anything is built.

    ``None`` when ``--params`` names a file (it is validated by ``config generate``).
    """
    chosen = {k: v for k, v in given.items() if v is not None}
    if params_file is not None:
        if chosen or admin_pw_file is not None:
            raise InvalidInput("params: --params excludes the single config-init options",
                               field="params")
        return None
    answers = {**default_params(hostname), **chosen}
    if admin_pw_file is not None:
        try:
            answers["admin_pw"] = admin_pw_file.read_text().strip()
        except OSError as exc:
            raise InvalidInput(f"admin_pw: cannot read {admin_pw_file}: {exc.strerror}",
                               field="admin_pw") from None
    Params.from_mapping(answers)
    return answers


def cluster_hostname(given: str | None, params_file: Path | None,
                     saved: str | None = None) -> str:
    """The public host name: the ``--params`` file's (validated whole, before anything is
    built), else ``--hostname``, else the saved cluster's (a second ``up``), else the
    default; ``--hostname`` and the file's, differing: invalid input."""
    if params_file is None:
        return given or saved or DEFAULT_HOSTNAME
    from_file = Params.from_json_file(params_file).hostname
    if given is not None and given != from_file:
        raise InvalidInput(f"hostname: --hostname {given} differs from {params_file}'s "
                           f"hostname {from_file} (give one of them)", field="hostname")
    return from_file


def check_driver_options(driver: str, nodes: int | None, hosts: tuple[str, ...],
                         ssh_config: Path | None, registry: str | None) -> None:
    """The driver's own options, checked before anything is built (errors name them)."""
    if driver == "lab":
        for given, name in ((hosts, "host"), (ssh_config, "ssh_config"),
                            (registry, "registry")):
            if given:
                raise InvalidInput(f"{name}: only for --driver ssh", field=name)
        return
    if ssh_config is not None and not ssh_config.is_file():
        raise InvalidInput(f"ssh_config: {ssh_config} does not exist", field="ssh_config")
    if registry is not None and not REGISTRY.match(registry):
        raise InvalidInput(f"registry: {registry!r} is not HOST[:PORT]", field="registry")
    if hosts and nodes not in (None, len(hosts)):
        raise InvalidInput(f"nodes: --nodes {nodes} but {len(hosts)} --host given",
                           field="nodes")


def same_size(cluster: str, running: Sequence[object], nodes: int | None) -> int:
    """The number of nodes to deploy: the running cluster's own (``--nodes`` may only
    repeat it), else ``--nodes``, else 3."""
    if not running:
        return DEFAULT_NODES if nodes is None else nodes
    if nodes is not None and nodes != len(running):
        raise InvalidInput(
            f"nodes: cluster {cluster!r} runs {len(running)} nodes; changing the number of "
            f"nodes of a running cluster is not supported (its etcd members, directory "
            f"replication and cache ring are made with it): keep --nodes {len(running)}, "
            f"or `oxswarm down --cluster {cluster}` (its data is lost) and `up --nodes "
            f"{nodes}`", field="nodes")
    return len(running)


def _console() -> Console:
    return Console(stderr=True, log_path=False)


def progress(console: Console, status: Status | None = None) -> Callable[[str], None]:
    """A long command's step: the spinner's text, and one line ``HH:MM:SS message`` (the
    message as given: no markup, no source file and line as ``Console.log`` adds)."""

    def step(message: str) -> None:
        if status is not None:
            status.update(Text(message))
        console.print(Text(f"{time.strftime('%H:%M:%S')} {message}"), highlight=False)

    return step


@click.command("up")
@click.option("--nodes", default=None, type=int,
              help="Number of nodes (>= 1). [default: the cluster's own, else 3]")
@click.option("--driver", type=click.Choice(["lab", "ssh"]), default="lab", show_default=True)
@click.option("--host", "hosts", multiple=True, metavar="NAME=ssh://user@addr",
              help="A node for the ssh driver (repeatable; manager, worker-1, ...).")
@click.option("--ssh-config", type=click.Path(dir_okay=False, path_type=Path),
              help="ssh driver: an ssh_config(5) file for the hosts; default: yours.")
@click.option("--registry", metavar="HOST[:PORT]",
              help="ssh driver: push the image there for the hosts to pull; "
                   "default: docker save | docker load over ssh.")
@click.option("--hostname", default=None, metavar="FQDN",
              help=f"The public host name. [default: the --params file's, else "
                   f"{DEFAULT_HOSTNAME}]")
@click.option("--params", "params_file", type=click.Path(dir_okay=False, path_type=Path),
              help="config-init answers (JSON); default: generated, admin password random.")
@click.option("--country-code", metavar="CC", help="config-init: two-letter country code.")
@click.option("--state", "region", metavar="STATE", help="config-init: state or region.")
@click.option("--city", metavar="CITY", help="config-init: city.")
@click.option("--admin-email", metavar="EMAIL", help="config-init: the administrator's email.")
@click.option("--org-name", metavar="NAME", help="config-init: organisation name.")
@click.option("--admin-pw-file", type=click.Path(dir_okay=False, path_type=Path),
              help="config-init: a file holding the admin password; default: random.")
@click.option("--cluster", default="oxswarm", show_default=True)
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the cluster's files live. [default /var/lib/oxswarm/CLUSTER]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--rotate", "rotate", multiple=True, type=click.Choice(["store-certs"]),
              help="Replace credentials without downtime: store-certs = new client "
                   "certificates of the config store for every service and the operator.")
def up_command(*, nodes: int | None, driver: str, hosts: tuple[str, ...],
               ssh_config: Path | None, registry: str | None, hostname: str | None,
               params_file: Path | None, country_code: str | None, region: str | None,
               city: str | None, admin_email: str | None, org_name: str | None,
               admin_pw_file: Path | None, cluster: str, state_dir: Path | None,
               as_json: bool, rotate: tuple[str, ...]) -> None:
    """Create (or reconcile) the cluster and wait until it serves."""
    if nodes is not None and nodes < 1:
        raise InvalidInput("nodes: must be at least 1", field="nodes")
    check_driver_options(driver, nodes, hosts, ssh_config, registry)
    if params_file is not None and not params_file.is_file():
        raise InvalidInput(f"params: {params_file} does not exist", field="params")
    deployer = Deployer(cluster=cluster, state_dir=state_dir)
    saved = deployer.saved_spec()
    if driver == "ssh" and hosts:
        nodes = len(hosts)
    nodes = same_size(cluster, saved.nodes if saved else (), nodes)
    hostname = cluster_hostname(hostname, params_file, saved.hostname if saved else None)
    answers = config_answers(hostname, params_file, admin_pw_file, {
        "country_code": country_code, "state": region, "city": city,
        "admin_email": admin_email, "org_name": org_name})
    console = _console()
    if nodes < MIN_HA_NODES and (driver == "lab" or hosts):
        console.print(f"[yellow]warning:[/] {nodes} node(s): the cluster does not survive "
                      "the loss of a node (use 3 or more)")
    with console.status("starting") as status:
        result = deployer.up(nodes=nodes, hostname=hostname, params_file=params_file,
                             params=answers, step=progress(console, status),
                             driver_name=driver,
                             hosts=list(hosts), ssh_config=ssh_config, registry=registry,
                             rotate_store_certs="store-certs" in rotate)
    if as_json:
        click.echo(json.dumps(result.as_dict()))
        return
    front = (f"load balancer {result.load_balancer}" if result.load_balancer else
             f"point {result.url.removeprefix('https://')} at the nodes: DNS or your own LB")
    click.echo(f"url:             {result.url}  ({front})")
    click.echo(f"issuer:          {result.issuer}")
    click.echo(f"identity:        {result.identity_url}  (oxTrust: admin UI, API, SCIM; "
               f"sign in as admin, password in the admin file below)")
    click.echo(f"idp:             {result.idp_metadata_url}  (SAML IdP metadata and entityID; "
               f"trusts: oxswarm saml trust add)")
    click.echo(f"ca_file:         {result.ca_file}")
    click.echo(f"nodes:           {', '.join(f'{k}={v}' for k, v in result.nodes.items())}")
    click.echo(f"store:           {result.store}")
    click.echo(f"cluster:         {result.cluster}")
    click.echo(f"master_key_file: {result.master_key_file}")
    click.echo(f"admin:           {result.admin_credentials}")
    click.echo(f"changes:         {', '.join(result.changes) or 'none'}")
    click.echo(f"test client:     {result.test_client}")
    other = "" if cluster == DEFAULT_CLUSTER else f" --cluster {cluster}"
    click.echo(f'other commands:  eval "$(oxswarm env{other})"  (then oxswarm status, '
               "clients add, users add ...)")


@click.command("down")
@click.option("--cluster", default=DEFAULT_CLUSTER, show_default=True, envvar=ENV_CLUSTER)
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def down_command(cluster: str, state_dir: Path | None) -> None:
    """Remove everything ``up`` created (also after a crash halfway)."""
    console = _console()
    with console.status("removing") as status:
        done = Deployer(cluster=cluster, state_dir=state_dir).down(
            step=progress(console, status))
    for item in done:
        click.echo(item)
    click.echo(f"cluster {cluster}: removed")


@click.command("status")
@click.option("--cluster", default=DEFAULT_CLUSTER, show_default=True, envvar=ENV_CLUSTER)
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status_command(cluster: str, state_dir: Path | None, as_json: bool) -> None:
    """Nodes, services per node, store members, directory replication, catalogue."""
    status = cluster_status(Deployer(cluster=cluster, state_dir=state_dir))
    if as_json:
        click.echo(json.dumps(status))
        return
    print_status(status, Console())


def register(root: click.Group) -> None:
    for command in (up_command, down_command, status_command):
        root.add_command(command)
