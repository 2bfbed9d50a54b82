"""A pooled, fail-over connection to several directory servers (LDAPv3, RFC 4511).

:class:`Directory` keeps a few bound connections open (so a client lookup on every token
request costs one search, no bind) and hands each to one thread at a time. Servers are
tried in the configured order ("first" strategy); a server that failed is skipped for
``exhaust`` seconds. A request that fails on the wire is retried once on a fresh
connection, which then goes to the next live server. Timeouts are bounded everywhere.

Every bind travels in TLS (the servers refuse a simple bind without it): ``ldaps://``
URLs, or StartTLS (RFC 4513 section 3) on ``ldap://`` ones, the server's certificate
checked against the cluster CA (``ca_file`` / ``ca_pem``) and its name.

ldap3 errors are translated here, at the edge: no such object -> :class:`NotFound`,
already exists -> :class:`Conflict`, no server reachable -> :class:`DirectoryUnavailable`,
a value the schema refuses -> :class:`InvalidInput`, anything else -> :class:`DirectoryError`.
"""

from __future__ import annotations

import logging
import math
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import (
    LDAPCommunicationError,
    LDAPExceptionError,
    LDAPPasswordIsMandatoryError,
    LDAPSASLPrepError,
)
from ldap3.operation.search import compile_filter, parse_filter
from ldap3.protocol.sasl.sasl import validate_simple_password
from pyasn1.codec.ber.encoder import encode as ber_encode

from oxswarm.directory.passwords import hash_password
from oxswarm.directory.slapdconf import best_password_scheme
from oxswarm.errors import (
    AssertionFailed,
    Conflict,
    DirectoryError,
    DirectoryUnavailable,
    InvalidInput,
    NotFound,
)
from oxswarm.metrics import DIRECTORY_METRICS

log = logging.getLogger(__name__)

# ldap3 keeps a server name's resolved addresses for 300 s by default. In a swarm a
# directory server replaced by a new container answers under the same name at a new
# address: resolve again whenever a new connection is opened more than a second later
# (pooled connections are long-lived, so this costs a lookup per reconnection only).
ldap3.set_config_parameter("ADDRESS_INFO_REFRESH_TIME", 1)

T = TypeVar("T")

# RFC 4511 appendix A result codes
SUCCESS: Final = 0
SIZE_LIMIT_EXCEEDED: Final = 4
NO_SUCH_ATTRIBUTE: Final = 16
CONSTRAINT_VIOLATION: Final = 19
ATTRIBUTE_OR_VALUE_EXISTS: Final = 20
INVALID_ATTRIBUTE_SYNTAX: Final = 21
NO_SUCH_OBJECT: Final = 32
INVALID_DN_SYNTAX: Final = 34
INVALID_CREDENTIALS: Final = 49
BUSY: Final = 51
UNAVAILABLE: Final = 52
# a bind refused for its name or password: the connection stays usable for the next one
_REFUSED_BIND: Final = frozenset({NO_SUCH_OBJECT, INVALID_DN_SYNTAX, 48, INVALID_CREDENTIALS})
ENTRY_ALREADY_EXISTS: Final = 68
ASSERTION_FAILED: Final = 122  # RFC 4528 section 5
ASSERTION_CONTROL: Final = "1.3.6.1.1.12"
OBJECT_CLASS_VIOLATION: Final = 65
UNDEFINED_ATTRIBUTE_TYPE: Final = 17
_INVALID = frozenset(
    {
        CONSTRAINT_VIOLATION,
        INVALID_ATTRIBUTE_SYNTAX,
        INVALID_DN_SYNTAX,
        OBJECT_CLASS_VIOLATION,
        UNDEFINED_ATTRIBUTE_TYPE,
    }
)

BASE: Final = ldap3.BASE
LEVEL: Final = ldap3.LEVEL
SUBTREE: Final = ldap3.SUBTREE
PAGE_SIZE: Final = 500  # entries a page of a paged search (RFC 2696)
REPLACE: Final = ldap3.MODIFY_REPLACE
ADD: Final = ldap3.MODIFY_ADD
DELETE: Final = ldap3.MODIFY_DELETE

Changes = Mapping[str, Sequence[tuple[str, Sequence[str]]]]


@dataclass(frozen=True)
class DirectoryConfig:
    """Where the directory servers are and how to bind to them."""

    urls: tuple[str, ...]
    bind_dn: str
    password: str = field(repr=False)
    ca_file: Path | None = None
    ca_pem: str | None = field(default=None, repr=False)
    connect_timeout: float = 2.0
    receive_timeout: float = 5.0
    pool_size: int = 4
    exhaust: float = 10.0
    acquire_timeout: float = 10.0
    # the scheme of the hashes set_password stores; None: the best one the slapd modules
    # of this host verify (Argon2id at OWASP's setting where the argon2 module is)
    password_scheme: str | None = None

    def __post_init__(self) -> None:
        if not self.urls:
            raise InvalidInput("url: at least one directory URL is needed", field="url")
        for url in self.urls:
            parts = urlsplit(url)
            if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
                raise InvalidInput(f"url: {url!r} is not an ldap:// or ldaps:// URL", field="url")
            try:
                parts.port  # noqa: B018  (raises ValueError on a bad port)
            except ValueError as exc:
                raise InvalidInput(f"url: {url!r} has a bad port", field="url") from exc
        if self.pool_size < 1:
            raise InvalidInput("pool_size: at least 1", field="pool_size")


@dataclass(frozen=True)
class Entry:
    """One directory entry: its DN and attribute values (keys lower-cased, UTF-8 text)."""

    dn: str
    attrs: dict[str, list[str]]

    def get(self, name: str) -> str | None:
        values = self.attrs.get(name.lower())
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return list(self.attrs.get(name.lower(), []))

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        return default if value is None else value.upper() == "TRUE"


def _decode(raw: Mapping[str, Sequence[bytes]]) -> dict[str, list[str]]:
    return {
        name.lower(): [v.decode("utf-8", "replace") for v in values] for name, values in raw.items()
    }


def raise_for_result(result: Mapping[str, Any], what: str) -> None:
    """Translate an LDAP result (RFC 4511 section 4.1.9) into our errors."""
    code = int(result.get("result", 80))
    if code == SUCCESS:
        return
    message = f"{what}: {result.get('description')} {result.get('message') or ''}".strip()
    if code == NO_SUCH_OBJECT:
        raise NotFound(message)
    if code == ASSERTION_FAILED:
        raise AssertionFailed(message)
    if code in (ENTRY_ALREADY_EXISTS, ATTRIBUTE_OR_VALUE_EXISTS):
        raise Conflict(message)
    if code in _INVALID:
        raise InvalidInput(message)
    if code in (BUSY, UNAVAILABLE):
        raise DirectoryUnavailable(message)
    raise DirectoryError(message)


class _Servers:
    """The ordered server list with "skip for ``exhaust`` seconds after a failure"."""

    def __init__(self, config: DirectoryConfig) -> None:
        # the server's certificate is always checked: against the cluster CA when given,
        # else the system's CAs (ldap3's default would be not to check at all)
        tls = ldap3.Tls(
            ca_certs_file=str(config.ca_file) if config.ca_file else None,
            ca_certs_data=config.ca_pem or None,
            validate=ssl.CERT_REQUIRED,
            version=ssl.PROTOCOL_TLS_CLIENT,
        )
        self.tls = tls
        self.servers = [
            ldap3.Server(
                url,
                connect_timeout=config.connect_timeout,
                get_info=ldap3.NONE,
                tls=tls,
            )
            for url in config.urls
        ]
        self._down_until: dict[int, float] = {}
        self._exhaust = config.exhaust
        self._lock = threading.Lock()

    def order(self) -> list[tuple[int, ldap3.Server]]:
        """Live servers first (in configured order), then those marked down."""
        now = time.monotonic()
        with self._lock:
            up = [i for i in range(len(self.servers)) if self._down_until.get(i, 0) <= now]
            down = [i for i in range(len(self.servers)) if i not in up]
        return [(i, self.servers[i]) for i in up + down]

    def mark(self, index: int, ok: bool) -> None:
        with self._lock:
            if ok:
                self._down_until.pop(index, None)
            else:
                self._down_until[index] = time.monotonic() + self._exhaust


class Directory:
    """Thread-safe access to the directory through a small pool of bound connections."""

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config
        self._servers = _Servers(config)
        self._idle: queue.LifoQueue[ldap3.Connection] = queue.LifoQueue()
        self._binders: queue.LifoQueue[ldap3.Connection] = queue.LifoQueue()  # checks only
        self._slots = threading.BoundedSemaphore(config.pool_size)
        self._closed = False
        self._scheme = config.password_scheme or best_password_scheme()

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connections ------------------------------------------------------------------
    def _dial(self, index: int, server: ldap3.Server) -> ldap3.Connection:
        """An open, not yet bound connection to ``server`` (TLS up, Nagle off)."""
        conn = ldap3.Connection(
            server,
            client_strategy=ldap3.SYNC,
            authentication=ldap3.SIMPLE,
            receive_timeout=max(1, math.ceil(self.config.receive_timeout)),  # ldap3 wants int
            raise_exceptions=False,
            read_only=False,
        )
        try:
            conn.open()
            _no_delay(conn)
            if not server.ssl:
                conn.start_tls()  # never a password in clear (RFC 4513 section 3)
        except (LDAPCommunicationError, LDAPExceptionError, OSError):
            self._servers.mark(index, ok=False)
            _quiet_unbind(conn)
            raise
        return conn

    def _open(self, user: str, password: str) -> ldap3.Connection:
        """A connection bound as ``user`` to the first server that answers."""
        errors = []
        for index, server in self._servers.order():
            try:
                conn = self._dial(index, server)
            except (LDAPCommunicationError, LDAPExceptionError, OSError) as exc:
                errors.append(f"{server.name}: {exc}")
                continue
            try:
                bound = _bind(conn, user, password)
            except LDAPSASLPrepError as exc:  # the password, not the server (RFC 4013)
                _quiet_unbind(conn)
                raise InvalidInput(f"password: {exc}", field="password") from exc
            except (LDAPCommunicationError, LDAPExceptionError, OSError) as exc:
                self._servers.mark(index, ok=False)
                errors.append(f"{server.name}: {exc}")
                _quiet_unbind(conn)
                continue
            self._servers.mark(index, ok=True)
            if not bound:
                _quiet_unbind(conn)
                raise_for_result(conn.result, f"bind as {user}")
            return conn
        raise DirectoryUnavailable("no directory server answered: " + "; ".join(errors))

    @contextmanager
    def _connection(self) -> Iterator[ldap3.Connection]:
        if self._closed:
            raise DirectoryError("the directory connection pool is closed")
        if not self._slots.acquire(timeout=self.config.acquire_timeout):
            raise DirectoryUnavailable("no free directory connection (pool exhausted)")
        conn: ldap3.Connection | None = None
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._open(self.config.bind_dn, self.config.password)
            yield conn
        except BaseException:
            if conn is not None:
                _quiet_unbind(conn)
            conn = None
            raise
        finally:
            if conn is not None:
                self._idle.put(conn)
            self._slots.release()

    def run(self, operation: Callable[[ldap3.Connection], T], what: str) -> T:
        """Run ``operation`` on a pooled connection; retry once if the wire fails. Timed,
        and counted when the directory fails, under the first word of ``what``."""
        with DIRECTORY_METRICS.timed(what.split(" ", 1)[0],
                                     (DirectoryError, DirectoryUnavailable)):
            return self._run(operation, what)

    def _run(self, operation: Callable[[ldap3.Connection], T], what: str) -> T:
        for attempt in (1, 2):
            try:
                with self._connection() as conn:
                    return operation(conn)
            except (LDAPCommunicationError, OSError) as exc:
                log.info("directory %s failed on the wire (attempt %d): %s", what, attempt, exc)
                self._drop_idle()  # they most likely lead to the same dead server
                if attempt == 2:
                    raise DirectoryUnavailable(f"{what}: {exc}") from exc
            except LDAPExceptionError as exc:
                raise DirectoryError(f"{what}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._closed = True
        self._drop_idle()

    def _drop_idle(self) -> None:
        _drain(self._idle)
        _drain(self._binders)

    # -- operations ---------------------------------------------------------------------
    def search(
        self,
        base: str,
        search_filter: str = "(objectClass=*)",
        scope: str = SUBTREE,
        attributes: Sequence[str] = ("*",),
        size_limit: int = 0,
    ) -> list[Entry]:
        """Entries matching ``search_filter`` (paged, RFC 2696); [] when ``base`` is missing.

        With ``size_limit``, at most that many entries (the server's sizeLimitExceeded
        answer ends the search with the entries received so far). A read of one entry
        (``BASE``) or a search for at most a page of entries goes without the paged
        results control: ldap3 encodes and decodes controls in pure Python, a cost every
        sign-in paid several times for nothing.
        """
        page = None if scope == BASE or 0 < size_limit <= PAGE_SIZE else PAGE_SIZE

        def op(conn: ldap3.Connection) -> list[Entry]:
            found: list[Entry] = []
            cookie: bytes | None = None
            while True:
                conn.search(
                    base,
                    search_filter,
                    search_scope=scope,
                    attributes=list(attributes),
                    size_limit=size_limit,
                    paged_size=page,
                    paged_cookie=cookie,
                )
                if conn.result["result"] == NO_SUCH_OBJECT:
                    return []
                truncated = conn.result["result"] == SIZE_LIMIT_EXCEEDED and size_limit
                if not truncated:
                    raise_for_result(conn.result, f"search {base}")
                for item in conn.response or []:
                    if item.get("type") == "searchResEntry":
                        found.append(Entry(item["dn"], _decode(item["raw_attributes"])))
                controls = conn.result.get("controls") or {}
                paged = controls.get("1.2.840.113556.1.4.319", {}).get("value", {})
                cookie = paged.get("cookie")
                if truncated or not cookie or (size_limit and len(found) >= size_limit):
                    return found

        return self.run(op, f"search {base}")

    def read(self, dn: str, attributes: Sequence[str] = ("*",)) -> Entry:
        """The entry at ``dn``; :class:`NotFound` when it does not exist."""
        found = self.search(dn, "(objectClass=*)", BASE, attributes)
        if not found:
            raise NotFound(f"no entry {dn}")
        return found[0]

    def exists(self, dn: str) -> bool:
        return bool(self.search(dn, "(objectClass=*)", BASE, ["1.1"]))

    def add(self, dn: str, attributes: Mapping[str, Sequence[str] | str]) -> None:
        def op(conn: ldap3.Connection) -> None:
            conn.add(dn, attributes=dict(attributes))
            raise_for_result(conn.result, f"add {dn}")

        self.run(op, f"add {dn}")

    def modify(self, dn: str, changes: Changes, *, assertion: str | None = None) -> None:
        """Apply ``changes``; with ``assertion`` (a filter), only if the entry matches it
        at that moment (RFC 4528), else :class:`AssertionFailed`."""

        def op(conn: ldap3.Connection) -> None:
            conn.modify(dn, {k: list(v) for k, v in changes.items()}, controls=_assert(assertion))
            raise_for_result(conn.result, f"modify {dn}")

        self.run(op, f"modify {dn}")

    def delete(self, dn: str, *, assertion: str | None = None) -> None:
        def op(conn: ldap3.Connection) -> None:
            conn.delete(dn, controls=_assert(assertion))
            raise_for_result(conn.result, f"delete {dn}")

        self.run(op, f"delete {dn}")

    def set_password(self, dn: str, new_password: str) -> None:
        """Store ``new_password`` as a hash made here: Argon2id (RFC 9106) at the setting
        of :data:`~oxswarm.directory.passwords.DEFAULT_ARGON2` (OWASP's), written as the
        ``userPassword`` value (slapd's argon2 module verifies ``$argon2id$`` hashes but
        writes only Argon2i, so the Password Modify operation (RFC 3062) is not used).
        The password is prepared as a bind prepares it (SASLprep, RFC 4013), so that the
        bind matches; slapd's ppolicy records the change (``pwdChangedTime``) as for the
        extended operation. The password is never logged; only its hash leaves the
        process."""
        try:
            prepared = validate_simple_password(new_password)
        except (LDAPSASLPrepError, LDAPPasswordIsMandatoryError) as exc:
            raise InvalidInput(f"password: {exc}", field="password") from exc
        stored = hash_password(prepared.decode("utf-8"), self._scheme)

        def op(conn: ldap3.Connection) -> None:
            conn.modify(dn, {"userPassword": [(REPLACE, [stored])]})
            raise_for_result(conn.result, f"set password of {dn}")

        self.run(op, f"set password of {dn}")

    def check_password(self, dn: str, password: str) -> bool:
        """Bind as ``dn`` (slapd verifies the hash and counts failures); True on success.

        The bind travels on a connection kept for password checks alone (never used to
        read or write; after a bind it is either anonymous or bound as the last user, who
        is never acted for): a check costs one round trip and slapd's hash, no TCP and TLS
        handshake. A connection that fails on the wire is dropped and the check retried
        once on a fresh one (the next live server)."""
        if not password:
            return False  # an empty password would be an unauthenticated bind (RFC 4513 5.1.2)
        began = time.perf_counter()
        try:
            ok = self._check(dn, password)
        except DirectoryUnavailable:
            DIRECTORY_METRICS.observe("bind", time.perf_counter() - began, failed=True)
            raise
        except InvalidInput:  # a password SASLprep refuses (RFC 4013): no one's password
            ok = False
        DIRECTORY_METRICS.observe("bind", time.perf_counter() - began)
        return ok

    def _check(self, dn: str, password: str) -> bool:
        if self._closed:
            raise DirectoryError("the directory connection pool is closed")
        for attempt in (1, 2):
            conn = self._binder()
            try:
                bound = _bind(conn, dn, password)
            except LDAPSASLPrepError as exc:  # the password, not the server (RFC 4013)
                _quiet_unbind(conn)
                raise InvalidInput(f"password: {exc}", field="password") from exc
            except (LDAPCommunicationError, LDAPExceptionError, OSError) as exc:
                _quiet_unbind(conn)
                _drain(self._binders)  # they most likely lead to the same dead server
                if attempt == 2:
                    raise DirectoryUnavailable(f"bind as {dn}: {exc}") from exc
                continue
            result = conn.result or {}
            if bound or result.get("result") in _REFUSED_BIND:
                self._binders.put(conn)  # a refused bind leaves the connection usable
                return bool(bound)
            _quiet_unbind(conn)  # anything else (busy, unavailable, ...): not this one
            try:
                raise_for_result(result, f"bind as {dn}")
            except (NotFound, DirectoryError, InvalidInput):
                return False
            return False
        raise AssertionError("unreachable")  # pragma: no cover

    def _binder(self) -> ldap3.Connection:
        """An idle password-check connection, else a new one to the first live server."""
        try:
            return self._binders.get_nowait()
        except queue.Empty:
            pass
        errors = []
        for index, server in self._servers.order():
            try:
                conn = self._dial(index, server)
            except (LDAPCommunicationError, LDAPExceptionError, OSError) as exc:
                errors.append(f"{server.name}: {exc}")
                continue
            self._servers.mark(index, ok=True)
            return conn
        raise DirectoryUnavailable("no directory server answered: " + "; ".join(errors))


def _bind(conn: ldap3.Connection, user: str, password: str) -> bool:
    """A simple bind as ``user`` on ``conn``; the password is not kept on the object."""
    conn.user, conn.password = user, password
    try:
        return bool(conn.bind(read_server_info=False))
    finally:
        conn.password = None


def _drain(idle: queue.LifoQueue[ldap3.Connection]) -> None:
    while True:
        try:
            _quiet_unbind(idle.get_nowait())
        except queue.Empty:
            return


def _no_delay(conn: ldap3.Connection) -> None:
    """Nagle off: a request is one small write awaiting its answer; with Nagle and the
    peer's delayed ACK the first bind of a TLS connection waited some 40 ms more."""
    sock = getattr(conn, "socket", None)
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _assert(assertion: str | None) -> list[tuple[str, bool, bytes]] | None:
    """The Assertion control (RFC 4528): its value is the BER-encoded filter."""
    if assertion is None:
        return None
    try:
        parsed = parse_filter(assertion, None, True, True, None, False)
        value = ber_encode(compile_filter(parsed.elements[0]))
    except (LDAPExceptionError, IndexError) as exc:
        raise InvalidInput(f"assertion: {assertion!r} is not a filter: {exc}") from exc
    return [(ASSERTION_CONTROL, True, bytes(value))]


def _quiet_unbind(conn: ldap3.Connection) -> None:
    """Unbind, and close the socket even when the server is already gone."""
    try:
        conn.unbind()
    except (LDAPExceptionError, OSError):
        log.debug("unbind failed", exc_info=True)
    sock = getattr(conn, "socket", None)
    if sock is not None:
        try:
            sock.close()
        except OSError:
            log.debug("closing the socket failed", exc_info=True)
