"""The config store on etcd v3, spoken through etcd's JSON gateway with httpx.

etcd plays the part Consul's KV played in Gluu's multi-host design. The gateway of etcd
3.4 maps the gRPC KV, Lease and Watch services onto ``POST /v3/...`` with JSON bodies in
which keys and values are base64 (https://etcd.io/docs/v3.4/dev-guide/api_grpc_gateway/;
message shapes in https://etcd.io/docs/v3.4/dev-guide/api_reference_v3/).

Availability rules (measured in the lab, see ``reference/lab.md``):

* Every request has a bounded timeout; on a refused connection, a timeout or a
  retryable etcd error (leader changed, no leader, request timed out) the next endpoint
  is tried, round after round, until ``retry_for`` seconds have passed. The endpoint that
  last answered is tried first next time.
* A write that timed out may still commit later, so every write is safe to send twice:
  ``put`` writes a whole value; ``put_if_absent`` and ``put_if_revision`` recognise
  their own earlier write; a lease is granted under an ID chosen here, so a repeated
  grant finds it already exists.
* Every failure is raised as :class:`~oxswarm.errors.StoreUnavailable` naming each
  endpoint that was tried and why it failed.

A closed store (``etcd+https://``) is reached with the cluster CA and a client certificate;
the client then logs in as the certificate's etcd user and sends the token with every
request (:mod:`oxswarm.config.etcd_auth`), logging in again when a member forgot it. A
refused certificate, refused credentials or a refused right raise
:class:`~oxswarm.errors.StoreAuthError` at once, naming the identity, never the secret.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn

import httpx

from oxswarm.config.etcd_auth import OPTION_HINT, Identity, StoreCredentials
from oxswarm.config.store import WatchEvent
from oxswarm.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    OxSwarmError,
    StoreAuthError,
    StoreUnavailable,
)
from oxswarm.metrics import STORE_METRICS
from oxswarm.settings import Settings, parse_store_url

log = logging.getLogger(__name__)

# gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html) that etcd
# returns while it has no leader, is electing one, or is overloaded: worth a retry.
_RETRY_CODES = frozenset({1, 4, 8, 10, 14})  # CANCELLED, DEADLINE, EXHAUSTED, ABORTED, UNAVAILABLE
_NOT_FOUND = 5
_ALREADY_EXISTS = 9
_PERMISSION_DENIED = 7
_UNAUTHENTICATED = 16  # "invalid auth token": a member restarted or the token expired
_INVALID_ARGUMENT = 3  # "user name is empty" (no token while auth is on), bad password
_NO_TOKEN = "user name is empty"
_AUTH_OFF = "authentication is not enabled"
LOGIN_TIMEOUT = 10.0  # one authenticate call (bcrypt at etcd) may take this long
SLOW = 1.0  # an operation that took longer is logged (with what slowed it)


def _b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


def _compared(txn: dict[str, Any]) -> dict[str, Any] | None:
    """The key a failed transaction read back (its ``failure`` range), None if absent."""
    responses = txn.get("responses") or [{}]
    kvs = responses[0].get("response_range", {}).get("kvs") or []
    return kvs[0] if kvs else None


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def prefix_range_end(prefix: str) -> bytes:
    """The ``range_end`` that selects every key starting with ``prefix`` (etcd's prefix+1)."""
    raw = bytearray(prefix.encode())
    while raw:
        if raw[-1] < 0xFF:
            raw[-1] += 1
            return bytes(raw)
        raw.pop()
    return b"\0"  # empty prefix (or all 0xff): every key


# the alerts a TLS server sends when it refuses the client's certificate (Go's crypto/tls,
# etcd's: bad_certificate for one not issued by its CA)
_REFUSED_ALERTS = ("ALERT_BAD_CERTIFICATE", "ALERT_UNKNOWN_CA", "ALERT_CERTIFICATE_UNKNOWN",
                   "ALERT_UNSUPPORTED_CERTIFICATE", "ALERT_CERTIFICATE_EXPIRED",
                   "ALERT_CERTIFICATE_REVOKED", "ALERT_ACCESS_DENIED")


def _tls_problem(exc: Exception) -> str | None:
    """What a TLS failure means, or None when ``exc`` is no TLS failure."""
    text = str(exc)
    cause = exc.__cause__ or exc.__context__
    if not (isinstance(cause, ssl.SSLError) or "SSL" in text or "certificate" in text.lower()):
        return None
    upper = text.upper()
    if "CERTIFICATE_VERIFY_FAILED" in upper:
        return "server-untrusted"
    if "WRONG_VERSION_NUMBER" in upper or "RECORD_LAYER_FAILURE" in upper:
        return "plain-http"
    if "CERTIFICATE_REQUIRED" in upper or "HANDSHAKE_FAILURE" in upper:
        return "client-missing"
    if any(alert in upper for alert in _REFUSED_ALERTS):
        return "client-refused"
    # anything else (an EOF, a reset in the middle of the handshake: a member stopping) is
    # an outage of that endpoint, to fail over from, not a verdict on the credentials
    return None


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        return "connection refused" if "refused" in text.lower() else f"cannot connect: {text}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class _Reply:
    data: dict[str, Any]
    ambiguous: bool  # an earlier attempt may have been applied already
    code: int = 0  # an etcd error code the caller chose to accept (0 = success)


class _LoginNeeded(Exception):
    """The store wants a (new) token: none was sent while auth is on, or it expired."""


class EtcdStore:
    """:class:`~oxswarm.config.store.KVStore` on an etcd v3 cluster (any of ``endpoints``).

    ``endpoints`` are base URLs (``http://10.0.0.1:2379``); ``timeout`` bounds each
    request, ``retry_for`` each operation across all its attempts. ``credentials``: the
    CA, certificate and key of a closed store; ``probe_key`` is what :meth:`ping` reads
    (a key every user may read: ``<prefix>/ping``).
    """

    def __init__(
        self,
        endpoints: Sequence[str],
        timeout: float = 2.0,
        *,
        retry_for: float = 10.0,
        connect_timeout: float = 1.0,
        watch_slice: float = 1.0,
        transport: httpx.BaseTransport | None = None,
        credentials: StoreCredentials | None = None,
        probe_key: str = "/",
    ) -> None:
        if not endpoints:
            raise InvalidInput("store: no etcd endpoint given", field="store")
        self.endpoints = tuple(e.rstrip("/") for e in endpoints)
        self.timeout = timeout
        self.retry_for = retry_for
        self.connect_timeout = min(connect_timeout, timeout)
        self.watch_slice = watch_slice
        self.probe_key = probe_key
        self._current = 0
        self.credentials = credentials or StoreCredentials()
        https = any(e.startswith("https://") for e in self.endpoints)
        verify: ssl.SSLContext | bool = self.credentials.ssl_context() if https else True
        self.identity: Identity | None = self.credentials.identity() if https else None
        self._token: str | None = None
        self._client = httpx.Client(transport=transport, trust_env=False, verify=verify)

    @classmethod
    def from_url(cls, url: str, timeout: float = 2.0,
                 credentials: StoreCredentials | None = None) -> EtcdStore:
        """``etcd://h1:2379,h2:2379`` -> a store on those endpoints."""
        return cls(parse_store_url(url), timeout, credentials=credentials)

    @classmethod
    def from_settings(cls, settings: Settings) -> EtcdStore:
        credentials = StoreCredentials(settings.store_ca_file, settings.store_cert_file,
                                       settings.store_key_file)
        return cls(settings.store_endpoints, settings.store_timeout, credentials=credentials,
                   probe_key=f"{settings.prefix}/ping")

    def __repr__(self) -> str:
        return f"EtcdStore({list(self.endpoints)!r})"

    def __enter__(self) -> EtcdStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- transport -------------------------------------------------------------------

    def _unavailable(self, what: str, failures: dict[str, str]) -> StoreUnavailable:
        detail = "; ".join(f"{ep}: {why}" for ep, why in failures.items())
        tried = ", ".join(failures) or ", ".join(self.endpoints)
        hint = ""
        if any("reset by peer" in why or "without sending a response" in why
               for why in failures.values()) and not any(
                ep.startswith("https://") for ep in self.endpoints):
            hint = f" (a store with TLS resets plain HTTP: use etcd+https:// with {OPTION_HINT})"
        return StoreUnavailable(
            f"config store unavailable: {what} failed on every etcd endpoint tried "
            f"({tried}) [{detail}]{hint}"
        )

    def _attempt(
        self,
        endpoint: str,
        path: str,
        body: dict[str, Any],
        what: str,
        *,
        remaining: float,
        accept: frozenset[int],
        read_timeout: float | None = None,
    ) -> tuple[str, dict[str, Any] | str]:
        """One POST: ("ok", data), ("refused", why): never sent, or ("retry", why): sent,
        may have been applied. Errors that a retry cannot cure are raised here."""
        timeout = httpx.Timeout(
            min(read_timeout or self.timeout, remaining),
            connect=min(self.connect_timeout, remaining),
        )
        try:
            resp = self._client.post(endpoint + path, json=body, timeout=timeout,
                                     headers=self._headers())
            if resp.status_code == 400 and not resp.text.lstrip().startswith("{"):
                raise StoreAuthError(self._refusal(endpoint, resp.text))
            data = json.loads(resp.text.splitlines()[0] if resp.text else "{}")
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._raise_tls(endpoint, exc)
            return "refused", _describe(exc)
        except (httpx.TransportError, ValueError) as exc:
            self._raise_tls(endpoint, exc)
            return "retry", _describe(exc)
        if isinstance(data, dict) and isinstance(data.get("result"), dict):
            data = data["result"]  # a streaming endpoint's message (lease keepalive)
        if not isinstance(data, dict):
            return "retry", f"unexpected answer {resp.text[:80]!r}"
        code = int(data.get("code", 0)) if "error" in data else 0
        if (resp.status_code == 200 and code == 0) or code in accept:
            return "ok", data
        message = str(data.get("message") or data.get("error") or resp.text[:200])
        if code == _UNAUTHENTICATED or (code == _INVALID_ARGUMENT and _NO_TOKEN in message):
            raise _LoginNeeded(message)
        if code == _PERMISSION_DENIED:
            user = self.identity.user if self.identity else "(no user)"
            log.warning("config store at %s: user %s may not %s", endpoint, user, what)
            raise StoreAuthError(f"config store refused {what}: user {user} has no right to it "
                                 f"(permission denied)")
        if code in _RETRY_CODES or resp.status_code in (502, 503, 504) or \
                "transport: " in message:  # the gateway lost its own member (restarting)
            return "retry", message
        if code == _NOT_FOUND:
            raise NotFound(f"config store: {what}: {message}")
        if code == _ALREADY_EXISTS:
            raise Conflict(f"config store: {what}: {message}")
        raise OxSwarmError(f"config store refused {what} at {endpoint}: {message}")

    # -- credentials -----------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": self._token} if self._token else {}

    def _who(self) -> str:
        files = self.credentials
        if files.cert_file is None:
            return "no client certificate"
        user = f" (etcd user {self.identity.user})" if self.identity else ""
        subject = self.identity.subject if self.identity else "without OU"
        return f"the client certificate {subject} of {files.cert_file}{user}"

    def _raise_tls(self, endpoint: str, exc: Exception) -> None:
        """A TLS failure is no outage: raise what is wrong with the credentials."""
        problem = _tls_problem(exc)
        if problem is None:
            return
        if problem == "server-untrusted":
            ca = self.credentials.ca_file
            why = str(exc).partition("certificate verify failed: ")[2].split(" (_ssl")[0]
            hint = (f"checked with {ca}" if ca else
                    "give the cluster CA with --store-ca-file (or OXSWARM_STORE_CA_FILE)")
            message = (f"the store at {endpoint} has a certificate this client does not "
                       f"trust ({why or 'verify failed'}): {hint}")
        elif problem == "plain-http":
            message = f"the store at {endpoint} speaks plain HTTP: use an etcd:// store URL"
        elif self.credentials.cert_file is None:
            message = (f"the store at {endpoint} requires a client certificate: give "
                       f"{OPTION_HINT}")
        else:
            message = (f"the store at {endpoint} refused {self._who()} at the TLS handshake "
                       f"(not issued by the cluster CA?)")
        log.warning("config store: %s", message)
        raise StoreAuthError(message) from None

    def _refusal(self, endpoint: str, text: str) -> str:
        """A plain-text 400 from the gateway: say why in the client's terms."""
        if "HTTPS server" in text:
            return (f"the store at {endpoint} speaks TLS: use an etcd+https:// store URL with "
                    f"{OPTION_HINT}")
        if "CommonName" in text:
            return (f"the store at {endpoint} refused {self._who()}: the gateway refuses a "
                    f"certificate with a common name (CN)")
        return f"the store at {endpoint} refused the request: {text.strip()[:200]}"

    def login(self) -> None:
        """Log in as the certificate's etcd user: a token for the requests that follow.

        Without an identity, or while the store has no auth enabled, requests go without
        a token. Refused credentials raise :class:`StoreAuthError` naming the user.
        """
        self._token = None
        identity = self.identity
        if identity is None:
            raise StoreAuthError(
                f"the store requires a login and this client has {self._who()}: give "
                f"{OPTION_HINT}")
        body = {"name": identity.user, "password": identity.password}
        # a login is a bcrypt check at etcd: seconds on a busy node, and an attempt cut
        # at the data calls' 2 s goes on burning etcd's CPU while the next one starts
        reply = self._call_once("/v3/auth/authenticate", body, f"log in as {identity.user}",
                                accept=frozenset({_INVALID_ARGUMENT, _ALREADY_EXISTS}),
                                read_timeout=LOGIN_TIMEOUT,
                                retry_for=max(self.retry_for, 2 * LOGIN_TIMEOUT))
        if reply.code == 0:
            self._token = str(reply.data.get("token") or "") or None
            log.debug("config store: logged in as %s", identity.user)
            return
        message = str(reply.data.get("message") or reply.data.get("error") or "")
        if _AUTH_OFF in message:
            return  # an open store: no token needed
        log.warning("config store refused the login of user %s (%s)", identity.user,
                    identity.subject)
        raise StoreAuthError(
            f"the store refused the credentials of {self._who()}: {message or 'no reason'}"
            f" (is the user set up? `oxswarm up` adds it)")

    def _call(
        self,
        path: str,
        body: dict[str, Any],
        what: str,
        *,
        accept: frozenset[int] = frozenset(),
        retry_for: float | None = None,
    ) -> _Reply:
        """:meth:`_call_once`, logging in first when the store asks for a (new) token;
        timed, and counted when it fails, under the API's path (``kv/range``, ...)."""
        with STORE_METRICS.timed(path.removeprefix("/v3/"), (OxSwarmError,)):
            return self._logged_in(path, body, what, accept=accept, retry_for=retry_for)

    def _logged_in(
        self,
        path: str,
        body: dict[str, Any],
        what: str,
        *,
        accept: frozenset[int],
        retry_for: float | None,
    ) -> _Reply:
        try:
            return self._call_once(path, body, what, accept=accept, retry_for=retry_for)
        except _LoginNeeded:
            self.login()
            try:
                return self._call_once(path, body, what, accept=accept, retry_for=retry_for)
            except _LoginNeeded as exc:
                raise StoreAuthError(f"config store refused {what} after a login as "
                                     f"{self._who()}: {exc}") from None

    def _call_once(
        self,
        path: str,
        body: dict[str, Any],
        what: str,
        *,
        accept: frozenset[int] = frozenset(),
        retry_for: float | None = None,
        read_timeout: float | None = None,
    ) -> _Reply:
        """POST ``body`` to ``path`` with failover and retries (see the module docstring)."""
        began = time.monotonic()
        deadline = began + (self.retry_for if retry_for is None else retry_for)
        failures: dict[str, str] = {}
        ambiguous = False
        backoff = 0.05
        count = len(self.endpoints)
        while True:
            start = self._current
            all_refused = True
            for step in range(count):
                idx = (start + step) % count
                endpoint = self.endpoints[idx]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._unavailable(what, failures)
                outcome, result = self._attempt(
                    endpoint, path, body, what, remaining=remaining, accept=accept,
                    read_timeout=read_timeout,
                )
                if isinstance(result, dict):
                    took = time.monotonic() - began
                    if took >= SLOW:
                        log.warning("config store: %s took %.1fs (%s)", what, took,
                                    "; ".join(f"{e}: {w}" for e, w in failures.items()) or endpoint)
                    if idx != self._current:
                        log.info("config store: now using %s", endpoint)
                        self._current = idx
                    return _Reply(result, ambiguous, int(result.get("code", 0)))
                failures[endpoint] = result
                if outcome == "retry":
                    all_refused = False
                    ambiguous = True
            if all_refused:
                raise self._unavailable(what, failures)
            log.debug("config store: retrying %s after %s", what, failures)
            time.sleep(max(0.0, min(backoff, deadline - time.monotonic())))
            backoff = min(backoff * 2, 0.5)

    # -- KV --------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        data = self._call("/v3/kv/range", {"key": _b64(key)}, f"get {key}").data
        kvs = data.get("kvs") or []
        return _unb64(kvs[0].get("value", "")) if kvs else None

    def put(self, key: str, value: bytes, lease: int | None = None) -> None:
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        self._call("/v3/kv/put", body, f"put {key}")

    def put_if_absent(self, key: str, value: bytes, lease: int | None = None) -> bool:
        """A transaction: put when the key's create revision is 0 (it does not exist).

        When an earlier attempt timed out and the key now holds exactly this value and
        lease, that attempt was applied: True, as if the first attempt had answered.
        """
        put: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            put["lease"] = str(lease)
        body = {
            "compare": [
                {"target": "CREATE", "key": _b64(key), "result": "EQUAL", "create_revision": "0"}
            ],
            "success": [{"request_put": put}],
            "failure": [{"request_range": {"key": _b64(key)}}],
        }
        reply = self._call("/v3/kv/txn", body, f"put-if-absent {key}")
        if reply.data.get("succeeded"):
            return True
        if not reply.ambiguous:
            return False
        current = _compared(reply.data)
        if current is None:
            return False
        same_value = _unb64(current.get("value", "")) == value
        return same_value and int(current.get("lease", 0)) == int(lease or 0)

    def get_revision(self, key: str) -> tuple[bytes | None, int]:
        """The value and its ``mod_revision`` (0 when the key does not exist)."""
        data = self._call("/v3/kv/range", {"key": _b64(key)}, f"get {key}").data
        kvs = data.get("kvs") or []
        if not kvs:
            return None, 0
        return _unb64(kvs[0].get("value", "")), int(kvs[0].get("mod_revision", 0))

    def put_if_revision(
        self, key: str, value: bytes, revision: int,
        also: Mapping[str, bytes | None] | None = None,
    ) -> bool:  # fmt: skip
        """Compare-and-swap: one transaction that writes ``value`` (and puts, or with
        ``None`` deletes, the keys of ``also``) only while ``key``'s ``mod_revision`` is
        still ``revision`` (0: the key does not exist). False when another writer changed
        it meanwhile, nothing written.

        When an earlier attempt timed out and the key now holds exactly this value, that
        attempt was applied (the transaction is all or nothing): True.
        """
        ops: list[dict[str, Any]] = [{"request_put": {"key": _b64(key), "value": _b64(value)}}]
        for other, content in (also or {}).items():
            ops.append({"request_delete_range": {"key": _b64(other)}} if content is None
                       else {"request_put": {"key": _b64(other), "value": _b64(content)}})
        body = {
            "compare": [{"target": "MOD", "key": _b64(key), "result": "EQUAL",
                         "mod_revision": str(revision)}],
            "success": ops,
            "failure": [{"request_range": {"key": _b64(key)}}],
        }  # fmt: skip
        reply = self._call("/v3/kv/txn", body, f"put-if-revision {key}")
        if reply.data.get("succeeded"):
            return True
        if not reply.ambiguous:
            return False
        current = _compared(reply.data)
        return current is not None and _unb64(current.get("value", "")) == value

    def delete(self, key: str) -> bool:
        """Delete ``key``; True when it existed (a retried delete may report False)."""
        data = self._call("/v3/kv/deleterange", {"key": _b64(key)}, f"delete {key}").data
        return int(data.get("deleted", 0)) > 0

    def get_prefix(self, prefix: str) -> dict[str, bytes]:
        body = {"key": _b64(prefix), "range_end": _b64(prefix_range_end(prefix))}
        data = self._call("/v3/kv/range", body, f"list {prefix}").data
        return {
            _unb64(kv["key"]).decode(): _unb64(kv.get("value", "")) for kv in data.get("kvs") or []
        }

    def delete_prefix(self, prefix: str) -> int:
        body = {"key": _b64(prefix), "range_end": _b64(prefix_range_end(prefix))}
        data = self._call("/v3/kv/deleterange", body, f"delete {prefix}*").data
        return int(data.get("deleted", 0))

    # -- leases ----------------------------------------------------------------------

    def grant_lease(self, ttl: int) -> int:
        """Grant a lease of ``ttl`` seconds under an ID chosen here (so retries are safe)."""
        if ttl < 1:
            raise InvalidInput(f"ttl: a lease lasts at least 1 second, not {ttl}", field="ttl")
        for _ in range(3):
            lease = secrets.randbelow(2**62) + 1
            body = {"TTL": str(ttl), "ID": str(lease)}
            reply = self._call(
                "/v3/lease/grant", body, "grant lease", accept=frozenset({_ALREADY_EXISTS})
            )
            if reply.code == 0 or reply.ambiguous:
                return lease
        raise Conflict("config store: three random lease IDs in a row were taken")

    def keepalive(self, lease: int) -> int:
        data = self._call("/v3/lease/keepalive", {"ID": str(lease)}, "keep lease alive").data
        return int(data.get("TTL", 0))

    def revoke_lease(self, lease: int) -> None:
        """Revoke ``lease`` (and delete its keys); a lease already gone is not an error."""
        body = {"ID": str(lease)}
        self._call("/v3/lease/revoke", body, "revoke lease", accept=frozenset({_NOT_FOUND}))

    # -- watch -----------------------------------------------------------------------

    def watch_prefix(
        self, prefix: str, start_revision: int | None = None, timeout: float | None = None
    ) -> Iterator[WatchEvent]:
        """Yield changes under ``prefix`` until ``timeout`` seconds pass (forever if None).

        The stream is read in slices of ``watch_slice`` seconds; after a quiet slice, or
        when an endpoint fails, the watch is opened again from the revision after the last
        one seen, so no change is lost or repeated. The deadline is checked between
        messages, so the generator may end up to one slice late.
        """
        end = None if timeout is None else time.monotonic() + timeout
        create: dict[str, Any] = {
            "key": _b64(prefix),
            "range_end": _b64(prefix_range_end(prefix)),
        }
        next_rev = start_revision
        failures: dict[str, str] = {}
        while True:
            remaining = None if end is None else end - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            idx = self._current
            endpoint = self.endpoints[idx]
            slice_ = self.watch_slice if remaining is None else min(remaining, self.watch_slice)
            if next_rev:
                create["start_revision"] = str(next_rev)
            timeout_ = httpx.Timeout(slice_, connect=min(self.connect_timeout, slice_))
            try:
                with self._client.stream(
                    "POST",
                    endpoint + "/v3/watch",
                    json={"create_request": create},
                    timeout=timeout_,
                    headers=self._headers(),
                ) as resp:
                    if resp.status_code != 200:
                        resp.read()
                        self._watch_refused(f"HTTP {resp.status_code}: {resp.text[:200]}")
                    for line in resp.iter_lines():
                        if not line.strip():
                            continue
                        message = json.loads(line)
                        if "error" in message:
                            self._watch_refused(str(message.get("message") or message["error"]))
                        result = message.get("result") or {}
                        failures.clear()
                        self._current = idx
                        if result.get("compact_revision") and result.get("canceled"):
                            raise Conflict(
                                f"config store: cannot watch {prefix} from revision {next_rev}: "
                                f"history compacted up to {result['compact_revision']}"
                            )
                        if result.get("created") and not next_rev:
                            next_rev = int(result.get("header", {}).get("revision", 0)) + 1
                        for event in result.get("events") or []:
                            kv = event["kv"]
                            revision = int(kv.get("mod_revision", 0))
                            deleted = event.get("type") == "DELETE"
                            yield WatchEvent(
                                key=_unb64(kv["key"]).decode(),
                                value=None if deleted else _unb64(kv.get("value", "")),
                                revision=revision,
                            )
                            next_rev = revision + 1
                        if end is not None and time.monotonic() >= end:
                            return
            except httpx.ReadTimeout:
                continue  # a quiet slice: open the watch again from next_rev
            except _LoginNeeded:
                self.login()
                continue
            except (httpx.TransportError, ValueError) as exc:
                self._raise_tls(endpoint, exc)
                failures[endpoint] = _describe(exc)
                if len(failures) >= len(self.endpoints):
                    raise self._unavailable(f"watch {prefix}", failures) from exc
                self._current = (idx + 1) % len(self.endpoints)

    def _watch_refused(self, text: str) -> NoReturn:
        """A watch failed: log in again (:class:`_LoginNeeded`), raise what is refused
        (:class:`StoreAuthError`), or a ValueError (the next endpoint is tried)."""
        if "invalid auth token" in text or _NO_TOKEN in text:
            raise _LoginNeeded(text[:200])
        if "permission denied" in text:
            user = self.identity.user if self.identity else "(no user)"
            raise StoreAuthError(f"config store refused a watch: user {user} has no right to it")
        raise ValueError(text)

    def request(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        """Any other gateway call (``/v3/auth/...``), with failover, login and errors."""
        return self._call(path, body, what).data

    # -- readiness -------------------------------------------------------------------

    def ping(self, retry_for: float | None = None) -> int:
        """One linearizable read (needs a leader and a quorum); returns the revision."""
        data = self._call(
            "/v3/kv/range", {"key": _b64(self.probe_key)}, "health check", retry_for=retry_for
        ).data
        return int(data.get("header", {}).get("revision", 0))

    def wait_ready(self, timeout: float = 60.0, interval: float = 0.5) -> None:
        """Wait until the cluster answers a linearizable read; bounded and logged.

        Roles call this at start instead of crashing or looping forever when they start
        before the store (the original's gluu-docker #33, #39, #65, #92).
        """
        deadline = time.monotonic() + timeout
        next_log = 0.0
        while True:
            remaining = deadline - time.monotonic()
            try:
                self.ping(retry_for=max(0.1, min(remaining, self.timeout * 2)))
                log.info("config store ready at %s", ", ".join(self.endpoints))
                return
            except StoreUnavailable as exc:
                if time.monotonic() >= deadline:
                    raise StoreUnavailable(
                        f"config store not ready after {timeout:g}s: {exc}"
                    ) from exc
                if time.monotonic() >= next_log:
                    log.warning("waiting for the config store: %s", exc)
                    next_log = time.monotonic() + 5.0
            time.sleep(max(0.0, min(interval, deadline - time.monotonic())))
