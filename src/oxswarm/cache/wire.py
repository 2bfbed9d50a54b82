"""One auto-pipelined RESP2 connection to Twemproxy, for the asyncio cache client.

redis-py's asyncio pool costs, per command, a connection checkout, a ``StreamWriter``
write and a read of its own (docs/performance.md: the token endpoint's Redis write was a
fifth of oxAuth's CPU). :class:`Wire` keeps one connection (an :class:`asyncio.Protocol`)
and pipelines automatically: commands issued in the same event-loop iteration, by any
number of requests, are written in one ``write``; replies are parsed by
``hiredis.Reader`` and handed, in order, to the futures of their callers (Redis and
Twemproxy answer a connection's commands in order).

Same wire rules as the rest of :mod:`oxswarm.cache`: RESP2 with no ``HELLO`` and no
``CLIENT SETINFO`` (Twemproxy refuses them), single-argument ``AUTH`` with the current
password candidate (:mod:`oxswarm.cache.auth`) on every new connection. Errors are
redis-py's classes, so the caller's retry policy (:meth:`AsyncCache._call`) is unchanged:
an error reply is a :class:`redis.ResponseError` in its place among the replies (what
redis-py's parser makes of it: ``NOAUTH`` an :class:`redis.AuthenticationError`, raised);
a lost connection fails every command waiting on it with :class:`redis.ConnectionError`
(the next command connects again); a refused ``AUTH`` is :class:`redis.AuthenticationError`.
"""

from __future__ import annotations

import asyncio
import collections
import socket
from collections.abc import Sequence
from typing import Any

import hiredis
import redis
from redis._parsers.base import BaseParser

from oxswarm.cache.auth import Passwords

Command = tuple[object, ...]


class _Waiter:
    __slots__ = ("count", "future", "replies")

    def __init__(self, future: asyncio.Future[list[Any]], count: int) -> None:
        self.future = future
        self.count = count
        self.replies: list[Any] = []


class _Connection(asyncio.Protocol):
    """The protocol of one connection: commands out in batches, replies matched in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = self._loop = loop
        self._reader = hiredis.Reader(
            replyError=BaseParser.parse_error, protocolError=redis.InvalidResponse)
        self._transport: asyncio.Transport | None = None
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._out: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    def submit(self, commands: Sequence[Command]) -> asyncio.Future[list[Any]]:
        """A future of the replies to ``commands``, written with this iteration's others."""
        if self.closed:
            raise redis.ConnectionError("the connection to the cache is closed")
        future: asyncio.Future[list[Any]] = self._loop.create_future()
        self._waiters.append(_Waiter(future, len(commands)))
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.extend(hiredis.pack_command(command) for command in commands)  # type: ignore[arg-type]
        return future

    def _flush(self) -> None:
        if self._out and not self.closed and self._transport is not None:
            self._transport.write(b"".join(self._out))
        self._out.clear()

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        waiters = self._waiters
        try:
            while (reply := reader.gets()) is not False:
                if not waiters:
                    raise redis.InvalidResponse("a reply nobody asked for")
                waiter = waiters[0]
                waiter.replies.append(reply)
                if len(waiter.replies) == waiter.count:
                    waiters.popleft()
                    if not waiter.future.done():
                        waiter.future.set_result(waiter.replies)
        except redis.InvalidResponse as exc:
            self.abort(redis.ConnectionError(f"the cache's reply is not RESP: {exc}"))

    def abort(self, error: Exception) -> None:
        """Close at once; every waiting command fails with ``error``."""
        self._fail(error)
        if self._transport is not None:
            self._transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(redis.ConnectionError(
            "the connection to the cache was lost" + (f": {exc}" if exc else "")))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        self._out.clear()
        while self._waiters:
            future = self._waiters.popleft().future
            if not future.done():
                future.set_exception(error)

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()


class Wire:
    """Commands to one Twemproxy over one connection, opened (and authenticated) on use."""

    def __init__(self, host: str, port: int, passwords: Passwords, *,
                 connect_timeout: float = 0.5, timeout: float | None = None) -> None:
        self.host = host
        self.port = port
        self._passwords = passwords
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self._conn: _Connection | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    async def send(self, commands: Sequence[Command]) -> list[Any]:
        """The replies to ``commands`` in order, an error reply (:class:`redis.ResponseError`)
        in its place; any other failure is raised (redis-py's exception classes)."""
        conn = self._conn
        if conn is None or conn.closed or conn.loop is not asyncio.get_running_loop():
            conn = await self._connect()  # (a connection serves the loop that opened it)
        future = conn.submit(commands)
        if self._timeout is None:
            replies = await future
        else:
            try:
                replies = await asyncio.wait_for(future, self._timeout)
            except TimeoutError:
                error = redis.TimeoutError(f"no answer from the cache in {self._timeout} s")
                conn.abort(error)  # replies still due would be matched to later commands
                raise error from None
        for reply in replies:
            if isinstance(reply, redis.RedisError) and not isinstance(reply, redis.ResponseError):
                conn.abort(redis.ConnectionError(str(reply)))  # NOAUTH and the like
                raise reply
        return replies

    async def _connect(self) -> _Connection:
        if self._lock is None or self._lock_loop is not asyncio.get_running_loop():
            self._lock, self._lock_loop = asyncio.Lock(), asyncio.get_running_loop()
        async with self._lock:
            loop = asyncio.get_running_loop()
            if self._conn is not None and not self._conn.closed and self._conn.loop is loop:
                return self._conn
            try:
                _, conn = await asyncio.wait_for(loop.create_connection(
                    lambda: _Connection(loop), self.host, self.port), self._connect_timeout)
            except TimeoutError as exc:
                raise redis.TimeoutError(
                    f"connecting to the cache at {self.host}:{self.port} timed out") from exc
            except OSError as exc:
                raise redis.ConnectionError(
                    f"cannot connect to the cache at {self.host}:{self.port}: {exc}") from exc
            password = self._passwords.current()
            if password is not None:
                try:
                    reply = (await asyncio.wait_for(
                        conn.submit([("AUTH", password)]), self._connect_timeout))[0]
                except TimeoutError as exc:
                    conn.abort(redis.TimeoutError("no answer to AUTH"))
                    raise redis.TimeoutError(
                        f"the cache at {self.host}:{self.port} did not answer AUTH") from exc
                if isinstance(reply, Exception):
                    conn.close()
                    raise redis.AuthenticationError(str(reply))
            self._conn = conn
            return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
