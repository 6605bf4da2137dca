"""Load: 200 screens on SSE while a moderator approves 100 stories in a row, then keeps approving
and retiring. No error, no screen misses a change, memory flat. Real server process, real HTTP.

CI runs a 20 s phase of pinning and unpinning; KIOSK_LONG_TESTS=1 runs it for 5 minutes."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from .factories import jpeg, story
from .support import LONG_TESTS, free_port, wait_for

REPO = Path(__file__).resolve().parent.parent
SCREENS = 200


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(text.split("VmRSS:")[1].split()[0]) / 1024


class Screens:
    """SSE clients in their own thread and event loop, recording every version they receive."""

    def __init__(self, url: str, n: int) -> None:
        self.url, self.n = url, n
        self.seen: list[set[str]] = [set() for _ in range(n)]
        self.connected = 0
        self.errors: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),))
        self._stop: asyncio.Event | None = None

    async def _one(self, client: httpx.AsyncClient, i: int) -> None:
        try:
            async with client.stream("GET", f"{self.url}/api/events?screen=screen{i}") as r:
                self.connected += 1
                event = None
                async for line in r.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "playlist":
                        self.seen[i].add(json.loads(line[5:])["version"])
        except (httpx.HTTPError, asyncio.CancelledError) as exc:
            if not self._stop.is_set():
                self.errors.append(f"screen{i}: {exc!r}")

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        limits = httpx.Limits(max_connections=self.n + 10)
        async with httpx.AsyncClient(timeout=None, limits=limits) as client:
            tasks = [asyncio.create_task(self._one(client, i)) for i in range(self.n)]
            await self._stop.wait()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def start(self) -> None:
        self.thread.start()
        wait_for(lambda: self.connected == self.n, timeout=60)

    def stop(self) -> None:
        if self._stop is not None:  # it started
            self.loop.call_soon_threadsafe(self._stop.set)
            self.thread.join(timeout=30)

    def all_have(self, version: str) -> bool:
        return all(version in s for s in self.seen)


@pytest.mark.timeout(1200)  # the KIOSK_LONG_TESTS variant runs for minutes
def test_200_screens_while_a_moderator_approves(tmp_path: Path) -> None:
    content, data = tmp_path / "content", tmp_path / "data"
    content.mkdir()
    for i in range(100):
        (content / f"p{i:03}.jpg").write_bytes(jpeg(300, 400, color=(i, 100, 200 - i)))
        (content / f"p{i:03}.md").write_text(story(f"Person {i}", role="Dispatcher"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "KIOSK_SETTLE_SECONDS": "0.1"}
    env["KIOSK_SCREENS_PER_ADDRESS"] = "256"  # all 200 screens come from this one address
    kiosk = [sys.executable, "-m", "kiosk.cli"]
    folders = ["--content-dir", str(content), "--data-dir", str(data)]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [*kiosk, "serve", *folders, "--port", str(port)],
        env={**env, "KIOSK_LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    screens = Screens(url, SCREENS)
    try:
        wait_for(lambda: _get(f"{url}/healthz"), timeout=30)
        token = subprocess.run(
            [*kiosk, "token", "create", "load-test", *folders],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

        def pending() -> list[dict]:
            params = {"status": "pending", "limit": 200}  # one page holds all 100
            return api.get("/api/admin/submissions", params=params).json()["submissions"]

        wait_for(lambda: len(pending()) == 100, timeout=120, interval=0.5)
        ids = [s["id"] for s in pending()]
        screens.start()

        def decide(method: str, path: str, body: dict | None = None) -> float:
            """One moderator action; seconds until all 200 screens were told."""
            t0 = time.perf_counter()
            r = api.request(method, f"/api/admin/submissions/{path}", json=body)
            assert r.status_code == 200, r.text
            version = httpx.get(f"{url}/api/playlist?screen=screen0").json()["version"]
            wait_for(lambda: screens.all_have(version), timeout=10, interval=0.01)
            return time.perf_counter() - t0

        fan_out = [decide("POST", f"{sid}/approve") for sid in ids]
        rss_start = rss_mb(proc.pid)
        churn_until = time.monotonic() + (300 if LONG_TESTS else 20)
        n = 0
        while time.monotonic() < churn_until:
            # Pin and unpin in turn: each changes what every screen shows first.
            fan_out.append(decide("PATCH", str(ids[n % len(ids)]), {"pinned": n % 2 == 0}))
            n += 1
        rss_end = rss_mb(proc.pid)

        assert screens.errors == []
        assert proc.poll() is None
        fan_out.sort()
        p95 = fan_out[int(0.95 * len(fan_out)) - 1]
        print(
            f"\n{SCREENS} screens, {len(fan_out)} decisions: all screens told in p50 "
            f"{statistics.median(fan_out) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; "
            f"RSS {rss_start:.1f} -> {rss_end:.1f} MB"
        )
        assert p95 < 1.0  # DESIGN: an approval reaches all 200 screens within 1 s
        assert rss_end - rss_start < 10, "memory grew under steady load"
    finally:
        screens.stop()
        proc.terminate()
        proc.wait(timeout=30)


def _get(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
