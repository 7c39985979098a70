"""The load generator: keep-alive HTTP/1.1 clients in their own process, so the client's CPU is not the web
server's.

The client is a few lines over asyncio streams rather than httpx: per request it costs a fraction of what
the server spends, so on a 2-core machine the figure measures the server. Two shapes:

* closed loop — ``concurrency`` connections, each sends its next request as soon as the last answered
  (throughput; latency from send to full answer);
* open loop — requests scheduled at a fixed rate whatever the answers do; latency runs from the scheduled
  instant, so a stalled server shows up in the percentiles instead of slowing the schedule down.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    body: bytes = b""
    forwarded_for: str = ""  # the phone's address as a reverse proxy would pass it


@dataclass
class LoadResult:
    sent: int = 0
    ok: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0  # the load generator's own CPU time: it must stay well below the server's
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    matches: list[tuple[str, ...] | None] = field(default_factory=list)  # ``expect`` groups per request

    @property
    def per_s(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


class HttpConnection:
    """One keep-alive connection; requests on it are sequential."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, req: Req) -> tuple[int, bytes]:
        if self.writer is None:
            await self._open()
        assert self.reader is not None and self.writer is not None
        head = f"{req.method} {req.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if req.forwarded_for:
            head += f"X-Forwarded-For: {req.forwarded_for}\r\n"
        if req.method == "POST":
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(req.body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + req.body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.lower() == "close":
                close = True
        body = await self._chunked() if chunked else await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, body

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while size := int((await self.reader.readline()).split(b";")[0], 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        await self.reader.readline()
        return b"".join(parts)


async def _one(conn: HttpConnection, req: Req, pattern: re.Pattern[bytes] | None, result: LoadResult,
               index: int, began: float) -> None:
    try:
        status, body = await conn.request(req)
    except (OSError, ValueError, asyncio.IncompleteReadError):
        await conn.close()
        status, body = 599, b""
    result.latencies_ms.append((time.perf_counter() - began) * 1000)
    result.statuses[status] = result.statuses.get(status, 0) + 1
    match = pattern.search(body) if pattern is not None and status < 400 else None
    if pattern is not None:
        result.matches[index] = tuple(g.decode() for g in match.groups()) if match else None
    if status < 400 and (pattern is None or match is not None):
        result.ok += 1


async def closed_loop(host: str, port: int, reqs: list[Req], concurrency: int, expect: str | None = None
                      ) -> LoadResult:
    result = LoadResult(sent=len(reqs), matches=[None] * len(reqs))
    pattern = re.compile(expect.encode(), re.S) if expect else None
    conns = [HttpConnection(host, port) for _ in range(concurrency)]
    for conn in conns:
        await conn._open()  # connecting is not part of the timed work
    cursor = iter(range(len(reqs)))

    async def client(conn: HttpConnection) -> None:
        for index in cursor:
            await _one(conn, reqs[index], pattern, result, index, time.perf_counter())

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client(c) for c in conns))
    result.seconds = time.perf_counter() - started
    result.cpu_s = time.process_time() - cpu
    for conn in conns:
        await conn.close()
    return result


async def open_loop(host: str, port: int, reqs: list[Req], rate: float, max_connections: int = 256,
                    expect: str | None = None) -> LoadResult:
    """Send ``reqs`` at ``rate`` per second; a request waits for a free connection (counted in latency)."""
    result = LoadResult(sent=len(reqs), matches=[None] * len(reqs))
    pattern = re.compile(expect.encode(), re.S) if expect else None
    idle: asyncio.Queue[HttpConnection] = asyncio.Queue()
    for _ in range(max_connections):
        conn = HttpConnection(host, port)
        await conn._open()
        idle.put_nowait(conn)

    async def fire(index: int, scheduled: float) -> None:
        conn = await idle.get()
        try:
            await _one(conn, reqs[index], pattern, result, index, scheduled)
        finally:
            idle.put_nowait(conn)

    started, cpu = time.perf_counter(), time.process_time()
    tasks = []
    for index in range(len(reqs)):
        scheduled = started + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(index, scheduled)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - started
    result.cpu_s = time.process_time() - cpu
    while not idle.empty():
        await idle.get_nowait().close()
    return result


def _entry(kind: str, kwargs: dict[str, Any]) -> LoadResult:
    runner = closed_loop if kind == "closed" else open_loop
    return asyncio.run(runner(**kwargs))


class LoadProcess:
    """One child process (spawned, not forked) that runs load phases one after another."""

    def __enter__(self) -> LoadProcess:
        self._pool = multiprocessing.get_context("spawn").Pool(1)
        return self

    def run(self, kind: str, **kwargs: Any) -> LoadResult:
        """A closed (``kind="closed"``) or open loop with ``kwargs``, run in the child."""
        return self._pool.apply(_entry, (kind, kwargs))

    def __exit__(self, *exc: object) -> None:
        self._pool.close()
        self._pool.join()


def in_process(kind: str, **kwargs: Any) -> LoadResult:
    """One loop in a fresh child process."""
    with LoadProcess() as process:
        return process.run(kind, **kwargs)
