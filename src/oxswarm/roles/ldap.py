"""``oxswarm run ldap``: one directory server of the N-way multi-provider ring.

Environment (the stack sets it): ``OXS_LDAP_SERVER_ID`` (1..N), ``OXS_LDAP_PEERS`` (the
other providers' URLs), ``OXS_LDAP_SEED`` (1 on the first node: it loads the suffix entry
with ``slapadd -S <id> -w`` when its database is empty; the others receive everything by
replication), ``OXS_LDAP_PORT``. The root password is config-init's ``ldap_admin_pw``.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import click

from oxswarm.config import keys
from oxswarm.directory.passwords import hash_password
from oxswarm.directory.slapdconf import DEFAULT_SUFFIX, SlapdSpec, render_slapd_conf
from oxswarm.local.slapd import base_entry_ldif, best_password_scheme, check_config
from oxswarm.roles.env import csv, need, optional
from oxswarm.roles.run import exec_daemon, setup_logging
from oxswarm.roles.store import open_manager, wait_config

log = logging.getLogger("oxswarm.roles")
DATA = Path("/var/lib/oxswarm/ldap/data")
RUN = Path("/run/slapd")
CONF = Path("/run/oxswarm/slapd.conf")


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
    port = int(optional("OXS_LDAP_PORT", "1389"))
    store, manager = open_manager()
    password = wait_config(manager, keys.LDAP_ADMIN_PW, secret=True)
    suffix = manager.get(keys.LDAP_BASE_DN) or DEFAULT_SUFFIX
    root_dn = manager.get(keys.LDAP_BIND_DN) or f"cn=directory manager,{suffix}"
    store.close()
    scheme = best_password_scheme()
    spec = SlapdSpec(
        server_id=server_id, peers=peers, data_dir=DATA, run_dir=RUN,
        root_password=password, root_password_hash=hash_password(password, scheme),
        suffix=suffix, root_dn=root_dn, password_hash=scheme, log_level="sync",
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
    exec_daemon(["slapd", "-d", "0", "-f", str(CONF), "-h", f"ldap://0.0.0.0:{port}/ ldapi:///"])
