"""Per-node facts for ``oxswarm status``: directory replication state and memory.

Replication: each provider's ``contextCSN`` on the suffix entry (RFC 4533's cookie state;
slapo-syncprov keeps one CSN per serverID, draft-zeilenga-ldup-sync and OpenLDAP's
``slapo-syncprov(5)``): when every node shows the same set, every node has seen every
change; a node whose set differs is behind (or ahead, with changes the others have not
got yet).

Memory of a lab node: its dockerd runs with ``--cgroup-parent /<namespace>``, so every
container of the node is under that cgroup; "used" is usage minus inactive page cache,
as ``docker stats`` counts it (cgroup v1 ``memory.usage_in_bytes`` - ``total_inactive_file``,
v2 ``memory.current`` - ``inactive_file``).
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Mapping
from pathlib import Path

import ldap3
from ldap3.core.exceptions import LDAPException

CGROUP_ROOT = Path("/sys/fs/cgroup")


def context_csn(url: str, bind_dn: str, password: str, suffix: str,
                timeout: int = 3, *, ca_pem: str | None = None) -> list[str] | None:
    """The sorted ``contextCSN`` values of ``suffix`` at ``url``; None when unreachable.

    ``timeout`` is whole seconds (ldap3 packs the receive timeout as an integer);
    ``ca_pem``: the CA an ``ldaps://`` server's certificate is checked against (without
    it, the system's CAs: never an unchecked server).
    """
    tls = ldap3.Tls(ca_certs_data=ca_pem, validate=ssl.CERT_REQUIRED)
    conn = ldap3.Connection(ldap3.Server(url, connect_timeout=timeout, tls=tls), bind_dn,
                            password, receive_timeout=timeout)
    try:
        if not conn.bind():
            return None
        if not conn.search(suffix, "(objectClass=*)", search_scope=ldap3.BASE,
                           attributes=["contextCSN"]):
            return None
        values = conn.entries[0].entry_attributes_as_dict.get("contextCSN", [])
        return sorted(str(v) for v in values)
    except LDAPException:
        return None
    finally:
        with contextlib.suppress(LDAPException, OSError):
            conn.unbind()
        # ldap3 2.9 keeps (and never closes) the socket of a refused connect
        sock = getattr(conn, "socket", None)
        if sock is not None:
            sock.close()


def replication_state(csns: Mapping[str, list[str] | None]) -> dict[str, str]:
    """Per node: ``in sync``, ``behind/ahead (n of m CSNs differ)`` or ``unreachable``.

    The reference is the newest CSN per serverID over every reachable node (a CSN's
    last field is the serverID; CSNs of one server compare as strings).
    """
    newest: dict[str, str] = {}
    for values in csns.values():
        for csn in values or []:
            sid = csn.rsplit("#", 2)[-2] if csn.count("#") >= 2 else csn
            newest[sid] = max(newest.get(sid, ""), csn)
    reference = sorted(newest.values())
    out: dict[str, str] = {}
    for node, values in csns.items():
        if values is None:
            out[node] = "unreachable"
        elif sorted(values) == reference:
            out[node] = f"in sync ({len(values)} CSNs)"
        else:
            differ = len(set(reference) - set(values))  # older or missing here
            out[node] = f"behind ({differ} of {len(reference)} CSNs older or missing)"
    return out


def cgroup_memory(parent: str, root: Path = CGROUP_ROOT) -> int | None:
    """Bytes used by everything under cgroup ``/<parent>`` (v1 or v2); None when absent."""
    name = parent.strip("/")
    v2 = root / name
    if (v2 / "memory.current").is_file():
        usage = int((v2 / "memory.current").read_text())
        return usage - _stat(v2 / "memory.stat", "inactive_file")
    v1 = root / "memory" / name
    if (v1 / "memory.usage_in_bytes").is_file():
        usage = int((v1 / "memory.usage_in_bytes").read_text())
        return usage - _stat(v1 / "memory.stat", "total_inactive_file")
    return None


def _stat(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def mebibytes(value: int | None) -> str:
    return "unknown" if value is None else f"{value / 2**20:.0f} MiB"
