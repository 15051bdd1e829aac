"""A small HTTP/1.1 load generator: N keep-alive connections on asyncio, each sending GETs back to back.

    from tests.benchmarks.loadgen import load
    result = load("http://127.0.0.1:5170/verify/abc", connections=8, seconds=5, headers={...})
    result.rps, result.p50, result.p99, result.statuses

One process, no dependencies: enough for a few thousand requests/s on loopback, which is what the
anchors here reach. Each connection waits for its answer before the next request (closed loop), so the
latency is what a client sees; a connection the server closes is reopened (and counted).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    requests: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    reconnects: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep-alive) after reading one whole response (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, headers.get("connection") != "close"


async def _connection(host: str, port: int, request: bytes, until: float, result: Result,
                      record_from: float) -> None:
    reader = writer = None
    while time.perf_counter() < until:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        started = time.perf_counter()
        writer.write(request)
        try:
            status, keep = await _read_response(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            reader = writer = None
            result.reconnects += 1
            continue
        done = time.perf_counter()
        if started >= record_from:
            result.requests += 1
            result.latencies_ms.append((done - started) * 1000)
            result.statuses[status] += 1
        if not keep:
            writer.close()
            reader = writer = None
            result.reconnects += 1
    if writer is not None:
        writer.close()


async def _load(url: str, connections: int, seconds: float, warmup: float, headers: dict) -> Result:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: keep-alive",
             *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    result = Result()
    start = time.perf_counter()
    record_from, until = start + warmup, start + warmup + seconds
    await asyncio.gather(*(_connection(parts.hostname, parts.port or 80, request, until, result, record_from)
                           for _ in range(connections)))
    result.seconds = time.perf_counter() - record_from
    return result


def load(url: str, connections: int = 8, seconds: float = 5.0, warmup: float = 1.0,
         headers: dict | None = None) -> Result:
    """Drive `url` with `connections` keep-alive connections for `seconds` (after `warmup`, not counted)."""
    return asyncio.run(_load(url, connections, seconds, warmup, headers or {}))
