"""``oxswarm run <role>``: run one of OxSwarm's services in the foreground.

``oxswarm run oxtrust [--bind HOST:PORT] [--cache HOST:PORT] [--ldap-url URL ...]
[--public-url URL] [--oxauth-url URL]``: oxTrust (SCIM 2.0, docs/scim.md; the admin UI,
docs/oxtrust-ui.md).

``oxswarm run oxshibboleth [--bind HOST:PORT] [--cache HOST:PORT] [--ldap-url URL ...]
[--public-url URL] [--oxauth-url URL] [--trust-folder DIR]``: the SAML 2.0 IdP
(docs/saml.md).

``oxswarm run oxauth [--bind HOST:PORT] [--workers N] [--issuer URL] [--cache HOST:PORT]
[--ldap-url URL ...] [--registration open|token|off] [--dev]``: the OpenID Provider under
uvicorn (uvloop + httptools), reading the store and master key like every other command.
``--dev`` (``oxswarm dev up``): server-side fetches may reach loopback over http.
``--workers N`` (N > 1): ``prometheus_client``'s multiprocess mode (``/metrics`` sums the
workers). uvicorn's own proxy-header handling is off: the client address is taken through the
store's trusted proxies (:mod:`oxswarm.oxauth.addressing`), one rule in one place.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from oxswarm.cli.options import F, master_key_path, store_options
from oxswarm.errors import InvalidInput
from oxswarm.settings import (
    ENV_CLUSTER,
    ENV_MASTER_KEY_FILE,
    ENV_STORE,
    ENV_STORE_CA_FILE,
    ENV_STORE_CERT_FILE,
    ENV_STORE_KEY_FILE,
    Settings,
)


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
@click.option("--dev", is_flag=True, help="Let server-side fetches reach loopback over http.")
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
    dev: bool,
    log_level: str,
) -> None:
    """The OpenID Provider (oxAuth)."""
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
        dev=dev,
    )
    parse_hostport(options.cache, "cache")
    os.environ[ENV_STORE] = settings.store_url
    os.environ[ENV_CLUSTER] = settings.cluster
    for name, path in ((ENV_STORE_CA_FILE, settings.store_ca_file),
                       (ENV_STORE_CERT_FILE, settings.store_cert_file),
                       (ENV_STORE_KEY_FILE, settings.store_key_file)):
        if path is not None:  # paths only: the worker reads the files itself
            os.environ[name] = str(path)
    os.environ[ENV_MASTER_KEY_FILE] = str(master_key_path(settings))
    os.environ[ENV_OPTIONS] = options_to_env(options)
    made = multiprocess_metrics() if workers > 1 else None
    try:
        _serve_oxauth(host, port, workers, log_level)
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def _serve_oxauth(host: str, port: int, workers: int, log_level: str) -> None:
    """One worker: this process becomes ``python -m oxswarm.oxauth.serve`` (same PID, the
    settings already in the environment), holding oxAuth's modules only. Several: uvicorn
    starts them from here."""
    if workers > 1:
        from oxswarm.oxauth.serve import serve

        serve(host, port, workers, log_level)
        return
    verbose = logging.getLogger().getEffectiveLevel() <= logging.DEBUG
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [  # noqa: S606  (this interpreter, a fixed argv without secrets)
        sys.executable, "-m", "oxswarm.oxauth.serve", host, str(port), log_level,
        *(["-v"] if verbose else [])])


def multiprocess_metrics() -> Path | None:
    """Several workers: ``prometheus_client``'s multiprocess mode, each worker's values in
    a file of a folder of their own (emptied first: a previous run's counts would be
    summed in); ``/metrics`` of any worker answers the sum (:mod:`oxswarm.metrics`).
    Returns the folder when it was made here (removed at the end)."""
    from oxswarm.metrics import MULTIPROC_ENV

    given = os.environ.get(MULTIPROC_ENV)
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="oxauth-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)
    return None if given else folder


def _relying_service(func: F) -> F:
    """The options of a service that signs people in at oxAuth (oxTrust, the IdP)."""
    for option in reversed((
        click.option("--cache", default=None, metavar="HOST:PORT",
                     help="Twemproxy address. [default 127.0.0.1:22121; env OXSWARM_CACHE]"),
        click.option("--ldap-url", "ldap_urls", multiple=True, metavar="URL",
                     help="Directory server (repeatable). [default: ldap_peers from the store]"),
        click.option("--public-url", default=None, metavar="URL",
                     help="The base browsers see. [default https://<hostname>]"),
        click.option("--oxauth-url", default=None, metavar="URL",
                     help="oxAuth for the back channel (token, JWKS). [default: public URL]"),
    )):
        func = option(func)
    return func


def _relying_options(bind: str, cache: str | None, public_url: str | None,
                     oxauth_url: str | None) -> str:
    """The cache address to use, once it, ``bind`` and the URLs are checked."""
    from oxswarm.oxauth.wiring import DEFAULT_CACHE, parse_hostport

    parse_hostport(bind, "bind")
    for name, value in (("public-url", public_url), ("oxauth-url", oxauth_url)):
        if value is not None and not value.startswith(("https://", "http://")):
            raise InvalidInput(f"{name}: {value!r} must be an http(s) URL", field=name)
    address = cache or os.environ.get("OXSWARM_CACHE") or DEFAULT_CACHE
    parse_hostport(address, "cache")
    return address


def _serve(app: Any, bind: str, log_level: str, *, proxy_headers: bool) -> None:
    import uvicorn

    from oxswarm.oxauth.wiring import parse_hostport

    host, port = parse_hostport(bind, "bind")
    uvicorn.run(app, host=host, port=port, loop="uvloop", http="httptools",
                log_level=log_level, access_log=False, proxy_headers=proxy_headers,
                server_header=False)


@run_group.command("oxtrust")
@store_options
@click.option("--bind", default="0.0.0.0:8082", show_default=True, metavar="HOST:PORT")
@_relying_service
@click.option("--log-level", default="warning", show_default=True)
def run_oxtrust(
    *,
    settings: Settings,
    bind: str,
    cache: str | None,
    ldap_urls: tuple[str, ...],
    public_url: str | None,
    oxauth_url: str | None,
    log_level: str,
) -> None:
    """The administration service (oxTrust): SCIM 2.0 under /identity/restv1/scim/v2 and the
    admin REST API under /identity/restv1/api/v1."""
    from oxswarm.oxtrust.app import TrustOptions, app_from_settings

    options = TrustOptions(
        cache=_relying_options(bind, cache, public_url, oxauth_url),
        ldap_urls=ldap_urls,
        public_url=public_url,
        oxauth_url=oxauth_url,
    )
    _serve(app_from_settings(settings, options), bind, log_level, proxy_headers=True)


@run_group.command("oxshibboleth")
@store_options
@click.option("--bind", default="0.0.0.0:8086", show_default=True, metavar="HOST:PORT")
@_relying_service
@click.option("--trust-folder", default=None, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Serve the trusts from files here, kept from the directory (the node's "
                   "shared folder: <shared>/idp/trusts). [default: the directory itself]")
@click.option("--log-level", default="warning", show_default=True)
def run_oxshibboleth(
    *,
    settings: Settings,
    bind: str,
    cache: str | None,
    ldap_urls: tuple[str, ...],
    public_url: str | None,
    oxauth_url: str | None,
    trust_folder: Path | None,
    log_level: str,
) -> None:
    """The SAML 2.0 identity provider (oxShibboleth): metadata at /idp/shibboleth, SSO at
    /idp/profile/SAML2/Redirect/SSO and /idp/profile/SAML2/POST/SSO (docs/saml.md); its
    entityID is <public URL>/idp/shibboleth."""
    from oxswarm.oxshibboleth.app import IdpOptions, app_from_settings
    from oxswarm.oxshibboleth.idp import xmlsec_binary

    options = IdpOptions(
        cache=_relying_options(bind, cache, public_url, oxauth_url),
        ldap_urls=ldap_urls,
        public_url=public_url,
        oxauth_url=oxauth_url,
        trust_folder=trust_folder,
    )
    xmlsec_binary()  # fail at start, naming the package, when xmlsec1 is missing
    _serve(app_from_settings(settings, options), bind, log_level, proxy_headers=False)
