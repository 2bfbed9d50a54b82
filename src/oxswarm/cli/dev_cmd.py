"""``oxswarm dev up|down``: try OxSwarm on one host in seconds (see :mod:`oxswarm.local.dev`).

``dev up --dir DIR [--port PORT] [--issuer URL] [--json]`` prints the issuer, oxAuth's and
oxTrust's ``/metrics``, the SAML IdP's metadata, where the admin password is, and a ready
test client; with ``--json``, one JSON object with ``issuer``, ``identity_url`` (oxTrust's
root), ``idp_metadata_url`` (the SAML IdP's metadata, also its entityID), ``store``,
``cluster``, ``master_key_file``, ``client`` and more, and ``env``: the variables
(``OXSWARM_STORE``, ``OXSWARM_CLUSTER``, ``OXSWARM_MASTER_KEY_FILE``, the store's CA,
client certificate and key, ``OXSWARM_LDAP_URLS``) that point other commands at the
stack, as ``oxswarm env`` does for a cluster. Progress goes to stderr.
``dev down --dir DIR`` stops all of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from oxswarm.deploy.operator_env import export_lines
from oxswarm.local.dev import DevInfo, dev_down, dev_up, try_commands
from oxswarm.settings import (
    ENV_CLUSTER,
    ENV_LDAP_URLS,
    ENV_MASTER_KEY_FILE,
    ENV_STORE,
    ENV_STORE_CA_FILE,
    ENV_STORE_CERT_FILE,
    ENV_STORE_KEY_FILE,
)


def dev_env(info: DevInfo) -> dict[str, str]:
    """The variables that point every command at the dev stack (as ``oxswarm env``)."""
    env = {ENV_STORE: info.store, ENV_CLUSTER: info.cluster,
           ENV_MASTER_KEY_FILE: info.master_key_file}
    for name, path in ((ENV_STORE_CA_FILE, info.store_ca_file),
                       (ENV_STORE_CERT_FILE, info.store_cert_file),
                       (ENV_STORE_KEY_FILE, info.store_key_file)):
        if path:
            env[name] = path
    env[ENV_LDAP_URLS] = info.ldap
    return env


def metrics_urls(info: DevInfo) -> list[str]:
    """oxAuth's and oxTrust's ``/metrics`` (Prometheus, docs/operations.md)."""
    urls = [f"{info.issuer}/metrics"]
    if info.identity_url:
        urls.append(info.identity_url.removesuffix("/identity") + "/metrics")
    return urls


def _progress(message: str) -> None:
    click.echo(f"dev: {message}", err=True)


@click.group("dev")
def dev_group() -> None:
    """A complete single-host OxSwarm as local processes (for developers and tests)."""


@dev_group.command("up")
@click.option(
    "--dir",
    "root",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for every daemon's data, logs, pid files and the state file.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="oxAuth's port on 127.0.0.1. [default: a free port]",
)
@click.option(
    "--issuer", default=None, metavar="URL", help="The issuer URL. [default http://127.0.0.1:PORT]"
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def up(root: Path, port: int | None, issuer: str | None, as_json: bool) -> None:
    """Start etcd, slapd, Redis, Twemproxy, oxAuth, oxTrust and the SAML IdP under DIR
    (idempotent)."""
    info = dev_up(root, port=port, issuer=issuer, progress=_progress)
    if info.already_up:
        _progress(f"already up under {root}")
    if as_json:
        click.echo(json.dumps(info.to_dict() | {"env": dev_env(info)}))
        return
    client = info.client
    lines = [
        f"issuer:          {info.issuer}",
        f"discovery:       {info.issuer}/.well-known/openid-configuration",
        f"oxTrust:         {info.identity_url} (admin API: "
        f"{info.identity_url}/restv1/api/v1/openapi.json)",
        f"metrics:         {' '.join(metrics_urls(info))}",
        f"SAML IdP:        {info.idp_metadata_url} (metadata and entityID; add an SP with "
        "oxswarm saml trust add --metadata FILE)",
        f"admin user:      {info.admin_user} (password in {info.admin_password_file})",
        f"test client:     {client['client_id']}",
        f"  secret:        {client.get('client_secret', '(public)')}",
        f"  redirect_uri:  {', '.join(client['redirect_uris'])}",
        "point other commands at it:",
        *(f"  {line}" for line in export_lines(dev_env(info)).splitlines()),
        "try it (discovery, then a client_credentials token):",
        *(f"  {line}" for line in try_commands(info)),
        f"stop it:         oxswarm dev down --dir {root}",
    ]
    click.echo("\n".join(lines))


@dev_group.command("down")
@click.option("--dir", "root", required=True, type=click.Path(file_okay=False, path_type=Path))
def down(root: Path) -> None:
    """Stop everything `dev up` started under DIR."""
    stopped = dev_down(root.resolve(), progress=_progress)
    _progress(f"stopped {stopped} process(es)")
