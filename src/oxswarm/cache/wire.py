"""Auto-pipelined RESP2 connections to every Twemproxy the cache's name resolves to.

redis-py's asyncio pool costs, per command, a connection checkout, a ``StreamWriter``
write and a read of its own (docs/performance.md: the token endpoint's Redis write was a
fifth of oxAuth's CPU). :class:`Wires` sends the commands issued in one event-loop
iteration, by any number of requests, in one ``write`` on one connection (an
:class:`asyncio.Protocol`); replies are parsed by ``hiredis.Reader`` and handed, in
order, to the futures of their callers (Twemproxy answers a connection's commands in
order).

One connection alone made a node's loss everybody's (docs/performance.md, item 8): a
proxy killed with its node goes silent (no RST over the overlay), and every request of
the process waited on it. So :class:`Wires` holds **one connection to each address the
name resolves to** (in a cluster ``twemproxy`` resolves to every node's proxy,
``endpoint_mode: dnsrr``), sends on the first healthy one and watches all of them from
one timer (:data:`TICK`, no cost per command):

* a connection whose replies stopped coming for :data:`SUSPECT_AFTER` while commands wait
  gets no new commands (they go to the next healthy connection);
* one silent for the reply timeout (:data:`REPLY_TIMEOUT`) is dropped: the commands
  waiting on it fail with :class:`redis.TimeoutError` (the caller retries them on another
  connection), its address is tried again in the background with a growing pause;
* an idle connection is sent a ``PING`` every :data:`IDLE_PING` seconds, so a standby
  proxy that died is known before it is needed;
* the name is resolved again every :data:`REFRESH` seconds (a node back, a proxy moved).

Same wire rules as the rest of :mod:`oxswarm.cache`: RESP2 with no ``HELLO`` and no
``CLIENT SETINFO`` (Twemproxy refuses them), single-argument ``AUTH`` with the current
password candidate (:mod:`oxswarm.cache.auth`) on every new connection. Errors are
redis-py's classes, so the caller's retry policy (:meth:`AsyncCache._call`) applies: an
error reply is a :class:`redis.ResponseError` in its place among the replies; a lost
connection fails every command waiting on it with :class:`redis.ConnectionError`; a
refused ``AUTH`` is :class:`redis.AuthenticationError`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import hiredis
import redis
from redis._parsers.base import BaseParser

from oxswarm.cache.auth import Passwords

Command = tuple[object, ...]
Address = tuple[str, int]
Resolver = Callable[[], Awaitable[list[Address]]]

REPLY_TIMEOUT = 2.0  # seconds of silence with commands waiting before a connection is dropped
SUSPECT_AFTER = 0.5  # seconds of silence after which new commands go elsewhere
IDLE_PING = 1.0  # an idle connection is PINGed this often
REFRESH = 5.0  # the name is resolved again this often
TICK = 0.1  # the watchdog's period
MAX_PAUSE = 2.0  # the longest pause before an address that failed is tried again

log = logging.getLogger(__name__)


class _Waiter:
    __slots__ = ("count", "future", "replies")

    def __init__(self, future: asyncio.Future[list[Any]], count: int) -> None:
        self.future = future
        self.count = count
        self.replies: list[Any] = []


class _Connection(asyncio.Protocol):
    """One connection: commands out in batches, replies matched in order, counters for the
    watchdog (``replied`` grows; nothing is timed per command)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, address: Address) -> None:
        self.loop = loop
        self.address = address
        self._reader = hiredis.Reader(
            replyError=BaseParser.parse_error, protocolError=redis.InvalidResponse)
        self._transport: asyncio.Transport | None = None
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._out: list[bytes] = []
        self.closed = False
        self.suspect = False
        self.replied = 0  # data_received calls: grows while the proxy answers
        # the watchdog's view at its last look: since when nothing came back
        self.seen_replied = 0
        self.was_waiting = False
        self.quiet_since = loop.time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    @property
    def waiting(self) -> bool:
        return bool(self._waiters)

    def submit(self, commands: Sequence[Command]) -> asyncio.Future[list[Any]]:
        """A future of the replies to ``commands``, written with this iteration's others."""
        if self.closed:
            raise redis.ConnectionError("the connection to the cache is closed")
        future: asyncio.Future[list[Any]] = self.loop.create_future()
        self._waiters.append(_Waiter(future, len(commands)))
        if not self._out:
            self.loop.call_soon(self._flush)
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
        self.replied += 1
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


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Done callback of a future nobody awaits (a PING, a background connect)."""
    if not future.cancelled():
        future.exception()


class Wires:
    """Commands to the Twemproxies behind ``host`` over one connection to each."""

    def __init__(self, host: str, port: int, passwords: Passwords, *,
                 connect_timeout: float = 0.5, timeout: float = REPLY_TIMEOUT,
                 suspect_after: float = SUSPECT_AFTER, resolve: Resolver | None = None) -> None:
        self.host = host
        self.port = port
        self._passwords = passwords
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self._suspect_after = min(suspect_after, timeout)
        self._resolve = resolve or self._getaddrinfo
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conns: list[_Connection] = []  # open ones, in the order they are preferred
        self._connecting: dict[Address, asyncio.Task[_Connection]] = {}
        self._failures: dict[Address, int] = {}
        self._retry_at: dict[Address, float] = {}
        self._targets: list[Address] = []
        self._resolved_at = float("-inf")
        self._resolving: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def addresses(self) -> list[Address]:
        """The addresses of the open connections, preferred first."""
        return [conn.address for conn in self._conns if not conn.closed]

    async def send(self, commands: Sequence[Command]) -> list[Any]:
        """The replies to ``commands`` in order, an error reply (:class:`redis.ResponseError`)
        in its place; any other failure is raised (redis-py's exception classes)."""
        if self._loop is not asyncio.get_running_loop():
            self._start(asyncio.get_running_loop())
        for conn in self._conns:
            if not conn.suspect and not conn.closed:
                break
        else:
            conn = await self._connected()
        replies = await conn.submit(commands)
        for reply in replies:
            if isinstance(reply, redis.RedisError) and not isinstance(reply, redis.ResponseError):
                conn.abort(redis.ConnectionError(str(reply)))  # NOAUTH and the like
                raise reply
        return replies

    # -- connections ---------------------------------------------------------------------

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve ``loop`` (a connection serves the loop that opened it: another loop's are
        forgotten, as after :meth:`close`)."""
        self.close()
        self._loop = loop
        self._timer = loop.call_later(TICK, self._tick)

    async def _connected(self) -> _Connection:
        """A connection to use when no healthy one is open: a new one to any address (the
        first that answers), else the least silent open one, else the error of the last
        attempt."""
        if not self._targets:
            await self._refresh()
        self._connect_missing()  # now, whatever pause an address is in
        attempts = list(self._connecting.values())
        error: BaseException | None = None
        while attempts:
            done, pending = await asyncio.wait(attempts, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.cancelled():
                    continue
                if (exc := task.exception()) is None:
                    return task.result()
                if error is None or isinstance(exc, redis.AuthenticationError):
                    error = exc
            attempts = list(pending)
        live = [conn for conn in self._conns if not conn.closed]
        if live:
            return max(live, key=lambda conn: conn.quiet_since)
        if error is None:
            error = redis.ConnectionError(f"the cache's name {self.host} resolves to nothing")
        raise error

    def _connect_missing(self, now: float | None = None) -> None:
        """Start connecting to each address with no connection open or being made (with
        ``now``: only those whose pause after a failure is over)."""
        assert self._loop is not None
        open_to = set(self.addresses)
        for address in self._targets:
            if (address in open_to or address in self._connecting
                    or (now is not None and now < self._retry_at.get(address, 0.0))):
                continue
            task = self._loop.create_task(self._connect(address))
            self._connecting[address] = task
            task.add_done_callback(_retrieve)

    async def _connect(self, address: Address) -> _Connection:
        loop = asyncio.get_running_loop()
        host, port = address
        where = f"{host}:{port}"
        try:
            try:
                _, conn = await asyncio.wait_for(loop.create_connection(
                    lambda: _Connection(loop, address), host, port), self._connect_timeout)
            except TimeoutError as exc:
                raise redis.TimeoutError(f"connecting to the cache at {where} timed out") from exc
            except OSError as exc:
                raise redis.ConnectionError(
                    f"cannot connect to the cache at {where}: {exc}") from exc
            password = self._passwords.current()
            if password is not None:
                try:
                    reply = (await asyncio.wait_for(
                        conn.submit([("AUTH", password)]), self._connect_timeout))[0]
                except TimeoutError as exc:
                    conn.abort(redis.TimeoutError("no answer to AUTH"))
                    raise redis.TimeoutError(
                        f"the cache at {where} did not answer AUTH") from exc
                if isinstance(reply, Exception):
                    conn.close()
                    raise redis.AuthenticationError(str(reply))
        except redis.RedisError as exc:
            failures = self._failures.get(address, 0) + 1
            self._failures[address] = failures
            self._retry_at[address] = loop.time() + min(MAX_PAUSE, 0.1 * 2 ** (failures - 1))
            if failures == 1:
                log.warning("cache proxy %s: %s", where, exc)
            raise
        finally:
            self._connecting.pop(address, None)
        if self._loop is not loop:  # closed meanwhile
            conn.close()
            raise redis.ConnectionError("the cache client was closed")
        if self._failures.pop(address, 0):
            log.info("cache proxy %s answers again", where)
        self._retry_at.pop(address, None)
        self._conns.append(conn)
        return conn

    async def _refresh(self) -> None:
        """Resolve the name again; addresses gone are closed once idle."""
        assert self._loop is not None
        self._resolved_at = self._loop.time()
        try:
            targets = await self._resolve()
        except OSError as exc:
            log.warning("cache: cannot resolve %s: %s", self.host, exc)
            return
        if targets:
            self._targets = targets

    async def _getaddrinfo(self) -> list[Address]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM)
        seen: dict[Address, None] = {}
        for *_, sockaddr in infos:
            seen[(str(sockaddr[0]), int(sockaddr[1]))] = None
        return list(seen)

    # -- the watchdog --------------------------------------------------------------------

    def _tick(self) -> None:
        loop = self._loop
        if loop is None:
            return
        now = loop.time()
        for conn in self._conns:
            if not conn.closed:
                self._watch(conn, now)
        self._conns = [conn for conn in self._conns if not conn.closed]
        if now - self._resolved_at >= REFRESH and (
                self._resolving is None or self._resolving.done()):
            self._resolving = loop.create_task(self._refresh())
            self._resolving.add_done_callback(_retrieve)
        self._connect_missing(now)
        for conn in self._conns:  # a proxy no longer behind the name: closed once idle
            if conn.address not in self._targets and not conn.waiting and not conn.closed:
                conn.close()
        self._timer = loop.call_later(TICK, self._tick)

    def _watch(self, conn: _Connection, now: float) -> None:
        """Suspect, drop or PING ``conn`` from what moved since the last look."""
        waiting = conn.waiting
        if conn.replied != conn.seen_replied:
            conn.seen_replied = conn.replied
            conn.quiet_since = now  # it answered
        elif waiting and not conn.was_waiting:
            conn.quiet_since = now  # commands started waiting since the last look
        conn.was_waiting = waiting
        if not waiting:
            conn.suspect = False
            if now - conn.quiet_since >= IDLE_PING:
                conn.submit([("PING",)]).add_done_callback(_retrieve)
                conn.quiet_since, conn.was_waiting = now, True
            return
        silent = now - conn.quiet_since
        if silent >= self._timeout:
            conn.abort(redis.TimeoutError(
                f"no answer from the cache at {conn.address[0]}:{conn.address[1]} "
                f"in {self._timeout:g} s"))
            log.warning("cache proxy %s:%s: silent for %.1f s with commands waiting, dropped",
                        *conn.address, silent)
            self._retry_at[conn.address] = now + TICK
        else:
            conn.suspect = silent >= self._suspect_after

    def close(self) -> None:
        """Close every connection and stop watching (a later :meth:`send` starts again)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in self._connecting.values():
            with contextlib.suppress(RuntimeError):  # its loop is gone
                task.cancel()
        if self._resolving is not None:
            with contextlib.suppress(RuntimeError):
                self._resolving.cancel()
        for conn in self._conns:
            with contextlib.suppress(RuntimeError):
                conn.close()
        self._conns, self._connecting = [], {}
        self._targets, self._resolved_at, self._resolving = [], float("-inf"), None
        self._failures, self._retry_at = {}, {}
        self._loop = None
