"""The asyncio twin of :class:`oxswarm.cache.client.Cache`, for oxAuth's request paths.

Same key naming (``<namespace>:<kind>:<ident>``), same TTL rules, same Twemproxy-safe
connection settings (RESP2, no HELLO, no CLIENT SETINFO), the same password candidates
(:mod:`oxswarm.cache.auth`) and the same retry policy, over auto-pipelined connections
(:mod:`oxswarm.cache.wire`): the token endpoint awaits Redis on its event loop instead of
blocking a thread, and the commands of all the requests in flight share writes and reads
(redis-py's asyncio pool was a fifth of the token endpoint's CPU).

There is one connection to each Twemproxy the host name resolves to (in a cluster
``twemproxy`` names every node's proxy); commands go to the first one that answers. A
proxy gone without a word (its node killed or cut off: no RST) gets no new commands after
:data:`~oxswarm.cache.wire.SUSPECT_AFTER` of silence, and is dropped after
``socket_timeout`` (:data:`~oxswarm.cache.wire.REPLY_TIMEOUT`, 2 s; Twemproxy answers
within its own server ``timeout``, 400 ms, even when a shard stalls): the commands that
waited on it fail with :class:`redis.TimeoutError` and are retried on a live proxy.

With ``ring=`` every entry is kept on two shards (:mod:`oxswarm.cache.replica`), in one
pipeline: the same rules as the sync client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import redis
from redis.exceptions import NoScriptError

from oxswarm.cache import replica
from oxswarm.cache.auth import Source
from oxswarm.cache.client import (
    _IDENT,
    _INCR_LUA,
    _INCR_SHA,
    _check_part,
    _check_ttl,
    _dump,
    credentials,
)
from oxswarm.cache.replies import checked, refused_auth, shard_down
from oxswarm.cache.ring import Ring
from oxswarm.cache.wire import REPLY_TIMEOUT, Resolver, Wires
from oxswarm.errors import CacheUnavailable, InvalidInput
from oxswarm.metrics import CACHE_METRICS

T = TypeVar("T")
log = logging.getLogger(__name__)


class AsyncCache:
    """Namespaced, TTL-bound cache operations over one Twemproxy endpoint (asyncio)."""

    def __init__(
        self,
        host: str,
        port: int,
        namespace: str,
        *,
        socket_timeout: float | None = None,  # None: REPLY_TIMEOUT
        connect_timeout: float = 0.5,
        retries: int = 2,
        backoff: float = 0.02,
        password: str | None = None,
        passwords: Source | Sequence[str] | None = None,
        ring: Ring | None = None,
        tombstone_ttl: int = replica.TOMBSTONE_TTL,
        resolve: Resolver | None = None,
    ) -> None:
        self.namespace = _check_part(namespace, "namespace")
        self.address = f"{host}:{port}"
        self._passwords = credentials(password, passwords)
        self.ring = ring if ring is not None and len(ring.names) > 1 else None
        self._tombstone_ttl = _check_ttl(tombstone_ttl)
        self._replicas: dict[str, str] = {}  # primary -> replica key (hashing costs ~10 us)
        self._prefix = f"{self.namespace}:"
        self._retries = retries
        self._backoff = backoff
        self._wire = Wires(host, port, self._passwords, connect_timeout=connect_timeout,
                           timeout=REPLY_TIMEOUT if socket_timeout is None else socket_timeout,
                           resolve=resolve)

    def key(self, kind: str, ident: str) -> str:
        """``<namespace>:<kind>:<ident>``; :class:`InvalidInput` names a bad part."""
        _check_part(kind, "kind")
        if not isinstance(ident, str) or not _IDENT.fullmatch(ident):
            raise InvalidInput(
                "ident: must be 1-512 characters without whitespace or control characters",
                field="ident",
            )
        return f"{self._prefix}{kind}:{ident}"

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

    async def _pipe(self, commands: list[replica.Command], name: str) -> list[Any]:
        """Pipelined ``commands``; one whose shard is down is retried alone and is
        :data:`replica.FAILED` after ``retries`` (see the sync client's ``_pipe``)."""
        results: list[Any] = [replica.FAILED] * len(commands)
        todo = list(range(len(commands)))
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(self._backoff * (2 ** (attempt - 1)))
            batch = [commands[i] for i in todo]

            async def run(batch: list[replica.Command] = batch) -> list[Any]:
                return checked(await self._wire.send(batch), self.address)

            answers = await self._call(run, name)
            todo = replica.settle(results, todo, answers, shard_down)
            if not todo:
                break
        if all(r is replica.FAILED for r in results):
            raise _failed(name, time.perf_counter(), CacheUnavailable(
                f"cache at {self.address}: no shard holding the entry answered after "
                f"{self._retries + 1} attempts"))
        return results

    async def _one(self, *command: object) -> Any:
        """One command's reply; an error reply raised."""
        reply = (await self._wire.send([command]))[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def get(self, kind: str, ident: str) -> bytes | None:
        pair = self.pair(kind, ident)
        if pair is None:
            key = self.key(kind, ident)
            raw: bytes | None = await self._call(lambda: self._one("GET", key), "get")
            return replica.payload(raw)
        results = replica.answered(await self._pipe(pair.get(), "get"))
        value, stale = replica.choose(*results)
        if stale and (commands := pair.repair(results, stale)):
            try:
                await self._pipe(commands, "repair")
            except CacheUnavailable as exc:  # the next read repairs it
                log.info("cache read-repair of %s failed: %s", pair.primary, exc)
        return value

    async def set(self, kind: str, ident: str, value: bytes | str, ttl: int) -> None:
        ttl = _check_ttl(ttl)
        pair = self.pair(kind, ident)
        if pair is not None:
            await self._pipe(pair.set(value, ttl), "set")
            return
        key = self.key(kind, ident)
        await self._call(lambda: self._one("SET", key, value, "EX", ttl), "set")

    async def add(self, kind: str, ident: str, value: bytes | str, ttl: int) -> bool:
        """``SET NX EX``: True when stored, False when the key already existed (with a
        replica: True only when neither copy existed)."""
        ttl = _check_ttl(ttl)
        pair = self.pair(kind, ident)
        if pair is not None:
            stored = await self._pipe(pair.add(value, ttl), "add")
            return all(r is replica.FAILED or bool(r) for r in stored)
        key = self.key(kind, ident)
        return bool(
            await self._call(lambda: self._one("SET", key, value, "NX", "EX", ttl), "add")
        )

    async def take(self, kind: str, ident: str) -> bytes | None:
        """Single-use read: GET and DEL pipelined; only the caller whose DEL hit gets it
        (with a replica: both copies become tombstones, :func:`replica.taken`)."""
        pair = self.pair(kind, ident)
        if pair is not None:
            return replica.taken(*replica.answered(await self._pipe(pair.claim(), "take")))
        key = self.key(kind, ident)

        async def run() -> bytes | None:
            value, deleted = await self._wire.send([("GET", key), ("DEL", key)])
            for reply in (value, deleted):
                if isinstance(reply, Exception):
                    raise reply
            return replica.payload(value) if deleted == 1 else None

        return await self._call(run, "take")

    async def delete(self, kind: str, ident: str) -> bool:
        """True when a value was removed (with a replica: tombstones on both copies)."""
        pair = self.pair(kind, ident)
        if pair is not None:
            return replica.deleted(replica.answered(await self._pipe(pair.claim(), "delete")))
        key = self.key(kind, ident)
        return bool(await self._call(lambda: self._one("DEL", key), "delete"))

    async def incr_with_ttl(self, kind: str, ident: str, ttl: int) -> int:
        """Atomic INCR whose TTL starts at the first increment (a fixed window)."""
        key, ttl = self.key(kind, ident), _check_ttl(ttl)
        pair = self.pair(kind, ident)
        if pair is not None:  # both count; a lost copy restarts at 1: the larger counts
            counts = await self._pipe(pair.incr(_INCR_LUA, ttl), "incr")
            return max(int(n) for n in counts if n is not replica.FAILED)

        async def run() -> int:
            try:
                return int(await self._one("EVALSHA", _INCR_SHA, 1, key, ttl))
            except NoScriptError:
                return int(await self._one("EVAL", _INCR_LUA, 1, key, ttl))

        return await self._call(run, "incr")

    async def get_json(self, kind: str, ident: str) -> Any:
        raw = await self.get(kind, ident)
        return self._load(kind, ident, raw)

    async def set_json(self, kind: str, ident: str, value: object, ttl: int) -> None:
        await self.set(kind, ident, _dump(value), ttl)

    async def take_json(self, kind: str, ident: str) -> Any:
        return self._load(kind, ident, await self.take(kind, ident))

    @staticmethod
    def _load(kind: str, ident: str, raw: bytes | None) -> Any:
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise CacheUnavailable(f"cache entry {kind}:{ident} is not JSON") from exc

    async def ping(self, timeout: float = 1.0) -> None:
        """PING (answered by Twemproxy); :class:`CacheUnavailable` if no answer in time."""
        try:
            await asyncio.wait_for(self._call(lambda: self._one("PING"), "ping"), timeout)
        except TimeoutError as exc:
            raise CacheUnavailable(f"cache at {self.address}: no answer to PING") from exc

    async def _call(self, op: Callable[[], Awaitable[T]], name: str) -> T:
        """``op`` with retries; its time and failure counted as ``name`` (oxswarm.metrics,
        timed inline: no extra coroutine on the token path)."""
        began = time.perf_counter()
        attempt = refusals = 0
        while True:
            try:
                result = await op()
                CACHE_METRICS.observe(name, time.perf_counter() - began)
                return result
            except redis.AuthenticationError as exc:
                refusals += 1
                if refusals >= max(1, self._passwords.candidates()):
                    raise _failed(name, began, refused_auth(self.address, exc)) from exc
                self._passwords.refused()
                continue
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                error: redis.RedisError = exc
            except redis.ResponseError as exc:
                if not shard_down(exc):
                    raise _failed(name, began, CacheUnavailable(
                        f"cache at {self.address} refused: {exc}")) from exc
                error = exc
            except redis.RedisError as exc:
                raise _failed(name, began,
                              CacheUnavailable(f"cache at {self.address}: {exc}")) from exc
            if attempt >= self._retries:
                raise _failed(name, began, CacheUnavailable(
                    f"cache at {self.address} unavailable after {attempt + 1} attempts: {error}"
                )) from error
            await asyncio.sleep(self._backoff * (2**attempt))
            attempt += 1

    async def close(self) -> None:
        self._wire.close()


def _failed(name: str, began: float, error: CacheUnavailable) -> CacheUnavailable:
    """``error``, counted (with the call's time) as a failed ``name``."""
    CACHE_METRICS.observe(name, time.perf_counter() - began, failed=True)
    return error
