"""What one moderator decision costs at 100, 1,000 and 10,000 approved stories, 50 screens on SSE.

For each size: a real content folder and SQLite file seeded directly (the stories' files are on
the share, so the server's start-up reconciliation finds nothing to do), a real `kiosk serve`
on loopback, 50 screens as SSE clients that behave as player.js does after a `playlist` event
(fetch the playlist with the ETag and version they have, then every slide they do not have),
and a series of approvals of pending stories through the admin API. Measured:

- approve -> `playlist` event at each screen, p95 over screens × decisions (budget ≤ 200 ms);
- server CPU per decision (the process's utime + stime from /proc/PID/stat from the approval
  to every event sent and the debounced `_status.txt` rewrite done; budget ≤ 50 ms), and apart
  from it the CPU of serving what the 50 screens then fetch;
- bytes a screen fetches per decision (response bodies: playlist + new slides; budget ≤ 50 KB);
- the full playlist's size, and the CPU of a first `_status.txt` write (everything, as at start-up).

Each figure is shown beside the same figure at 100 stories.

    .venv/bin/python -m bench.decision [--sizes 100 1000 10000] [--decisions 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from bench.server import serve, wait_http
from kiosk.ingest.pipeline import Prepared
from kiosk.ingest.scan import Scanner
from kiosk.ingest.story import read_story
from kiosk.library import Library
from kiosk.schedule import iso_utc, utcnow
from kiosk.settings import load
from kiosk.status_file import StatusFile
from tests.factories import jpeg, story
from tests.support import free_port

REPO = Path(__file__).resolve().parents[1]
SCREENS = 50
BUDGET_EVENT_MS, BUDGET_CPU_MS, BUDGET_BYTES = 200.0, 50.0, 50 * 1024
# About 70 words, as the measurements assumed.
BODY = (
    "{name} has run the swing shift on line four for eleven years. When the press jammed in "
    "March, {name} stayed until two in the morning with the maintenance crew, and the order "
    "for our biggest customer shipped on time. New hires say {name} explains the machines "
    "better than the manual does, and the coffee in the break room is better since then too. "
    "Thank you for keeping the line running."
)
TICK = os.sysconf("SC_CLK_TCK")


# ---- seeding -------------------------------------------------------------------------------
def seed(folder: Path, approved: int, pending: int) -> tuple[Path, Path]:
    """A content folder with `approved + pending` stories and a data folder whose SQLite file
    already holds them, as if ingested (and the first `approved` approved 60 days ago)."""
    content, data = folder / "content", folder / "data"
    media = data / "media"
    media.mkdir(parents=True)
    content.mkdir()
    photo = content / "_photo.jpg"  # `_` names are the kiosk's own: never a story
    photo.write_bytes(jpeg(480, 600))
    rendition = media / "rendition.jpg"
    rendition.write_bytes(jpeg(480, 600))
    total = approved + pending
    for i in range(total):
        (content / f"p{i:05}.md").write_text(story(f"Person {i}", BODY.format(name=f"Person {i}")))
        os.link(photo, content / f"p{i:05}.jpg")
    Library(data / "kiosk.db").close()  # the schema
    entries = sorted(Scanner(content, 64 * 1024).scan().entries, key=lambda e: e.source)
    long_ago = iso_utc(utcnow() - timedelta(days=60), "milliseconds")
    db = sqlite3.connect(data / "kiosk.db")
    with db:
        for i, entry in enumerate(entries):
            image = f"{i:05}{'0' * 59}-1920.jpg"  # a content-hash name, as ingest writes
            os.link(rendition, media / image)
            prepared = Prepared(entry, read_story(entry, 64 * 1024), None)
            state = "approved" if i < approved else "pending"
            cur = db.execute(
                "INSERT INTO submissions (source, status, fingerprint, position, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (entry.source, state, entry.fingerprint, i + 1, long_ago, long_ago),
            )
            sid = cur.lastrowid
            cur = db.execute(
                "INSERT INTO revisions (submission_id, hash, status, fields, body, html,"
                " text_path, photo_path, photo_hash, image, thumbnail, width, height,"
                " created_at, decided_by, decided_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    sid, prepared.revision_hash + f"{i}", state,
                    json.dumps(prepared.fields()), prepared.story.body, prepared.story.html,
                    entry.source, entry.source[:-3] + ".jpg", f"{i}", image, image, 480, 600,
                    long_ago, "bench" if i < approved else None, long_ago if i < approved else None,
                ),
            )  # fmt: skip
            rid = cur.lastrowid
            current = rid if i < approved else None
            db.execute(
                "UPDATE submissions SET latest_revision=?, current_revision=? WHERE id=?",
                (rid, current, sid),
            )
            if i < approved:
                db.execute(
                    "INSERT INTO audit (at, actor, action, submission_id, revision_id)"
                    " VALUES (?, 'bench', 'approve', ?, ?)",
                    (long_ago, sid, rid),
                )
    db.close()
    return content, data


def token(content: Path, data: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "token", "create", "bench",
         "--content-dir", str(content), "--data-dir", str(data)],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    return done.stdout.split()[-1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def status_render_ms(content: Path, data: Path) -> float:
    """The CPU of a first `_status.txt` write at this size (all of it, as at start-up)."""
    settings = load(overrides={"content_dir": content, "data_dir": data}, environ={})
    library = Library(settings.db_path)
    try:
        status = StatusFile(settings, library)
        t0 = time.process_time()
        status.write()
        return (time.process_time() - t0) * 1000
    finally:
        library.close()


# ---- screens -------------------------------------------------------------------------------
class Screen:
    """One SSE client that fetches what player.js fetches after a `playlist` event."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.etag: str | None = None
        self.version: str | None = None
        self.slides: list[dict] = []
        self.have: set[str] = set()  # slide hashes it holds
        self.events: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
        self.fetched = 0  # bytes of response bodies

    async def listen(self, client: httpx.AsyncClient, connected: asyncio.Event) -> None:
        async with client.stream("GET", f"/api/events?screen={self.name}") as r:
            connected.set()
            event = ""
            async for line in r.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "playlist":
                    version = json.loads(line.split(":", 1)[1])["version"]
                    self.events.put_nowait((version, time.perf_counter()))

    async def catch_up(self, client: httpx.AsyncClient) -> None:
        params = {"screen": self.name}
        if self.version:
            params["since"] = self.version
        headers = {"If-None-Match": self.etag} if self.etag else {}
        r = await client.get("/api/playlist", params=params, headers=headers)
        self.fetched += len(r.content)
        if r.status_code == 304:
            return
        playlist = r.json()
        self.etag, self.version = r.headers["etag"], playlist["version"]
        if "changes" in playlist:
            slides, at = [], 0
            for start, removed, added in playlist["changes"]:
                slides += self.slides[at:start] + added
                at = start + removed
            self.slides = slides + self.slides[at:]
        else:
            self.slides = playlist["slides"]
        for ref in self.slides:
            if "hash" in ref and ref["hash"] not in self.have:
                s = await client.get(f"/api/slides/{ref['hash']}")
                s.raise_for_status()
                self.fetched += len(s.content)
                self.have.add(ref["hash"])


async def decide(url: str, pid: int, auth: str, pending: list[int]) -> dict[str, object]:
    """Approve each of `pending` in turn; the figures of this series."""
    limits = httpx.Limits(max_connections=SCREENS * 2 + 4)
    timeout = httpx.Timeout(60, read=None)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:
        screens = [Screen(f"s{i}") for i in range(SCREENS)]
        ready = [asyncio.Event() for _ in screens]
        pairs = zip(screens, ready, strict=True)
        tasks = [asyncio.create_task(s.listen(client, e)) for s, e in pairs]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), 120)
        for s in screens:
            await s.events.get()  # the version on connecting
        # As a screen starts: one fetches everything, the others (alike) start with a copy.
        await screens[0].catch_up(client)
        for s in screens[1:]:
            s.etag, s.version, s.slides, s.have = (
                screens[0].etag,
                screens[0].version,
                screens[0].slides,
                set(screens[0].have),
            )
        full = len((await client.get("/api/playlist")).content)
        await asyncio.sleep(1)  # let the start-up settle (status file, consent sweep)
        latencies: list[float] = []
        per_screen: list[int] = []
        cpu = fetch_cpu = 0.0
        for sid in pending:
            before = [s.fetched for s in screens]
            c0 = cpu_seconds(pid)
            t0 = time.perf_counter()
            r = await client.post(
                f"/api/admin/submissions/{sid}/approve", headers={"Authorization": f"Bearer {auth}"}
            )
            r.raise_for_status()
            arrivals = await asyncio.gather(
                *(asyncio.wait_for(s.events.get(), 30) for s in screens)
            )
            latencies += [(at - t0) * 1000 for _, at in arrivals]
            await asyncio.sleep(0.6)  # past the status file's debounce: its write counts too
            c1 = cpu_seconds(pid)
            cpu += c1 - c0
            await asyncio.gather(*(s.catch_up(client) for s in screens))
            fetch_cpu += cpu_seconds(pid) - c1
            per_screen += [s.fetched - b for s, b in zip(screens, before, strict=True)]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    latencies.sort()
    return {
        "event_p95_ms": latencies[int(len(latencies) * 0.95) - 1],
        "cpu_ms": cpu / len(pending) * 1000,
        "fetch_cpu_ms": fetch_cpu / len(pending) * 1000,
        "bytes_per_screen": sum(per_screen) / len(per_screen),
        "playlist_bytes": full,
    }


def run_size(stories: int, decisions: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        t0 = time.perf_counter()
        content, data = seed(Path(tmp), stories, decisions)
        seeded = time.perf_counter() - t0
        auth = token(content, data)
        port = free_port()
        proc = serve(content, data, port)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{url}/api/playlist", lambda r: r.status_code == 200, timeout=300)
            pending = list(range(stories + 1, stories + decisions + 1))
            result = asyncio.run(decide(url, proc.pid, auth, pending))
        finally:
            proc.terminate()
            proc.wait()
        return result | {
            "stories": stories,
            "status_render_ms": status_render_ms(content, data),
            "seed_s": seeded,
        }


def table(results: list[dict[str, object]]) -> str:
    base = results[0]

    def cell(r: dict, key: str, fmt: str, budget: float | None) -> str:
        value, ref = r[key], base[key]
        met = "" if budget is None else (" ✓" if value <= budget else " ✗")
        ratio = f" ({value / ref:.1f}×)" if r is not base and ref else ""
        return f"{fmt.format(value)}{ratio}{met}"

    lines = [
        f"| approved stories | approve → event p95 (≤ {BUDGET_EVENT_MS:.0f} ms) "
        f"| server CPU per decision (≤ {BUDGET_CPU_MS:.0f} ms) "
        f"| CPU serving {SCREENS} screens' fetches "
        f"| bytes per screen per decision (≤ {BUDGET_BYTES // 1024} KB) | playlist size "
        "| `_status.txt` first write, CPU |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['stories']:,} "
            f"| {cell(r, 'event_p95_ms', '{:.0f} ms', BUDGET_EVENT_MS)} "
            f"| {cell(r, 'cpu_ms', '{:.0f} ms', BUDGET_CPU_MS)} "
            f"| {cell(r, 'fetch_cpu_ms', '{:.0f} ms', None)} "
            f"| {cell(r, 'bytes_per_screen', '{:,.0f} B', BUDGET_BYTES)} "
            f"| {cell(r, 'playlist_bytes', '{:,.0f} B', None)} "
            f"| {cell(r, 'status_render_ms', '{:.0f} ms', None)} |"
        )
    lines.append(
        f"\n(n×): over the same figure at {base['stories']:,} stories; "
        f"{SCREENS} screens on SSE, {base['decisions']} decisions per size."
    )
    return "\n".join(lines)


def run(sizes: list[int], decisions: int = 10) -> list[dict[str, object]]:
    results = []
    for size in sizes:
        result = run_size(size, decisions) | {"decisions": decisions}
        print(json.dumps(result), file=sys.stderr, flush=True)
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--decisions", type=int, default=10)
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    results = run(args.sizes, args.decisions)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
