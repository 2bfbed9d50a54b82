"""``oxswarm run ldap``: one directory server of the N-way multi-provider ring.

Environment (the stack sets it): ``OXS_LDAP_SERVER_ID`` (1..N), ``OXS_LDAP_PEERS`` (the
other providers' URLs), ``OXS_LDAP_SEED`` (1 on the first node: it loads the suffix entry
with ``slapadd -S <id> -w`` when its database is empty; the others receive everything by
replication), ``OXS_LDAP_PORT`` (ldaps), ``OXS_LDAP_NAMES`` (the names its certificate
answers to besides ``ldap``, ``localhost``, ``127.0.0.1``: its service name and its
node's address). The root password is config-init's ``ldap_admin_pw``.

TLS: at each start the role issues its node's certificate from config-init's CA
(``ca_cert``, secret ``ca_key``) into ``/run/oxswarm/ldap-tls`` (key 0600). slapd listens
on ``ldaps://0.0.0.0:<port>/`` and ``ldapi:///`` only: no plain LDAP port; replication to
the peers is ldaps, checked against the CA (see :mod:`oxswarm.directory.slapdconf`).
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import click

from oxswarm.config import keys
from oxswarm.directory.passwords import hash_password
from oxswarm.directory.slapdconf import (
    DEFAULT_SUFFIX,
    SlapdSpec,
    best_password_scheme,
    render_slapd_conf,
)
from oxswarm.local.slapd import (
    DEBUG,
    base_entry_ldif,
    check_config,
    write_tls,
)
from oxswarm.roles.env import csv, need, optional
from oxswarm.roles.run import exec_daemon, setup_logging
from oxswarm.roles.store import open_manager, wait_config

log = logging.getLogger("oxswarm.roles")
DATA = Path("/var/lib/oxswarm/ldap/data")
RUN = Path("/run/slapd")
CONF = Path("/run/oxswarm/slapd.conf")
TLS_DIR = Path("/run/oxswarm/ldap-tls")
CERT_NAMES = ("ldap", "localhost", "127.0.0.1")


def has_suffix(conf: Path, suffix: str) -> bool:
    """True when the database holds the suffix entry (``slapcat -s`` aborts in 2.5.13)."""
    res = subprocess.run(["slapcat", "-f", str(conf), "-H", f"ldap:///{suffix}??base"],
                         capture_output=True, text=True, check=False)
    return f"dn: {suffix}".lower() in res.stdout.lower()


@click.command("ldap")
def command() -> None:
    """One slapd of the directory (multi-provider replication)."""
    setup_logging("ldap")
    server_id = int(need("OXS_LDAP_SERVER_ID"))
    peers = tuple(csv("OXS_LDAP_PEERS")) if optional("OXS_LDAP_PEERS", "") else ()
    seed = optional("OXS_LDAP_SEED", "0") == "1"
    port = int(optional("OXS_LDAP_PORT", "1636"))
    names = [*csv("OXS_LDAP_NAMES"), *CERT_NAMES] if optional("OXS_LDAP_NAMES", "") \
        else list(CERT_NAMES)
    store, manager = open_manager()
    password = wait_config(manager, keys.LDAP_ADMIN_PW, secret=True)
    ca_cert = wait_config(manager, keys.CA_CERT)
    ca_key = wait_config(manager, keys.CA_KEY, secret=True)
    suffix = manager.get(keys.LDAP_BASE_DN) or DEFAULT_SUFFIX
    root_dn = manager.get(keys.LDAP_BIND_DN) or f"cn=directory manager,{suffix}"
    store.close()
    scheme = best_password_scheme()
    tls = write_tls(TLS_DIR, ca_cert, ca_key, list(dict.fromkeys(names)))
    spec = SlapdSpec(
        server_id=server_id, peers=peers, data_dir=DATA, run_dir=RUN,
        root_password=password, root_password_hash=hash_password(password, scheme),
        suffix=suffix, root_dn=root_dn, password_hash=scheme, log_level="sync", tls=tls,
    )  # fmt: skip
    for folder in (DATA, RUN, CONF.parent):
        folder.mkdir(parents=True, exist_ok=True)
    CONF.write_text(render_slapd_conf(spec))
    CONF.chmod(0o600)
    check_config(CONF)
    if seed and not has_suffix(CONF, suffix):
        res = subprocess.run(["slapadd", "-S", str(server_id), "-w", "-q", "-f", str(CONF)],
                             input=base_entry_ldif(suffix), capture_output=True, text=True,
                             check=False)
        if res.returncode != 0:
            raise SystemExit(f"slapadd failed: {res.stderr.strip()[-400:]}")
        log.info("seeded %s", suffix)
    exec_daemon(["slapd", "-d", DEBUG, "-f", str(CONF), "-h", f"ldaps://0.0.0.0:{port}/ ldapi:///"])
