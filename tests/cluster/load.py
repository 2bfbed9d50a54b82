"""A steady, bounded stream of token requests (through the LB) and directory writes."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import ldap3


@dataclass
class Tally:
    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    # every failure: when (time.time()) and why
    failures: list[tuple[float, str]] = field(default_factory=list)

    def add(self, ok: bool, why: str = "") -> None:
        if ok:
            self.ok += 1
        else:
            self.failed += 1
            self.failures.append((time.time(), why))
            if len(self.errors) < 10:
                self.errors.append(f"{time.strftime('%T')} {why}")


class TokenStream(threading.Thread):
    """client_credentials grants at ``rate`` per second through the load balancer."""

    def __init__(self, *, lb: str, hostname: str, ca_file: str, client_id: str, secret: str,
                 rate: float = 5.0, max_seconds: float = 300.0) -> None:
        super().__init__(daemon=True)
        self.url = f"https://{lb}/oxauth/restv1/token"
        self.hostname = hostname
        self.ca_file = ca_file
        self.auth = (client_id, secret)
        self.period = 1.0 / rate
        self.max_seconds = max_seconds
        self.stop = threading.Event()
        self.tally = Tally()

    def run(self) -> None:
        end = time.monotonic() + self.max_seconds
        with httpx.Client(verify=ssl.create_default_context(cafile=self.ca_file),
                          timeout=15.0, trust_env=False) as client:
            while not self.stop.is_set() and time.monotonic() < end:
                started = time.monotonic()
                try:
                    request = client.build_request(
                        "POST", self.url, data={"grant_type": "client_credentials"},
                        headers={"Host": self.hostname},
                        extensions={"sni_hostname": self.hostname})
                    res = client.send(request, auth=self.auth)
                    self.tally.add(res.status_code == 200 and "access_token" in res.text,
                                   f"HTTP {res.status_code} {res.text[:80]}")
                except httpx.HTTPError as exc:
                    self.tally.add(False, repr(exc))
                self.stop.wait(max(0.0, self.period - (time.monotonic() - started)))


@contextlib.contextmanager
def ldap_session(server: ldap3.Server | ldap3.ServerPool, user: str, password: str,
                 **options: Any) -> Iterator[ldap3.Connection]:
    """A bound connection, always unbound (its socket closed) on exit.

    ldap3's ``with Connection(..., auto_bind=True)`` does not unbind on exit: it restores
    the state from before the ``with``, which auto_bind had already made "bound".
    """
    conn = ldap3.Connection(server, user, password, **options)
    try:
        if not conn.bind():
            raise ldap3.core.exceptions.LDAPBindError(str(conn.result))
        yield conn
    finally:
        with contextlib.suppress(ldap3.core.exceptions.LDAPException, OSError):
            conn.unbind()


class DirectoryWriter(threading.Thread):
    """Adds one entry per period under ``ou=people`` through any reachable directory."""

    def __init__(self, *, urls: list[str], bind_dn: str, password: str, base: str, ca: str,
                 rate: float = 2.0, max_seconds: float = 300.0) -> None:
        super().__init__(daemon=True)
        tls = ldap3.Tls(ca_certs_data=ca, validate=ssl.CERT_REQUIRED)
        self.servers = [ldap3.Server(u, connect_timeout=1, tls=tls) for u in urls]
        self.bind_dn = bind_dn
        self.password = password
        self.base = base
        self.period = 1.0 / rate
        self.max_seconds = max_seconds
        self.stop = threading.Event()
        self.tally = Tally()
        self.written: list[str] = []

    def run(self) -> None:
        end = time.monotonic() + self.max_seconds
        pool = ldap3.ServerPool(self.servers, ldap3.FIRST, active=1, exhaust=True)
        n = 0
        while not self.stop.is_set() and time.monotonic() < end:
            n += 1
            uid = f"load-{int(time.time())}-{n}"
            dn = f"uid={uid},ou=people,{self.base}"
            try:
                with ldap_session(pool, self.bind_dn, self.password,
                                  receive_timeout=5) as conn:
                    ok = conn.add(dn, ["inetOrgPerson"], {"cn": uid, "sn": "load"})
                    self.tally.add(ok, str(conn.result))
                    if ok:
                        self.written.append(dn)
            except ldap3.core.exceptions.LDAPException as exc:
                self.tally.add(False, repr(exc))
            self.stop.wait(self.period)
