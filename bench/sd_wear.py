"""SD-card wear: bytes an idle server writes per day while screens send their heartbeats, with
and without proof of play (what each screen showed, carried by the heartbeats).

    .venv/bin/python -m bench.sd_wear [--screens 10] [--minutes 16] [--interval 30]

Budget (issue: "The SD card lasts"): an idle server with 10 screens writes <= 5 MB a day,
measured as the server process's `write_bytes` in /proc/PID/io and extrapolated to 24 h.
Every server holds the same five approved stories; they run side by side. The baseline is a
server with no screens at all. The run should last more than 15 minutes, so that the periodic
flush of beats and plays (library/screens.py FLUSH_SECONDS) is in it: a shorter run measures
memory only, and would say nothing about the SD card.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.factories import jpeg, story
from tests.support import free_port

BUDGET_MB_PER_DAY = 5.0
STORIES = 5
SLIDE_SECONDS = 12.0  # the default slide_seconds: how often a screen reports a play


def written(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/PID/io")


def approve_all(url: str, token: str) -> list[int]:
    """Wait for the stories to be read, approve them all; their ids."""
    auth = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        subs = httpx.get(f"{url}/api/admin/submissions?status=pending", headers=auth).json()
        if len(subs["submissions"]) == STORIES:
            break
        time.sleep(0.3)
    ids = [s["id"] for s in subs["submissions"]]
    for sid in ids:
        httpx.post(f"{url}/api/admin/submissions/{sid}/approve", headers=auth).raise_for_status()
    return ids


def measure(screens: int, minutes: float, interval: float, plays: bool) -> float:
    """MB a day written by a `kiosk serve` with `screens` screens beating every `interval` s,
    each beat carrying the slides shown since the last one when `plays`."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        content = root / "content"
        content.mkdir()
        for i in range(STORIES):
            (content / f"person-{i}.md").write_text(story(f"Person {i}"))
            (content / f"person-{i}.jpg").write_bytes(jpeg(color=(40 * i, 120, 80)))
        port = free_port()
        env = {**os.environ, "KIOSK_CONTENT_DIR": str(content), "KIOSK_PORT": str(port)}
        env |= {"KIOSK_DATA_DIR": str(root / "data")}
        cli = [sys.executable, "-m", "kiosk.cli"]
        token = subprocess.run(
            [*cli, "token", "create", "bench"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        server = subprocess.Popen([*cli, "serve"], env=env, stdout=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            ids = approve_all(url, token)
            revisions = {
                s["id"]: s["revision"] for s in httpx.get(url + "/api/playlist").json()["slides"]
            }
            names = [f"screen-{i}" for i in range(screens)]
            for name in names:  # the first beat of each: a new screen is written at once
                httpx.post(f"{url}/api/screens/{name}/heartbeat", json={"slide": 1}, timeout=5)
            time.sleep(2)
            start, t0 = written(server.pid), time.monotonic()
            shown = 0
            while time.monotonic() - t0 < minutes * 60:
                for name in names:
                    beat: dict = {"slide": ids[0]}
                    if plays:
                        per_beat = round(interval / SLIDE_SECONDS)
                        sids = [ids[(shown + k) % len(ids)] for k in range(per_beat)]
                        beat["plays"] = [
                            {"id": s, "revision": revisions[s], "seconds": SLIDE_SECONDS}
                            for s in sids
                        ]
                    r = httpx.post(f"{url}/api/screens/{name}/heartbeat", json=beat, timeout=5)
                    r.raise_for_status()
                shown += 1
                time.sleep(interval)
            elapsed = time.monotonic() - t0
            return (written(server.pid) - start) / 2**20 * 86400 / elapsed
        finally:
            server.terminate()
            server.wait(timeout=15)


def run(screens: int = 10, minutes: float = 16.0, interval: float = 30.0) -> dict[str, float]:
    runs = {
        "no screens (baseline)": (0, False),
        f"{screens} screens, heartbeats only": (screens, False),
        f"{screens} screens, heartbeats with proof of play": (screens, True),
    }
    with ThreadPoolExecutor(len(runs)) as pool:
        futures = {
            name: pool.submit(measure, n, minutes, interval, plays)
            for name, (n, plays) in runs.items()
        }
        return {name: f.result() for name, f in futures.items()}


def table(result: dict[str, float], minutes: float) -> str:
    rows = [
        f"{minutes:g}-minute run, extrapolated to 24 h",
        "",
        "| server | MB written a day | budget |",
        "|---|---|---|",
    ]
    for name, value in result.items():
        verdict = "" if "baseline" in name else ("met" if value <= BUDGET_MB_PER_DAY else "MISSED")
        rows.append(f"| {name} | {value:.2f} | {verdict} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=16.0)
    parser.add_argument("--interval", type=float, default=30.0, help="heartbeat period, s")
    args = parser.parse_args(argv)
    print(table(run(args.screens, args.minutes, args.interval), args.minutes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
