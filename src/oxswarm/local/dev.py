"""``oxswarm dev``: a complete single-host OxSwarm under one folder, in seconds.

:func:`dev_up` starts the backend (:func:`oxswarm.local.stack.start_stack`: etcd, slapd,
Redis, Twemproxy, config-init, the directory's initial load), then oxAuth, oxTrust and the
SAML IdP (``oxswarm run oxauth``, ``oxswarm run oxtrust``, ``oxswarm run oxshibboleth`` as
local processes), waits for their
health endpoints, registers a ready test client and writes:

* ``DIR/dev.json`` (0600): the state: issuer, store, cluster, master key file, cache,
  directory URL, the test client, oxAuth's pid, oxTrust's root (``identity_url``) and pid,
  the SAML IdP's metadata URL (``idp_metadata_url``, its entityID) and pid,
  the operator's store certificate files (the store is closed as in the cluster: TLS with
  client certificates, etcd RBAC; oxAuth runs with its own read-only certificate);
* ``DIR/admin-password`` (0600): the admin user's password (user ``admin``).

Every daemon keeps a pid file under ``DIR`` (:class:`~oxswarm.local.process.Daemon`), so
:func:`dev_down` can stop all of it from another process: it signals the process group
of every pid file found (the IdP, oxTrust and oxAuth first, etcd last, which is
crash-safe and gets SIGKILL).
A ``dev up`` on a folder whose processes all run says so and changes nothing; leftovers
of a crash (state or pid files whose processes died) are stopped and wiped first.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx

from oxswarm.config import keys as K
from oxswarm.directory.bootstrap import allow_idp_at, allow_oxtrust_at
from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.models import Client
from oxswarm.errors import DaemonError, InvalidInput, StoreUnavailable
from oxswarm.local.process import Daemon, free_port, pid_alive, wait_until
from oxswarm.local.stack import Stack, start_stack
from oxswarm.oxauth.clients_admin import build_client, client_json

STATE_FILE: Final = "dev.json"
PASSWORD_FILE: Final = "admin-password"
CLUSTER: Final = "dev"
PARTS: Final = ("oxshibboleth", "oxtrust", "oxauth", "cache", "slapd", "etcd")  # stop order
TEST_CLIENT_REDIRECT: Final = "http://localhost:8080/callback"
TEST_CLIENT_LOGOUT: Final = "http://localhost:8080/"

Progress = Callable[[str], None]

# Processes this process started and left running for ``dev down``: kept so that they
# can be reaped here once stopped (a child that is never waited for lingers as a zombie).
_children: list[subprocess.Popen[bytes]] = []


def _keep(stack: Stack, *services: Daemon) -> None:
    daemons = [
        *(m.daemon for m in stack.etcd.members),
        *(n.daemon for n in stack.slapd),
        *(r.daemon for r in stack.cache.redis),
        stack.cache.twemproxy.daemon,
        *services,
    ]
    _children.extend(d.proc for d in daemons if d.proc is not None)


def _reap() -> None:
    for proc in list(_children):
        if proc.poll() is not None:
            _children.remove(proc)


@dataclass
class DevInfo:
    """What ``dev up`` prints (``--json``) and keeps in ``dev.json``."""

    issuer: str
    store: str
    cluster: str
    master_key_file: str
    cache: str
    ldap: str
    admin_user: str
    admin_password_file: str
    client: dict[str, Any]
    oxauth_pid: int
    identity_url: str = ""  # oxTrust's root (UI, SCIM, admin API), ending in /identity
    oxtrust_pid: int = 0
    idp_metadata_url: str = ""  # the SAML IdP's metadata (entityID), /idp/shibboleth
    oxshibboleth_pid: int = 0
    store_ca_file: str = ""  # the store is closed as in the cluster: the operator's files
    store_cert_file: str = ""
    store_key_file: str = ""
    started_in: float = 0.0
    already_up: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def try_commands(info: DevInfo) -> list[str]:
    """Shell commands a developer pastes to try the stack: discovery, then a
    client_credentials token for the test client (``dev up`` prints them)."""
    issuer = shlex.quote(info.issuer + "/.well-known/openid-configuration")
    token_url = shlex.quote(info.issuer + "/oxauth/restv1/token")
    credentials = shlex.quote(f"{info.client['client_id']}:{info.client['client_secret']}")
    return [
        f"curl -s {issuer}",
        f"curl -s -u {credentials} -d grant_type=client_credentials -d scope=profile {token_url}",
    ]


def _quiet(_: str) -> None:
    return None


def _pid_files(root: Path) -> list[Path]:
    """Pid files under ``root``, in stop order (oxTrust, oxAuth, cache, slapd, etcd, ...)."""
    found = sorted(root.rglob("*.pid")) if root.exists() else []

    def rank(path: Path) -> int:
        rel = path.relative_to(root).parts
        return PARTS.index(rel[0]) if rel and rel[0] in PARTS else len(PARTS)

    return sorted(found, key=rank)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _stop_pid(pid: int, sig: int) -> None:
    for send in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            send(pid, sig)
    try:
        wait_until(lambda: not pid_alive(pid), 10.0, f"process {pid} to stop")
    except DaemonError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(DaemonError):
            wait_until(lambda: not pid_alive(pid), 5.0, f"process {pid} to die")


def read_state(root: Path) -> DevInfo | None:
    try:
        data = json.loads((root / STATE_FILE).read_text())
        return DevInfo(**data)
    except (OSError, ValueError, TypeError):
        return None


def is_up(root: Path, timeout: float = 2.0) -> DevInfo | None:
    """The state when every recorded process runs and oxAuth answers its health check."""
    info = read_state(root)
    if info is None:
        return None
    pids = [_read_pid(p) for p in _pid_files(root)]
    if not pids or any(p is None or not pid_alive(p) for p in pids):
        return None
    try:
        response = httpx.get(f"http://{_oxauth_bind(info)}/oxauth/health", timeout=timeout)
    except httpx.HTTPError:
        return None
    return info if response.status_code == 200 else None


def _oxauth_bind(info: DevInfo) -> str:
    return str(info.extra.get("bind", "127.0.0.1:0"))


def dev_down(root: Path, progress: Progress = _quiet) -> int:
    """Stop every process with a pid file under ``root``; returns how many were running."""
    stopped = 0
    for path in _pid_files(root):
        pid = _read_pid(path)
        if pid is not None and pid_alive(pid):
            part = path.relative_to(root).parts[0]
            progress(f"stopping {path.stem} ({part}, pid {pid})")
            _stop_pid(pid, signal.SIGKILL if part == "etcd" else signal.SIGTERM)
            stopped += 1
        path.unlink(missing_ok=True)
    (root / STATE_FILE).unlink(missing_ok=True)
    _reap()
    return stopped


def _wipe(root: Path) -> None:
    for part in PARTS:
        shutil.rmtree(root / part, ignore_errors=True)
    for name in (STATE_FILE, PASSWORD_FILE, "master.key"):
        (root / name).unlink(missing_ok=True)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    path.chmod(0o600)


def test_client() -> Client:
    """The ready client ``dev up`` registers: confidential, code + refresh + credentials."""
    return build_client(
        name="dev test client",
        grant_types=("authorization_code", "refresh_token", "client_credentials"),
        redirect_uris=(TEST_CLIENT_REDIRECT,),
        post_logout_redirect_uris=(TEST_CLIENT_LOGOUT,),
        auth_method="client_secret_basic",
        scopes=("openid", "profile", "email", "offline_access"),
        public=False,
        access_token_format="opaque",  # noqa: S106  (not a password)
    )


def start_oxauth(
    root: Path, env: dict[str, str], *, bind: str, issuer: str, cache: str, ldap: str
) -> Daemon:
    argv = [
        sys.executable, "-m", "oxswarm", "run", "oxauth", "--bind", bind, "--issuer", issuer,
        "--cache", cache, "--ldap-url", ldap, "--log-level", "warning", "--dev",
    ]
    return Daemon("oxauth", argv, root / "oxauth", env=env).start()


def start_relying(
    role: str, root: Path, env: dict[str, str], *, bind: str, public_url: str, cache: str,
    ldap: str, oxauth_url: str,
) -> Daemon:
    """``oxswarm run oxtrust`` or ``oxswarm run oxshibboleth``: both sign people in at oxAuth."""
    argv = [
        sys.executable, "-m", "oxswarm", "run", role, "--bind", bind,
        "--public-url", public_url, "--cache", cache, "--ldap-url", ldap,
        "--oxauth-url", oxauth_url, "--log-level", "warning",
    ]  # fmt: skip
    return Daemon(role, argv, root / role, env=env).start()


def _own_client_id(stack: Stack, key: str = K.OXAUTH_CLIENT_ID) -> str:
    manager = stack.manager()
    try:
        client_id = manager.get(key)
    finally:
        manager.store.close()
    if not client_id:
        raise StoreUnavailable(f"config store has no {key}: config-init did not run")
    return client_id


def wait_healthy(
    daemon: Daemon, bind: str, timeout: float = 60.0, path: str = "/oxauth/health"
) -> None:
    url = f"http://{bind}{path}"

    def ready() -> bool:
        if not daemon.running():
            raise DaemonError(f"{daemon.name} exited during start: {daemon.tail()}")
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, timeout, f"{daemon.name} health at {url}", interval=0.1)


def _role_env(stack: Stack, env: dict[str, str], role: str) -> dict[str, str]:
    """``env`` with the store certificate of ``role`` (its own etcd user and rights)."""
    own = stack.settings(role)
    return {**env, "OXSWARM_STORE_CERT_FILE": str(own.store_cert_file),
            "OXSWARM_STORE_KEY_FILE": str(own.store_key_file)}


def _start_admin_and_idp(
    stack: Stack, root: Path, env: dict[str, str], *, bind: str, trust_bind: str,
    idp_bind: str, progress: Progress,
) -> tuple[Daemon, Daemon]:
    """oxTrust and the SAML IdP, each on its own certificate, both signing in at oxAuth."""
    started = []
    for role, what, at in (("oxtrust", "oxTrust", trust_bind),
                           ("oxshibboleth", "the SAML IdP", idp_bind)):
        progress(f"starting {what} on {at}")
        started.append(start_relying(
            role, root, _role_env(stack, env, role), bind=at, public_url=f"http://{at}",
            cache=stack.cache_address, ldap=stack.ldap_urls[0], oxauth_url=f"http://{bind}",
        ))
    return started[0], started[1]


def dev_up(
    root: Path,
    *,
    port: int | None = None,
    issuer: str | None = None,
    progress: Progress = _quiet,
) -> DevInfo:
    """Start (or find running) a single-host OxSwarm under ``root``."""
    root = root.resolve()
    if issuer is not None and not issuer.startswith(("http://", "https://")):
        raise InvalidInput(f"issuer: {issuer!r} must be an http(s) URL", field="issuer")
    running = is_up(root)
    if running is not None:
        running.already_up = True
        return running
    if (root / STATE_FILE).exists() or _pid_files(root):
        progress("cleaning up what a previous run left behind")
        dev_down(root, progress)
    _wipe(root)
    root.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    progress("starting etcd, slapd, redis and twemproxy; config-init; directory load")
    # registration open (a cluster's default is token); the store closed as in a cluster
    stack = start_stack(root, cluster=CLUSTER, registration="open", store_tls=True)
    try:
        progress(f"backend up in {time.monotonic() - began:.1f}s")
        bind_port = port or free_port()
        bind = f"127.0.0.1:{bind_port}"
        issuer = (issuer or f"http://{bind}").rstrip("/")
        password_file = root / PASSWORD_FILE
        _write_private(password_file, stack.admin_password + "\n")
        own = stack.settings("oxauth")  # oxAuth's own certificate: read-only rights
        operator = stack.settings()
        env = {
            "OXSWARM_STORE": stack.store_url,
            "OXSWARM_CLUSTER": stack.cluster,
            "OXSWARM_MASTER_KEY_FILE": str(stack.master_key_file),
            "OXSWARM_STORE_CA_FILE": str(own.store_ca_file),
            "OXSWARM_STORE_CERT_FILE": str(own.store_cert_file),
            "OXSWARM_STORE_KEY_FILE": str(own.store_key_file),
        }
        progress(f"starting oxAuth on {bind}")
        daemon = start_oxauth(
            root, env, bind=bind, issuer=issuer, cache=stack.cache_address,
            ldap=stack.ldap_urls[0],
        )
        trust_bind = f"127.0.0.1:{free_port()}"
        idp_bind = f"127.0.0.1:{free_port()}"
        client = test_client()
        with stack.directory() as directory:
            clients = ClientRepository(directory, stack.box())
            clients.add(client)
            # the admin UI signs in through this oxAuth from its loopback address
            allow_oxtrust_at(clients, _own_client_id(stack), f"http://{trust_bind}")
            # the SAML IdP signs people in through this oxAuth from its loopback address
            allow_idp_at(clients, _own_client_id(stack, K.IDP_CLIENT_ID), f"http://{idp_bind}")
        trust, idp = _start_admin_and_idp(stack, root, env, bind=bind, trust_bind=trust_bind,
                                          idp_bind=idp_bind, progress=progress)
        _keep(stack, daemon, trust, idp)
        wait_healthy(daemon, bind)
        wait_healthy(trust, trust_bind, path="/identity/health")
        wait_healthy(idp, idp_bind, path="/idp/health")
        info = DevInfo(
            issuer=issuer,
            store=stack.store_url,
            cluster=stack.cluster,
            master_key_file=str(stack.master_key_file),
            cache=stack.cache_address,
            ldap=stack.ldap_urls[0],
            admin_user="admin",
            admin_password_file=str(password_file),
            client=client_json(client, secret=True),
            oxauth_pid=daemon.pid or 0,
            identity_url=f"http://{trust_bind}/identity",
            oxtrust_pid=trust.pid or 0,
            idp_metadata_url=f"http://{idp_bind}/idp/shibboleth",
            oxshibboleth_pid=idp.pid or 0,
            store_ca_file=str(operator.store_ca_file),
            store_cert_file=str(operator.store_cert_file),
            store_key_file=str(operator.store_key_file),
            started_in=round(time.monotonic() - began, 2),
            extra={"bind": bind, "oxtrust_bind": trust_bind, "oxshibboleth_bind": idp_bind},
        )
        _write_private(root / STATE_FILE, json.dumps(info.to_dict(), indent=2) + "\n")
        progress(f"ready in {info.started_in:.1f}s")
        return info
    except BaseException:
        progress("start failed: stopping what started")
        dev_down(root)
        stack.stop()
        raise
