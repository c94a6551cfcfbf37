"""A loopback TCP proxy that drops connections on purpose, for network fault tests.

The proxy listens on 127.0.0.1 (a free port) and forwards bytes both ways to a server that
must itself be on a loopback address. Its event loop runs in a background thread, so a test
drives it from ordinary synchronous code::

    with FaultProxy("127.0.0.1", pg_port, seed=7) as proxy:
        url = proxy.rewrite(pg_url)                 # same URL, proxy host and port
        proxy.drop_after_upstream_bytes(200_000)    # once, mid-COPY
        proxy.drop_on(COMMIT_MESSAGE)               # once, the reply to COMMIT is lost
        proxy.drop_randomly(count=2, within=(0.2, 1.0))  # seeded instants
        proxy.drop_all()                            # now

A drop aborts both sides of every open connection (the client sees the server vanish, as
on a network failure); new connections are accepted as before, so a retry can succeed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import struct
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
CHUNK = 64 * 1024
# PostgreSQL's simple-query message for COMMIT, as psycopg sends it: 'Q', int32 length
# (4 + len(b"COMMIT\0") = 11), then the NUL-terminated text.
COMMIT_MESSAGE = b"Q\x00\x00\x00\x0bCOMMIT\x00"


def _require_loopback(host: str) -> None:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise ValueError(f"cannot resolve {host!r}: {exc}") from None
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise ValueError(f"FaultProxy only forwards to loopback addresses, not {host!r}")


@dataclass(eq=False)
class _Pipe:
    """One proxied connection: the client's and the server's stream writers."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.server):
            transport = writer.transport
            if not transport.is_closing():
                _linger_zero(writer)
            transport.abort()


def _linger_zero(writer: asyncio.StreamWriter) -> None:
    # SO_LINGER 0: close with a reset, like a dropped network path, not a polite FIN.
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass


class FaultProxy:
    """TCP proxy on 127.0.0.1 in front of ``upstream_host:upstream_port`` (loopback only)."""

    def __init__(self, upstream_host: str, upstream_port: int, *, seed: int = 0) -> None:
        _require_loopback(upstream_host)
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.connections = 0  # accepted so far
        self.drops = 0  # drop events that found at least one connection
        self.dropped_connections = 0
        self.bytes_upstream = 0  # client -> server, all connections
        self._random = random.Random(seed)
        self._pipes: set[_Pipe] = set()
        self._byte_plan: list[int] = []  # byte counts still to wait for, in order
        self._byte_threshold: int | None = None  # absolute bytes_upstream of the next drop
        self._patterns: list[bytes] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._tasks: set[asyncio.Task[None]] = set()  # handlers and pumps, for shutdown

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Start listening (a background thread runs the event loop)."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="faultproxy", daemon=True)
        self._thread.start()
        self._server = self._call(self._listen())
        return self

    def stop(self) -> None:
        """Drop everything, stop listening and end the thread."""
        loop = self._loop
        if loop is None:
            return
        self._call(self._shutdown())
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()
        self._loop = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def rewrite(self, url: str) -> str:
        """``url`` (postgresql://user:pw@host:port/db) with the proxy's host and port."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{LOOPBACK}:{self.port}" if userinfo else f"{LOOPBACK}:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    # -- faults --------------------------------------------------------------------------

    def drop_all(self) -> int:
        """Abort every open connection now; return how many there were."""
        return self._call(self._drop_now())

    def drop_after_upstream_bytes(self, count: int, times: int = 1) -> None:
        """Abort every connection once ``count`` more bytes have gone client -> server;
        with ``times`` > 1, again after each further ``count`` bytes (counted from the
        previous drop, so each retry gets its own drop part-way through)."""
        self._call(self._arm_bytes([count] * times))

    def drop_on(self, pattern: bytes) -> None:
        """Once a client sends ``pattern``: forward it, then abort before any reply."""
        self._call(self._arm_pattern(pattern))

    def drop_randomly(self, count: int, within: tuple[float, float]) -> list[float]:
        """Abort every connection at ``count`` seeded instants ``within`` (lo, hi) seconds
        from now; return the instants."""
        lo, hi = within
        delays = sorted(self._random.uniform(lo, hi) for _ in range(count))
        self._call(self._arm_timers(delays))
        return delays

    def open_connections(self) -> int:
        """Connections currently proxied."""
        return self._call(self._count())

    # -- event-loop side -----------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None, "start the proxy first"
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=10)

    async def _listen(self) -> asyncio.Server:
        server = await asyncio.start_server(self._handle, LOOPBACK, 0)
        self.port = int(server.sockets[0].getsockname()[1])
        return server

    async def _shutdown(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._server is not None:
            self._server.close()
        self._abort_all()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _count(self) -> int:
        return len(self._pipes)

    async def _drop_now(self) -> int:
        return self._abort_all()

    async def _arm_bytes(self, counts: list[int]) -> None:
        self._byte_plan.extend(counts)
        if self._byte_threshold is None:
            self._next_byte_threshold()

    def _next_byte_threshold(self) -> None:
        self._byte_threshold = (
            self.bytes_upstream + self._byte_plan.pop(0) if self._byte_plan else None
        )

    async def _arm_pattern(self, pattern: bytes) -> None:
        self._patterns.append(pattern)

    async def _arm_timers(self, delays: list[float]) -> None:
        loop = asyncio.get_running_loop()
        for delay in delays:
            self._timers.append(loop.call_later(delay, self._abort_all))

    def _abort_all(self) -> int:
        pipes = list(self._pipes)
        for pipe in pipes:
            pipe.abort()
        self._pipes.clear()
        if pipes:
            self.drops += 1
            self.dropped_connections += len(pipes)
        return len(pipes)

    def _track(self, task: asyncio.Task[None]) -> asyncio.Task[None]:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._track(task)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        pipe = _Pipe(writer, up_writer)
        self._pipes.add(pipe)
        pipe.tasks = [
            self._track(asyncio.ensure_future(self._pump(reader, up_writer, pipe, upstream=True))),
            self._track(asyncio.ensure_future(self._pump(up_reader, writer, pipe, upstream=False))),
        ]
        try:
            await asyncio.gather(*pipe.tasks, return_exceptions=True)
        finally:
            for pump in pipe.tasks:
                pump.cancel()
            self._pipes.discard(pipe)
            for w in (writer, up_writer):
                w.transport.abort()

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        pipe: _Pipe,
        *,
        upstream: bool,
    ) -> None:
        tail = b""  # the end of the previous chunk, so a pattern split across two is found
        try:
            while True:
                data = await source.read(CHUNK)
                if not data:
                    if sink.can_write_eof():
                        sink.write_eof()
                    return
                if sink.transport.is_closing():
                    return  # dropped while we read
                sink.write(data)
                await sink.drain()
                if not upstream:
                    continue
                self.bytes_upstream += len(data)
                window = tail + data
                tail = window[-64:]
                hit = next((p for p in self._patterns if p in window), None)
                if hit is not None:
                    self._patterns.remove(hit)
                    self._after_send(pipe)
                    return
                if self._byte_threshold is not None and self.bytes_upstream >= self._byte_threshold:
                    self._next_byte_threshold()
                    self._abort_all()
                    return
        except (ConnectionError, OSError, asyncio.CancelledError):
            return

    def _after_send(self, pipe: _Pipe) -> None:
        """The server got the message; the client never hears back (a lost reply)."""
        _linger_zero(pipe.client)
        pipe.client.transport.abort()
        pipe.server.close()  # a polite FIN after the flushed request: the server acts on it
        self._pipes.discard(pipe)
        self.drops += 1
        self.dropped_connections += 1
