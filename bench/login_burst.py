"""A burst of wrong sign-ins against a real `kiosk serve` with the production argon2 costs: the
server's peak memory (VmHWM), how the burst was answered, and /api/playlist latency meanwhile.

    .venv/bin/python -m bench.login_burst [--logins 40] [--addresses 1]

The server is a child process, so its /proc/PID/status is its own; `--addresses N` spreads the
burst over N loopback source addresses (127.0.0.2 …), as a flood from many machines would.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.support import free_port, peak_rss_mb, wait_for


async def burst(url: str, logins: int, addresses: int) -> collections.Counter[int]:
    clients = [
        httpx.AsyncClient(
            base_url=url,
            timeout=120,
            transport=httpx.AsyncHTTPTransport(local_address=f"127.0.0.{2 + i}"),
        )
        for i in range(addresses)
    ]
    guesses = [
        clients[i % addresses].post(
            "/api/admin/login", json={"username": "admin", "password": f"guess number {i}"}
        )
        for i in range(logins)
    ]
    answers = await asyncio.gather(*guesses)
    for client in clients:
        await client.aclose()
    return collections.Counter(a.status_code for a in answers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--addresses", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        (Path(tmp) / "content").mkdir()
        server = subprocess.Popen(
            [sys.executable, "-c", "from kiosk.cli import main; main()", "serve", "--port",
             str(port), "--content-dir", f"{tmp}/content", "--data-dir", f"{tmp}/data"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _answers(url + "/healthz"), timeout=60, interval=0.2)
            before = peak_rss_mb(server.pid)
            latencies: list[float] = []
            done = threading.Event()

            def poll() -> None:
                with httpx.Client(base_url=url, timeout=60) as client:
                    while not done.is_set():
                        start = time.perf_counter()
                        client.get("/api/playlist")
                        latencies.append(time.perf_counter() - start)
                        done.wait(0.05)

            poller = threading.Thread(target=poll)
            poller.start()
            start = time.perf_counter()
            answers = asyncio.run(burst(url, args.logins, args.addresses))
            took = time.perf_counter() - start
            done.set()
            poller.join()
            after = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"{args.logins} wrong sign-ins from {args.addresses} address(es) in {took:.1f} s: "
        f"answers {dict(sorted(answers.items()))}; peak RSS {before:.0f} MB before, "
        f"{after:.0f} MB after the burst; /api/playlist during it: max "
        f"{max(latencies) * 1000:.0f} ms over {len(latencies)} requests"
    )
    return 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    sys.exit(main())
