"""The cache client: redis-py through Twemproxy, lean enough for every token request.

Twemproxy speaks a subset of RESP2 and *closes the connection* on commands it does not
proxy (twemproxy ``notes/redis.md``): HELLO, CLIENT SETINFO/SETNAME, SELECT, INFO, KEYS,
SCAN, MULTI, CONFIG, ``EXPIRE ... NX``. So this client

- uses ``protocol=2`` (no HELLO), db 0 (no SELECT), no client name, and no client-info
  handshake (``driver_info=None``, or ``lib_name=None, lib_version=None`` on redis-py
  releases before ``driver_info``);
- only sends GET, SET (EX / NX EX), DEL, TTL, PING, EVALSHA/EVAL (one key), and
  non-transactional pipelines of those.

The cache requires a password (Redis ACL, Twemproxy ``redis_auth``): ``password``, or
``passwords`` (candidates, see :mod:`oxswarm.cache.auth`) while it rotates. A refused
AUTH moves to the next candidate; when none is accepted the error says ``cache at ...
refused authentication`` (never the password).

Keys are ``<namespace>:<kind>:<ident>``; every write needs a TTL. Connection errors,
and Twemproxy's error replies for an unreachable shard (``-ERR Connection refused``,
``-ERR Connection timed out``...), are retried ``retries`` times with a short backoff:
enough to ride over an ejection (``server_failure_limit`` failures, then the shard's
keys move to the others). Everything else becomes :class:`CacheUnavailable`.

A retry may repeat a command that did run: ``take`` then returns ``None``, ``add``
``False`` and ``incr_with_ttl`` counts twice. Each of these fails closed.

Given the pool's shards (``ring=``, a :class:`~oxswarm.cache.ring.Ring`), every entry is
kept on two shards (a primary and a replica key, :mod:`oxswarm.cache.replica`): losing a
node's Redis loses no entry, and single use stays single use.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from oxswarm.cache import replica
from oxswarm.cache.auth import Passwords, Source
from oxswarm.cache.replies import checked, refused_auth, shard_down
from oxswarm.cache.ring import Ring
from oxswarm.errors import CacheUnavailable, InvalidInput

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_TTL = 30 * 24 * 3600
_PART = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
_IDENT = re.compile(r"[^\s\x00-\x1f\x7f]{1,512}")

# INCR, and start the TTL on the first increment (EXPIRE NX is not proxied); a
# tombstone (a deleted counter, oxswarm.cache.replica) counts from zero again.
_INCR_LUA = (
    "local v = redis.call('GET', KEYS[1]) "
    "if v and not tonumber(v) then redis.call('DEL', KEYS[1]) end "
    "local n = redis.call('INCR', KEYS[1]) "
    "if n == 1 or redis.call('TTL', KEYS[1]) < 0 then "
    "redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
    "return n"
)
_INCR_SHA = hashlib.sha1(_INCR_LUA.encode(), usedforsecurity=False).hexdigest()


def handshake_free() -> dict[str, Any]:
    """Connection arguments that turn off redis-py's CLIENT SETINFO handshake."""
    params = inspect.signature(redis.connection.AbstractConnection.__init__).parameters
    if "driver_info" in params:
        return {"driver_info": None}
    return {"lib_name": None, "lib_version": None}  # pragma: no cover (redis-py < 7)


def _check_part(value: str, field: str) -> str:
    if not isinstance(value, str) or not _PART.fullmatch(value):
        raise InvalidInput(
            f"{field}: {value!r} must be lower-case letters, digits, '.', '_' or '-'",
            field=field,
        )
    return value


def _check_ttl(ttl: int) -> int:
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= MAX_TTL:
        raise InvalidInput(f"ttl: {ttl!r} must be whole seconds in 1..{MAX_TTL}", field="ttl")
    return ttl


def _dump(value: object) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"value: not JSON-serialisable: {exc}", field="value") from exc


def credentials(password: str | None, passwords: Source | Sequence[str] | None) -> Passwords:
    """The candidates a client sends: ``passwords`` (a source or a list) else ``password``."""
    if passwords is None:
        return Passwords.fixed(password or "")
    if callable(passwords):
        return Passwords(passwords)
    return Passwords.fixed(*passwords)


class Cache:
    """Namespaced, TTL-bound cache operations over one Twemproxy endpoint.

    Thread-safe: commands borrow connections from a blocking pool of
    ``max_connections``. Create one per process (in the app's lifespan) and ``close()``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        namespace: str,
        *,
        socket_timeout: float = 1.0,
        connect_timeout: float = 0.5,
        max_connections: int = 32,
        retries: int = 2,
        backoff: float = 0.02,
        password: str | None = None,
        passwords: Source | Sequence[str] | None = None,
        ring: Ring | None = None,
        tombstone_ttl: int = replica.TOMBSTONE_TTL,
    ) -> None:
        self.namespace = _check_part(namespace, "namespace")
        self.address = f"{host}:{port}"
        self._passwords = credentials(password, passwords)
        self._retries = retries
        self._backoff = backoff
        self.ring = ring if ring is not None and len(ring.names) > 1 else None
        self._tombstone_ttl = _check_ttl(tombstone_ttl)
        self._replicas: dict[str, str] = {}  # primary -> replica key (hashing costs ~10 us)
        self._pool = redis.BlockingConnectionPool(
            host=host,
            port=port,
            max_connections=max_connections,
            timeout=connect_timeout,
            protocol=2,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            socket_keepalive=True,
            health_check_interval=0,
            retry=Retry(NoBackoff(), 0),  # retries are ours, see _call
            credential_provider=self._passwords,
            **handshake_free(),
        )
        self._redis = redis.Redis(connection_pool=self._pool)

    # -- keys -------------------------------------------------------------------------

    def key(self, kind: str, ident: str) -> str:
        """``<namespace>:<kind>:<ident>``; :class:`InvalidInput` names a bad part."""
        _check_part(kind, "kind")
        if not isinstance(ident, str) or not _IDENT.fullmatch(ident):
            raise InvalidInput(
                "ident: must be 1-512 characters without whitespace or control characters",
                field="ident",
            )
        return f"{self.namespace}:{kind}:{ident}"

    def pair(self, kind: str, ident: str) -> replica.Pair | None:
        """The entry's primary and replica keys (``None`` without a ring of 2+ shards)."""
        key = self.key(kind, ident)
        if self.ring is None:
            return None
        other = self._replicas.get(key)
        if other is None:
            other = replica.replica_key(self.ring, self.namespace, kind, ident)
            if other is None:
                return None
            if len(self._replicas) >= replica.REMEMBERED:
                self._replicas.clear()
            self._replicas[key] = other
        return replica.Pair(key, other, self._tombstone_ttl)

    def _pipe(self, commands: list[replica.Command]) -> list[Any]:
        """Pipelined ``commands``; one whose shard is down is retried alone (never the
        others: a take's claim must not run twice) and is :data:`replica.FAILED` after
        ``retries``; all failed: :class:`CacheUnavailable`."""
        results: list[Any] = [replica.FAILED] * len(commands)
        todo = list(range(len(commands)))
        for attempt in range(self._retries + 1):
            if attempt:
                time.sleep(self._backoff * (2 ** (attempt - 1)))
            batch = [commands[i] for i in todo]

            def run(_: redis.Redis[bytes], batch: list[replica.Command] = batch) -> list[Any]:
                return checked(self._send(batch), self.address)

            answers = self._call(run)
            todo = replica.settle(results, todo, answers, shard_down)
            if not todo:
                break
        if all(r is replica.FAILED for r in results):
            raise CacheUnavailable(f"cache at {self.address}: no shard holding the entry "
                                   f"answered after {self._retries + 1} attempts")
        return results

    def _send(self, commands: list[replica.Command]) -> list[Any]:
        """``commands`` written at once on one connection, their raw replies read in order
        (an error reply in its place)."""
        conn = self._pool.get_connection()  # type: ignore[call-arg]
        try:
            conn.send_packed_command(conn.pack_commands(commands),  # type: ignore[arg-type]
                                     check_health=False)
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(conn.read_response())
                except redis.ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            conn.disconnect()  # replies may be left unread: never reuse it
            raise
        finally:
            self._pool.release(conn)

    def _repair(self, pair: replica.Pair, results: list[Any], stale: list[int]) -> None:
        commands = pair.repair(results, stale)
        if commands:
            try:
                self._pipe(commands)
            except CacheUnavailable as exc:  # the next read repairs it
                log.info("cache read-repair of %s failed: %s", pair.primary, exc)

    # -- bytes ------------------------------------------------------------------------

    def get(self, kind: str, ident: str) -> bytes | None:
        pair = self.pair(kind, ident)
        if pair is None:
            key = self.key(kind, ident)
            return replica.payload(self._call(lambda r: r.get(key)))
        results = replica.answered(self._pipe(pair.get()))
        value, stale = replica.choose(*results)
        if stale:
            self._repair(pair, results, stale)
        return value

    def set(self, kind: str, ident: str, value: bytes | str, ttl: int) -> None:
        ttl = _check_ttl(ttl)
        pair = self.pair(kind, ident)
        if pair is not None:
            self._pipe(pair.set(value, ttl))
            return
        key = self.key(kind, ident)
        self._call(lambda r: r.set(key, value, ex=ttl))

    def add(self, kind: str, ident: str, value: bytes | str, ttl: int) -> bool:
        """``SET NX EX``: True when stored, False when the key already existed (with a
        replica: True only when neither copy existed)."""
        ttl = _check_ttl(ttl)
        pair = self.pair(kind, ident)
        if pair is not None:
            return all(r is replica.FAILED or bool(r) for r in self._pipe(pair.add(value, ttl)))
        key = self.key(kind, ident)
        return bool(self._call(lambda r: r.set(key, value, nx=True, ex=ttl)))

    def take(self, kind: str, ident: str) -> bytes | None:
        """Single-use read: GET then DEL in one round trip (a pipeline, not MULTI).

        Only the caller whose DEL removed the key (returned 1) gets the value; any
        concurrent caller, in this process or another, gets ``None``. This is what makes
        authorization codes single-use (RFC 6749 section 4.1.2). With a replica: both
        copies become tombstones (:func:`oxswarm.cache.replica.taken`).
        """
        pair = self.pair(kind, ident)
        if pair is not None:
            return replica.taken(*replica.answered(self._pipe(pair.claim())))
        key = self.key(kind, ident)

        def run(r: redis.Redis[bytes]) -> bytes | None:
            pipe = r.pipeline(transaction=False)
            pipe.get(key)
            pipe.delete(key)
            value, deleted = pipe.execute()
            return replica.payload(value) if deleted == 1 else None

        return self._call(run)

    def delete(self, kind: str, ident: str) -> bool:
        """True when a value was removed (with a replica: both copies become tombstones,
        so a copy that returns with its shard stays deleted)."""
        pair = self.pair(kind, ident)
        if pair is not None:
            return replica.deleted(replica.answered(self._pipe(pair.claim())))
        key = self.key(kind, ident)
        return bool(self._call(lambda r: r.delete(key)))

    def ttl(self, kind: str, ident: str) -> int | None:
        """Seconds left, ``None`` when the entry does not exist (the longer-lived copy)."""
        pair = self.pair(kind, ident)
        keys = [self.key(kind, ident)] if pair is None else [pair.primary, pair.replica]
        results = self._pipe([c for k in keys for c in (("GET", k), ("TTL", k))])
        lefts = [int(left) for raw, left in zip(results[::2], results[1::2], strict=True)
                 if replica.payload(raw) is not None and int(left) != -2]
        return max(lefts) if lefts else None

    def incr_with_ttl(self, kind: str, ident: str, ttl: int) -> int:
        """Atomic INCR whose TTL starts at the first increment (a fixed window).

        For lockout counters: ``incr_with_ttl("lockout", user, 300) > 5`` -> locked.
        One Lua script on one key (EVALSHA, EVAL when the shard lacks it).
        """
        key, ttl = self.key(kind, ident), _check_ttl(ttl)
        pair = self.pair(kind, ident)
        if pair is not None:  # both count; a lost copy restarts at 1: the larger counts
            return max(int(n) for n in self._pipe(pair.incr(_INCR_LUA, ttl))
                       if n is not replica.FAILED)

        def run(r: redis.Redis[bytes]) -> int:
            try:
                return int(r.execute_command("EVALSHA", _INCR_SHA, 1, key, ttl))
            except NoScriptError:
                return int(r.execute_command("EVAL", _INCR_LUA, 1, key, ttl))

        return self._call(run)

    # -- JSON -------------------------------------------------------------------------

    def get_json(self, kind: str, ident: str) -> Any:
        return self._load(kind, ident, self.get(kind, ident))

    def set_json(self, kind: str, ident: str, value: object, ttl: int) -> None:
        self.set(kind, ident, _dump(value), ttl)

    def add_json(self, kind: str, ident: str, value: object, ttl: int) -> bool:
        return self.add(kind, ident, _dump(value), ttl)

    def take_json(self, kind: str, ident: str) -> Any:
        return self._load(kind, ident, self.take(kind, ident))

    @staticmethod
    def _load(kind: str, ident: str, raw: bytes | None) -> Any:
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise CacheUnavailable(f"cache entry {kind}:{ident} is not JSON") from exc

    # -- plumbing ---------------------------------------------------------------------

    def ping(self) -> None:
        """PING (answered by Twemproxy itself); :class:`CacheUnavailable` if unreachable."""
        self._call(lambda r: r.ping())

    def _call(self, op: Callable[[redis.Redis[bytes]], T]) -> T:
        attempt = refusals = 0
        while True:
            try:
                return op(self._redis)
            except redis.AuthenticationError as exc:
                # a rotation: this proxy wants the other candidate (tried at once)
                refusals += 1
                if refusals >= max(1, self._passwords.candidates()):
                    raise refused_auth(self.address, exc) from exc
                self._passwords.refused()
                continue
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                error: redis.RedisError = exc
            except redis.ResponseError as exc:
                if not shard_down(exc):
                    raise CacheUnavailable(f"cache at {self.address} refused: {exc}") from exc
                error = exc
            except redis.RedisError as exc:
                raise CacheUnavailable(f"cache at {self.address}: {exc}") from exc
            if attempt >= self._retries:
                raise CacheUnavailable(
                    f"cache at {self.address} unavailable after {attempt + 1} attempts: {error}"
                ) from error
            time.sleep(self._backoff * (2**attempt))
            attempt += 1

    def close(self) -> None:
        self._pool.disconnect()

    def __enter__(self) -> Cache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
