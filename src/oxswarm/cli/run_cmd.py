"""``oxswarm run <role>``: run one of OxSwarm's services in the foreground.

``oxswarm run oxauth [--bind HOST:PORT] [--workers N] [--issuer URL] [--cache HOST:PORT]
[--ldap-url URL ...] [--registration open|token|off]``: the OpenID Provider under uvicorn
(uvloop + httptools), reading the store and master key like every other command.
"""

from __future__ import annotations

import os

import click

from oxswarm.cli.options import master_key_path, store_options
from oxswarm.errors import InvalidInput
from oxswarm.settings import ENV_CLUSTER, ENV_MASTER_KEY_FILE, ENV_STORE, Settings


@click.group("run")
def run_group() -> None:
    """Run an OxSwarm service in the foreground."""
    from oxswarm.roles.privileges import drop_from_env
    from oxswarm.roles.resolver import tune_from_env

    # in the cluster's containers only (the stack sets the variables): what needs root
    # first, then the role goes on as an unprivileged user
    tune_from_env()
    drop_from_env()


@run_group.command("oxauth")
@store_options
@click.option("--bind", default="0.0.0.0:8080", show_default=True, metavar="HOST:PORT")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--issuer", default=None, metavar="URL", help="Override https://<hostname>.")
@click.option(
    "--cache",
    default=None,
    metavar="HOST:PORT",
    help="Twemproxy address. [default 127.0.0.1:22121; env OXSWARM_CACHE]",
)
@click.option(
    "--ldap-url",
    "ldap_urls",
    multiple=True,
    metavar="URL",
    help="Directory server (repeatable). [default: ldap_peers from the store]",
)
@click.option("--registration", type=click.Choice(["open", "token", "off"]), default=None)
@click.option("--log-level", default="warning", show_default=True)
def run_oxauth(
    *,
    settings: Settings,
    bind: str,
    workers: int,
    issuer: str | None,
    cache: str | None,
    ldap_urls: tuple[str, ...],
    registration: str | None,
    log_level: str,
) -> None:
    """The OpenID Provider (oxAuth)."""
    import uvicorn

    from oxswarm.oxauth.asgi import ENV_OPTIONS, options_to_env
    from oxswarm.oxauth.wiring import DEFAULT_CACHE, RunOptions, parse_hostport

    host, port = parse_hostport(bind, "bind")
    if issuer is not None and not issuer.startswith(("https://", "http://")):
        raise InvalidInput(f"issuer: {issuer!r} must be an http(s) URL", field="issuer")
    options = RunOptions(
        issuer=issuer,
        cache=cache or os.environ.get("OXSWARM_CACHE") or DEFAULT_CACHE,
        ldap_urls=ldap_urls,
        registration=registration,
    )
    parse_hostport(options.cache, "cache")
    scheme = "etcd+https" if settings.store_endpoints[0].startswith("https") else "etcd"
    hosts = ",".join(e.split("://", 1)[1] for e in settings.store_endpoints)
    os.environ[ENV_STORE] = f"{scheme}://{hosts}"
    os.environ[ENV_CLUSTER] = settings.cluster
    os.environ[ENV_MASTER_KEY_FILE] = str(master_key_path(settings))
    os.environ[ENV_OPTIONS] = options_to_env(options)
    uvicorn.run(
        "oxswarm.oxauth.asgi:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )
