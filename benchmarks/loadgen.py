"""A small HTTP load generator on asyncio: closed and open (Poisson) loops.

Written for ``benchmarks/serve.py`` rather than using locust or an aiohttp client: on a 2-core
machine the generator shares the cores with the server, and their per-request Python cost
(about 1 ms for a locust user, 0.2-0.3 ms for aiohttp) would be measured as server time. Here
requests are pre-encoded bytes written to keep-alive connections and only the status line and
Content-Length of each answer are parsed. Each request's latency runs from when it was *due*
(open loop: its scheduled arrival; closed loop: when its client became free) to its response, so
a server that falls behind shows its queueing delay (no coordinated omission). The event loop's
timers have 1 ms resolution, so open-loop latencies include up to about 1 ms of send lateness.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Request = tuple[str, bytes]  # (path, JSON body)


@dataclass
class Run:
    """Latencies (seconds) and statuses of one load run."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    late_starts: int = 0  # open loop: arrivals the generator itself sent > 1 ms late
    connections: int = 0  # open loop: connections it needed
    model_ms: list[float] = field(default_factory=list)  # the server's Server-Timing "model"

    def summary(self) -> dict:
        lat = np.array(self.latencies) * 1e3
        ok = sum(200 <= s < 300 for s in self.statuses)
        return {"requests": len(self.statuses), "errors": len(self.statuses) - ok,
                "throughput_rps": len(self.statuses) / self.seconds if self.seconds else 0.0,
                "p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
                "p99_ms": float(np.percentile(lat, 99)) if lat.size else None,
                "late_starts": self.late_starts, "connections": self.connections,
                "model_p50_ms": float(np.median(self.model_ms)) if self.model_ms else None,
                # per request, end to end minus the server's model time: the rest is the
                # transport, the framework and the generator (closed loop: paired exactly)
                "outside_model_p50_ms": float(np.median(
                    np.array(self.latencies[-len(self.model_ms):]) * 1e3
                    - np.array(self.model_ms))) if self.model_ms and
                len(self.model_ms) == len(self.latencies) else None}


class _Connection:
    """One keep-alive HTTP/1.1 connection that sends pre-encoded requests and reads answers
    with a Content-Length (what uvicorn sends): no per-request parsing beyond the status and
    the length, so the generator costs a few tens of microseconds per request."""

    #: uvicorn closes a connection idle for 5 s; one idle this long is not reused (no race)
    MAX_IDLE = 4.0

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last_used = time.perf_counter()

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def send(self, request: bytes) -> int:
        self.last_used = time.perf_counter()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"content-length:")
        if at >= 0:
            length = int(head[at + 15:head.index(b"\r\n", at)])
            await self.reader.readexactly(length)
        at = lower.find(b"server-timing: model;dur=")
        self.model_ms = float(head[at + 25:head.index(b"\r\n", at)]) if at >= 0 else None
        return status

    def stale(self) -> bool:
        return (self.writer.is_closing() or self.reader.at_eof()
                or time.perf_counter() - self.last_used > self.MAX_IDLE)

    def close(self) -> None:
        self.writer.close()


def encode(base: str, requests: Sequence[Request]) -> tuple[str, int, list[bytes]]:
    """(host, port, raw HTTP/1.1 requests) for ``base`` = ``http://host:port``."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    raw = [(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body for path, body in requests]
    return host, int(port), raw


async def _timed(conn: _Connection, request: bytes, run: Run, due: float) -> None:
    try:
        status = await conn.send(request)
    except (OSError, RuntimeError, asyncio.IncompleteReadError, ValueError):
        status = 599  # a refused, reset or malformed answer is an error to count
    run.latencies.append(time.perf_counter() - due)
    run.statuses.append(status)
    if getattr(conn, "model_ms", None) is not None:
        run.model_ms.append(conn.model_ms)


async def closed_loop(base: str, requests: Sequence[Request], clients: int, seconds: float
                      ) -> Run:
    """``clients`` clients, each on its own connection, sending its next request as soon as
    the last one returns."""
    host, port, raw = encode(base, requests)
    run = Run(seconds)
    conns = [await _Connection.open(host, port) for _ in range(clients)]
    end = time.perf_counter() + seconds

    async def client(c: int) -> None:
        i = c
        while time.perf_counter() < end:
            await _timed(conns[c], raw[i % len(raw)], run, time.perf_counter())
            i += clients

    try:
        await asyncio.gather(*(client(c) for c in range(clients)))
    finally:
        for conn in conns:
            conn.close()
    return run


async def open_loop(base: str, requests: Sequence[Request], rate: float, seconds: float, *,
                    seed: int = 0, during: Callable[[], object] | None = None,
                    during_at: float = 0.5) -> Run:
    """Requests sent at Poisson arrival times of mean ``rate`` per second, whatever the
    responses (each on an idle pooled connection, or a new one when none is idle);
    ``during`` (a coroutine function) runs once at ``during_at`` of the run."""
    host, port, raw = encode(base, requests)
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rate, size=int(rate * seconds * 1.2) + 10)
    arrivals = np.cumsum(gaps)
    arrivals = arrivals[arrivals < seconds]
    run = Run(seconds)
    idle: list[_Connection] = [await _Connection.open(host, port) for _ in range(8)]
    opened = [len(idle)]

    async def one(request: bytes, due: float) -> None:
        conn = None
        while idle and conn is None:
            conn = idle.pop()  # the most recently used first
            if conn.stale():  # the server closed it (idle past its keep-alive timeout)
                conn.close()
                conn = None
        if conn is None:
            conn = await _Connection.open(host, port)
            opened[0] += 1
        await _timed(conn, request, run, due)
        idle.append(conn)

    start = time.perf_counter()
    tasks = []
    side = None
    for i, at in enumerate(arrivals.tolist()):
        if during is not None and side is None and at >= seconds * during_at:
            side = asyncio.create_task(during())
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.001:
            run.late_starts += 1
        tasks.append(asyncio.create_task(one(raw[i % len(raw)], start + at)))
    await asyncio.gather(*tasks)
    if side is not None:
        await side
    for conn in idle:
        conn.close()
    run.connections = opened[0]
    return run


def run_async(coro):
    """Run ``coro`` on uvloop when it is installed (a cheaper event loop for the generator),
    with the cyclic garbage collector off: a full collection of the generator's own heap would
    stall its sending and count as server latency."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        try:
            import uvloop
        except ImportError:
            return asyncio.run(coro)
        return uvloop.run(coro)
    finally:
        gc.enable()
        gc.unfreeze()


def json_requests(path: str, bodies: Sequence[dict]) -> list[Request]:
    return [(path, json.dumps(b).encode()) for b in bodies]
