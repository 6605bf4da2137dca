"""The admin page at 100 / 1,000 / 10,000 pending stories (DESIGN budgets; issue 14 item 2).

For each size: the stories are written straight into a real SQLite file and content folder
(tests.factories.seed_pending), a real `kiosk serve` starts on them, and headless Chromium
opens /admin signed in. Measured:

- usable: ms from navigation until the first card's Approve button is in the window and
  clickable (the browser's own clock); the first visit after the server started, and the median
  of three more (a moderator's browser and server are warm);
- the first screenful: bytes transferred (CDP encodedDataLength: headers and gzip included),
  requests, and photos fetched, until the photos in sight are in;
- SQL statements per list page (sqlite3 trace callback, in this process, on `library.page` as
  the route calls it) and its time; the page's size on the wire; the 304 answer's time;
- approve: round-trip time of POST .../approve over loopback with keep-alive (the server's
  time is less), median and worst of 20;
- RSS of the server process after all that.

The 100-story row is the baseline; budgets are beside each figure.

    .venv/bin/python -m bench.admin_scale [--sizes 100,1000,10000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.server import rss_mb, serve, wait_http
from kiosk.auth import Auth
from kiosk.library import Library
from kiosk.model import Status
from tests.factories import seed_pending
from tests.support import (
    CHEAP_HASHER,
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    first_screenful,
    free_port,
    make_settings,
)

BUDGETS = {"usable_ms": 1000, "kb": 100, "sql": 1, "approve_ms": 50}


def sql_per_page(db: Path) -> dict[str, float]:
    """Statements and ms for the first two pages of the pending list, as the route reads them."""
    library = Library(db)
    statements: list[str] = []
    library._reader.set_trace_callback(statements.append)
    try:
        t0 = time.perf_counter()
        first = library.page(status=Status.PENDING, limit=50)
        first_ms = (time.perf_counter() - t0) * 1000
        counted = len(statements)
        library.page(status=Status.PENDING, limit=50, after=first.next)
        return {"sql": max(counted, len(statements) - counted), "page_ms": first_ms}
    finally:
        library.close()


def measure(size: int, browser) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp))
        t0 = time.perf_counter()
        seed_pending(settings, size)
        seeded = time.perf_counter() - t0
        library = Library(settings.db_path)
        Auth(settings, library, hasher=CHEAP_HASHER).add_user("mod", "moderator", PASSWORD, "b")
        library.close()
        result: dict[str, float] = {"stories": size, "seed_s": seeded}
        result |= sql_per_page(settings.db_path)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = serve(settings.content_dir, settings.data_dir, port)
        try:
            wait_http(f"{url}/healthz")
            with httpx.Client(base_url=url, timeout=30) as client:
                login = client.post(
                    "/api/admin/login", json={"username": "mod", "password": PASSWORD}
                )
                client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
                session = client.cookies["kiosk_session"]
                visits = [first_screenful(browser, url, session) for _ in range(4)]
                result |= {
                    "cold_ms": visits[0]["usable_ms"],
                    "usable_ms": statistics.median(v["usable_ms"] for v in visits[1:]),
                    "kb": max(v["bytes"] for v in visits) / 1000,
                    "requests": max(v["requests"] for v in visits),
                    "photos": max(v["photos"] for v in visits),
                }
                page = client.get("/api/admin/submissions", params={"status": "pending"})
                result["page_kb"] = int(page.headers.get("content-length", 0)) / 1000
                t0 = time.perf_counter()
                again = client.get(
                    "/api/admin/submissions",
                    params={"status": "pending"},
                    headers={"If-None-Match": page.headers["etag"]},
                )
                result["not_modified_ms"] = (time.perf_counter() - t0) * 1000
                assert again.status_code == 304
                times = []
                for sub in page.json()["submissions"][:20]:
                    t0 = time.perf_counter()
                    answer = client.post(f"/api/admin/submissions/{sub['id']}/approve")
                    times.append((time.perf_counter() - t0) * 1000)
                    assert answer.status_code == 200, answer.text
                result["approve_ms"] = statistics.median(times)
                result["approve_max_ms"] = max(times)
            result["rss_mb"] = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait()
        return result


def table(rows: list[dict[str, float]]) -> str:
    base = rows[0]
    lines = [
        "| pending | seed | usable (warm) | usable (cold) | first screenful | requests | photos "
        "| SQL/page | page (in-process) | page on the wire | 304 | approve p50 / max | RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def ok(value: float, budget: float) -> str:
        return "✓" if value <= budget else "✗"

    for r in rows:
        lines.append(
            f"| {r['stories']:,} | {r['seed_s']:.1f} s "
            f"| {r['usable_ms']:.0f} ms {ok(r['usable_ms'], BUDGETS['usable_ms'])} "
            f"| {r['cold_ms']:.0f} ms "
            f"| {r['kb']:.1f} KB {ok(r['kb'], BUDGETS['kb'])} | {r['requests']:.0f} "
            f"| {r['photos']:.0f} | {r['sql']:.0f} {ok(r['sql'], BUDGETS['sql'])} "
            f"| {r['page_ms']:.1f} ms | {r['page_kb']:.1f} KB gz | {r['not_modified_ms']:.1f} ms "
            f"| {r['approve_ms']:.1f} / {r['approve_max_ms']:.1f} ms "
            f"{ok(r['approve_max_ms'], BUDGETS['approve_ms'])} | {r['rss_mb']:.0f} MB |"
        )
    lines.append(
        f"| budget | | ≤ {BUDGETS['usable_ms']} ms | | ≤ {BUDGETS['kb']} KB | | | "
        f"{BUDGETS['sql']} | | | | ≤ {BUDGETS['approve_ms']} ms | |"
    )
    growth = rows[-1]
    lines.append(
        f"\nBaseline {base['stories']:,} → {growth['stories']:,}: usable ×"
        f"{growth['usable_ms'] / base['usable_ms']:.2f}, bytes ×{growth['kb'] / base['kb']:.2f}, "
        f"page ×{growth['page_ms'] / base['page_ms']:.2f}, approve ×"
        f"{growth['approve_ms'] / base['approve_ms']:.2f}."
    )
    return "\n".join(lines)


def run(sizes: list[int]) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            return [measure(size, browser) for size in sizes]
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = run([int(n) for n in args.sizes.split(",")])
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
