"""One client opens many /api/events streams; how long does /healthz take meanwhile?

Loopback only, a bounded number of connections. Prints how many streams the server accepted
and /healthz latencies (median and worst of 10) under the flood.

    python -m bench.sse_flood [CONNECTIONS]
"""

from __future__ import annotations

import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.support import LiveServer, make_settings


def flood(port: int, count: int) -> tuple[list[socket.socket], dict[str, int]]:
    """Open `count` SSE requests and read each status line; keep every socket open."""
    held, statuses = [], {}
    request = f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    for _ in range(count):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(request)
            line = s.recv(64).split(b"\r\n", 1)[0].decode(errors="replace")
            status = line.split(" ")[1] if line.count(" ") >= 1 else "no answer"
        except OSError as exc:
            status = type(exc).__name__
            s = None
        statuses[status] = statuses.get(status, 0) + 1
        if s is not None:
            held.append(s)
    return held, statuses


def healthz(url: str) -> list[float]:
    times = []
    for _ in range(10):
        start = time.perf_counter()
        try:
            httpx.get(url + "/healthz", timeout=10).raise_for_status()
            times.append(time.perf_counter() - start)
        except httpx.HTTPError:
            times.append(float("inf"))
    return times


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        live = LiveServer(make_settings(Path(tmp))).start()
        try:
            quiet = healthz(live.url)
            held, statuses = flood(live.settings.port, count)
            loaded = healthz(live.url)
            for s in held:
                s.close()
        finally:
            live.stop()
    print(f"{count} stream requests from one client: {statuses}")
    print(f"/healthz idle:  median {statistics.median(quiet) * 1000:.1f} ms")
    print(
        f"/healthz flood: median {statistics.median(loaded) * 1000:.1f} ms, "
        f"worst {max(loaded) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
