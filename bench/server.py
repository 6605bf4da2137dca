"""Server budgets with 1,000 approved stories, each against a baseline measured in the same run.

- cold start: process start -> first /api/playlist with all slides (budget ≤ 3 s), and proof that no
  image was rendered again (the media folder is byte-for-byte the same);
- memory: RSS of the server with 1,000 approved stories and 50 screens on SSE (budget ≤ 90 MB);
- throughput: /api/playlist (200 and 304) and /media against a minimal FastAPI app that serves a
  static JSON of the same size (the framework's ceiling on this machine).

    .venv/bin/python -m bench.server [--stories 1000] [--screens 50] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

from kiosk.library import Library
from tests.factories import jpeg, story
from tests.support import free_port

REPO = Path(__file__).resolve().parents[1]


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def serve(content: Path, data: Path, port: int) -> subprocess.Popen:
    cmd = ["-m", "kiosk.cli", "serve", "--content-dir", str(content), "--data-dir", str(data)]
    return start([*cmd, "--port", str(port)], {"KIOSK_LOG_LEVEL": "warning"})


def wait_http(url: str, ok=lambda r: r.status_code == 200, timeout: float = 120) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=5)
            if ok(r):
                return r
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    raise TimeoutError(url)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def seed(folder: Path, stories: int) -> tuple[Path, Path]:
    """A content and data folder with `stories` ingested and approved stories."""
    content, data = folder / "content", folder / "data"
    content.mkdir()
    for i in range(stories):
        (content / f"p{i:04}.jpg").write_bytes(jpeg(480, 600, color=(i % 256, (i * 7) % 256, 99)))
        (content / f"p{i:04}.md").write_text(story(f"Person {i}", role="Swing-shift foreman"))
    port = free_port()
    proc = serve(content, data, port)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        db = data / "kiosk.db"
        lib = Library(db)
        deadline = time.monotonic() + 600
        while lib.counts()["pending"] < stories and time.monotonic() < deadline:
            time.sleep(0.5)
        for sub in lib.submissions("pending"):
            lib.approve(sub["id"], "bench")
        lib.close()
    finally:
        proc.terminate()
        proc.wait()
    return content, data


def _ids(playlist: httpx.Response) -> set[int]:
    return {s["id"] for s in playlist.json()["slides"]}


def media_state(data: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (data / "media").iterdir()}


def cold_start(content: Path, data: Path, stories: int) -> dict[str, object]:
    before = media_state(data)
    port = free_port()
    t0 = time.perf_counter()
    proc = serve(content, data, port)
    try:
        url = f"http://127.0.0.1:{port}/api/playlist"
        # distinct stories: just approved, each is fresh and plays twice a rotation
        wait_http(url, lambda r: r.status_code == 200 and len(_ids(r)) == stories)
        seconds = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait()
    after = media_state(data)
    return {"seconds": seconds, "rerendered": sum(after.get(k) != v for k, v in before.items())
            + len(set(after) - set(before))}  # fmt: skip


async def _sse_clients(url: str, n: int, connected: asyncio.Event, done: asyncio.Event) -> None:
    async with httpx.AsyncClient(timeout=None) as client:
        ready = 0

        async def one(i: int) -> None:
            nonlocal ready
            async with client.stream("GET", f"{url}/api/events?screen=s{i}") as r:
                ready += 1
                if ready == n:
                    connected.set()
                async for _ in r.aiter_lines():
                    if done.is_set():
                        return

        tasks = [asyncio.create_task(one(i)) for i in range(n)]
        await done.wait()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def memory(content: Path, data: Path, screens: int) -> dict[str, float]:
    port = free_port()
    proc = serve(content, data, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/playlist")
        idle = rss_mb(proc.pid)

        async def measure() -> float:
            connected, done = asyncio.Event(), asyncio.Event()
            task = asyncio.create_task(_sse_clients(url, screens, connected, done))
            await asyncio.wait_for(connected.wait(), 60)
            async with httpx.AsyncClient() as client:
                for _ in range(20):  # a few playlist fetches, as screens do
                    await client.get(f"{url}/api/playlist")
            await asyncio.sleep(1)
            value = rss_mb(proc.pid)
            done.set()
            await task
            return value

        busy = asyncio.run(measure())
    finally:
        proc.terminate()
        proc.wait()
    return {"idle_mb": idle, "with_screens_mb": busy}


async def _hammer(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> float:
    count = 0
    stop = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal count
        while time.perf_counter() < stop:
            r = await client.get(url, headers=headers)
            assert r.status_code in (200, 304), r.status_code
            count += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return count / seconds


BASELINE_APP = textwrap.dedent(
    """
    import os
    from fastapi import FastAPI, Response
    body = open(os.environ["BASELINE_BODY"], "rb").read()
    app = FastAPI()

    @app.get("/static.json")
    def static():
        return Response(body, media_type="application/json")
    """
)


def throughput(content: Path, data: Path, seconds: float) -> list[dict[str, object]]:
    port = free_port()
    proc = serve(content, data, port)
    url = f"http://127.0.0.1:{port}"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            first = wait_http(f"{url}/api/playlist")
            etag = first.headers["etag"]
            image = first.json()["slides"][0]["image"]
            body = Path(tmp) / "playlist.json"
            body.write_bytes(first.content)
            (Path(tmp) / "baseline.py").write_text(BASELINE_APP)
            bport = free_port()
            base = start(["-m", "uvicorn", "--app-dir", tmp, "baseline:app", "--port", str(bport),
                          "--log-level", "warning"], {"BASELINE_BODY": str(body)})  # fmt: skip
            try:
                wait_http(f"http://127.0.0.1:{bport}/static.json")
                playlist = f"{url}/api/playlist"
                targets = [
                    (
                        "baseline: same JSON, minimal FastAPI",
                        f"http://127.0.0.1:{bport}/static.json",
                        {},
                    ),
                    ("/api/playlist 200", playlist, {}),
                    ("/api/playlist 304 (If-None-Match)", playlist, {"If-None-Match": etag}),
                    ("/media rendition", f"{url}{image}", {}),
                ]
                for label, target, headers in targets:
                    rps = asyncio.run(_hammer(target, headers, seconds, 16))
                    rows.append({"what": label, "rps": rps})
            finally:
                base.terminate()
                base.wait()
        finally:
            proc.terminate()
            proc.wait()
    base_rps = rows[0]["rps"]
    for row in rows:
        row["vs_baseline"] = row["rps"] / base_rps
    rows.insert(0, {"what": f"playlist size {len(first.content) // 1024} KB", "rps": None})
    return rows


def run(stories: int = 1000, screens: int = 50, seconds: float = 3.0) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        content, data = seed(Path(tmp), stories)
        return {
            "stories": stories,
            "screens": screens,
            "cold_start": cold_start(content, data, stories),
            "memory": memory(content, data, screens),
            "throughput": throughput(content, data, seconds),
        }


def table(result: dict[str, object]) -> str:
    cs, mem = result["cold_start"], result["memory"]
    lines = [
        "| measure | value | budget | met? |",
        "|---|---:|---|---|",
        f"| cold start, {result['stories']} stories → first full playlist | {cs['seconds']:.2f} s "
        f"| ≤ 3 s | {'yes' if cs['seconds'] <= 3 else 'NO'} |",
        f"| images rendered again at cold start | {cs['rerendered']} | 0 "
        f"| {'yes' if cs['rerendered'] == 0 else 'NO'} |",
        f"| RSS idle, {result['stories']} approved | {mem['idle_mb']:.1f} MB | — | — |",
        f"| RSS with {result['screens']} screens on SSE | {mem['with_screens_mb']:.1f} MB "
        f"| ≤ 90 MB | {'yes' if mem['with_screens_mb'] <= 90 else 'NO'} |",
        "",
        "| throughput (16 connections, Python client) | req/s | × baseline |",
        "|---|---:|---:|",
    ]
    for row in result["throughput"]:
        if row["rps"] is None:
            lines.append(f"| {row['what']} | | |")
        else:
            lines.append(f"| {row['what']} | {row['rps']:.0f} | {row['vs_baseline']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=1000)
    parser.add_argument("--screens", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput target")
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    result = run(args.stories, args.screens, args.seconds)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
