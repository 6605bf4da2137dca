"""SD-card wear: bytes an idle server writes per day while screens send their heartbeats.

    .venv/bin/python -m bench.sd_wear [--screens 10] [--minutes 6] [--interval 30]

Budget (issue: "The SD card lasts"): an idle server with 10 screens writes <= 5 MB a day,
measured as the server process's `write_bytes` in /proc/PID/io and extrapolated to 24 h. The
baseline is the same server, in the same run, with no screens at all. The run should last more
than 5 minutes, so that the periodic heartbeat flush (library/screens.py FLUSH_SECONDS) is in it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.support import free_port

BUDGET_MB_PER_DAY = 5.0


def written(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/PID/io")


def measure(screens: int, minutes: float, interval: float) -> float:
    """MB a day written by a `kiosk serve` with `screens` screens beating every `interval` s."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "content").mkdir()
        port = free_port()
        env = {**os.environ, "KIOSK_CONTENT_DIR": str(root / "content")}
        env |= {"KIOSK_DATA_DIR": str(root / "data"), "KIOSK_PORT": str(port)}
        server = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "serve"], env=env, stdout=subprocess.DEVNULL
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            names = [f"screen-{i}" for i in range(screens)]
            for name in names:  # the first beat of each: a new screen is written at once
                httpx.post(f"{url}/api/screens/{name}/heartbeat", json={"slide": 1}, timeout=5)
            time.sleep(2)
            start, t0 = written(server.pid), time.monotonic()
            while time.monotonic() - t0 < minutes * 60:
                for name in names:
                    httpx.post(f"{url}/api/screens/{name}/heartbeat", json={"slide": 1}, timeout=5)
                time.sleep(interval)
            elapsed = time.monotonic() - t0
            return (written(server.pid) - start) / 2**20 * 86400 / elapsed
        finally:
            server.terminate()
            server.wait(timeout=15)


def run(screens: int = 10, minutes: float = 6.0, interval: float = 30.0) -> dict[str, float]:
    return {
        "no screens (baseline)": measure(0, minutes, interval),
        f"{screens} screens": measure(screens, minutes, interval),
    }


def table(result: dict[str, float]) -> str:
    rows = ["| server | MB written a day | budget |", "|---|---|---|"]
    for name, value in result.items():
        verdict = "" if "baseline" in name else ("met" if value <= BUDGET_MB_PER_DAY else "MISSED")
        rows.append(f"| {name} | {value:.2f} | {verdict} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--interval", type=float, default=30.0, help="heartbeat period, s")
    args = parser.parse_args(argv)
    print(table(run(args.screens, args.minutes, args.interval)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
