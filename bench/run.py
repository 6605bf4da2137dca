"""Run every benchmark and write bench/results.md (tables) and bench/results.json.

    .venv/bin/python -m bench.run [--quick]

Each table compares against a baseline measured in the same run (these machines are shared and
noisy), and each budget row from DESIGN.md says whether it is met. --quick uses smaller counts
for a smoke run; the published figures come from a full run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from bench import (
    admin_scale,
    cli,
    decision,
    decode_memory,
    display,
    drop_latency,
    faces,
    ingest,
    player_pi,
    sd_wear,
    server,
)

HERE = Path(__file__).resolve().parent
QUICK_NOTE = (
    "A smoke run with small counts (10 files a drop, a 2-minute SD-card run, short player "
    "warm-ups, 3 ingest runs): its verdicts are not budget evidence; the README quotes full runs."
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    args = parser.parse_args(argv)
    q = args.quick
    sections: list[tuple[str, str]] = []
    results: dict[str, object] = {"environment": ingest.environment()}

    def section(title: str, key: str, run, table) -> None:
        print(f"== {title}", flush=True)
        t0 = time.perf_counter()
        value = run()
        results[key] = value
        text = table(value)
        sections.append((title, text))
        print(text, f"\n({time.perf_counter() - t0:.0f} s)\n", flush=True)

    section(
        "Photo ingest: 12 MP phone photo → display rendition + thumbnail",
        "ingest",
        lambda: ingest.run(3 if q else 7),
        ingest.table,
    )
    section(
        "Face detection on ingest: detect on the display rendition vs render it",
        "faces",
        lambda: faces.run(3 if q else 7),
        faces.table,
    )
    section(
        "Decode memory: peak of the server (RSS) and of all its processes (PSS) per drop",
        "decode_memory",
        decode_memory.run,
        decode_memory.table,
    )
    section(
        "Drop → pending",
        "drop_latency",
        lambda: drop_latency.run(10 if q else 100),
        drop_latency.table,
    )
    section(
        "Server: cold start, memory, throughput",
        "server",
        lambda: server.run(200 if q else 1000, 10 if q else 50, 1.0 if q else 3.0),
        server.table,
    )
    section("Approve → screens (SSE) and the player in Chromium", "display",
            lambda: display.run(quick=q), display.table)  # fmt: skip
    sizes = [100, 1000] if q else [100, 1000, 10000]
    section(
        "Scale: a moderator's decision with 50 screens connected",
        "decision",
        lambda: decision.run(sizes, 3 if q else 10),
        decision.table,
    )
    section("Scale: the admin page with many pending", "admin_scale",
            lambda: admin_scale.run(sizes), admin_scale.table)  # fmt: skip
    minutes = 2.0 if q else 16.0
    section("SD card wear: an idle server with 10 screens", "sd_wear",
            lambda: sd_wear.run(10, minutes), lambda r: sd_wear.table(r, minutes))  # fmt: skip
    section(
        "The player on a Pi-class CPU (4× CPU throttling)",
        "player_pi",
        lambda: player_pi.run(*((100, 100, 4, 2) if q else ())),
        player_pi.table,
    )
    section("The command line: start-up of non-server commands", "cli", cli.run, cli.table)

    env = results["environment"]
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `python -m bench.run{' --quick' if q else ''}` "
        f"on {time.strftime('%Y-%m-%d')}: "
        f"Python {platform.python_version()}, {env.get('cpus')} CPUs ({platform.machine()}), "
        f"Pillow {env.get('pillow')}, libvips {env.get('libvips') or 'n/a'}.",
        "",
    ]
    if q:
        lines += [QUICK_NOTE, ""]
    for title, text in sections:
        lines += [f"## {title}", "", text, ""]
    (HERE / "results.md").write_text("\n".join(lines))
    (HERE / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {HERE / 'results.md'} and {HERE / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
