"""The player on a Pi-class CPU: Chromium with its CPU slowed down 4× by the DevTools protocol.

`Emulation.setCPUThrottlingRate` 4 on this machine approximates a Raspberry Pi 4 (its Cortex-A72
cores run JavaScript about 4 to 5 times slower than one x86 core of a current laptop or server;
the Pi's GPU is not emulated, so compositing is, if anything, easier here than on a Pi).

Budgets (issue 14): the first slide ≤ 1.5 s after navigation; no frame over 50 ms while one slide
crossfades into the next; renderer memory flat over 500 transitions with 20 distinct photos.
The baseline is the same player unthrottled, in the same run.

    .venv/bin/python -m bench.player_pi [--transitions 500] [--fades 8] [--loads 5]

Renderer memory is measured after a warm-up of 800 transitions, while Chromium's caches fill,
as the proportional set size (PSS) of every Chromium renderer process this
bench started (the page's and its service worker's), after a garbage collection, read from
/proc: what the operating system gives the page, not only its JavaScript heap.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.ingest import phone_picture
from tests.factories import make_tree, story
from tests.support import CHROMIUM, CHROMIUM_ARGS, LiveServer, make_settings

THROTTLE = 4
PHOTOS = 20
FIRST_SLIDE_BUDGET_MS = 1500
FRAME_BUDGET_MS = 50
MEMORY_BUDGET_MB = 10.0  # growth of renderer PSS over `--transitions` after the warm-up
# Chromium's image and resource caches fill during the first ~800 transitions (40 rounds of the
# 20 photos) up to a size it picks from the machine's memory; flat means flat after that.
WARMUP = 800
FADE_SLIDE_MS = 3600  # the player fades for a third of a slide, at most 1.2 s: a real fade

FIRST_SLIDE_JS = """() => new Promise((resolve) => {
  const look = () => (window.kiosk && window.kiosk.transitions >= 1)
    ? resolve(performance.now()) : requestAnimationFrame(look);
  look();
})"""
# Every frame's duration, with the number of transitions so far when it was drawn.
RECORD_FRAMES_JS = """() => {
  window.benchFrames = [];
  let last = performance.now();
  const tick = (now) => {
    window.benchFrames.push([now - last, now, window.kiosk.transitions]);
    last = now;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""
FADE_MS_JS = "() => parseFloat(getComputedStyle(document.documentElement)"
FADE_MS_JS += ".getPropertyValue('--fade')) || 1200"
# A function, not a string: the player's CSP forbids evaluating strings.
AT_LEAST_JS = "(n) => Boolean(window.kiosk) && window.kiosk.transitions >= n"


def approved_stories(server: LiveServer, count: int) -> None:
    """`count` stories, each with its own phone-sized photo (distinct pixels, so each slide
    decodes a new picture, as on a real wall)."""
    files: dict[str, str | bytes] = {}
    for i in range(count):
        picture = phone_picture(2016, 1512).rotate(i * 17, expand=False)
        data = io.BytesIO()
        picture.save(data, "JPEG", quality=90)
        files[f"p{i:02}.jpg"] = data.getvalue()
        files[f"p{i:02}.md"] = story(f"Person {i:02}", quote="We go home on time now.")
    make_tree(server.settings.content_dir, files)
    for i in range(count):
        sid = server.wait_status(f"p{i:02}.md", "pending", timeout=120)["id"]
        server.library.approve(sid, "bench")


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found


def renderer_pss_mb() -> float:
    """PSS of the Chromium renderers started by this process, in MB."""
    total = 0
    for pid in _descendants(os.getpid()):
        try:
            if b"--type=renderer" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue  # a renderer that just ended
    return total / 1024


def _page(browser: Any, throttle: float, url: str) -> tuple[Any, Any, Any]:
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    page.goto(url, wait_until="commit")
    return ctx, page, cdp


def measure(server: LiveServer, browser: Any, throttle: float, args: argparse.Namespace) -> dict:
    firsts = []
    for _ in range(args.loads):  # a fresh context each time: nothing cached
        ctx, page, _ = _page(browser, throttle, server.url + "/display")
        firsts.append(page.evaluate(FIRST_SLIDE_JS))
        ctx.close()

    # Frame times while slides crossfade at their real pace.
    ctx, page, _ = _page(browser, throttle, f"{server.url}/display?slide_ms={FADE_SLIDE_MS}")
    page.wait_for_function(AT_LEAST_JS, arg=2, timeout=60_000)
    page.evaluate(RECORD_FRAMES_JS)
    start = page.evaluate("() => window.kiosk.transitions")
    page.wait_for_function(
        AT_LEAST_JS, arg=start + args.fades, timeout=(args.fades + 2) * FADE_SLIDE_MS * 3
    )
    fade_ms = page.evaluate(FADE_MS_JS)
    frames = page.evaluate("() => window.benchFrames")
    ctx.close()
    during = _fade_frames(frames, fade_ms)

    # Memory over many fast transitions, each with a photo decoded anew.
    ctx, page, cdp = _page(browser, throttle, f"{server.url}/display?slide_ms=15")
    series = []  # (transitions, MB) every 100 transitions, through the warm-up and after it
    for n in range(100, args.warmup + args.transitions + 1, 100):
        page.wait_for_function(AT_LEAST_JS, arg=n, timeout=600_000)
        cdp.send("HeapProfiler.collectGarbage")
        series.append((n, renderer_pss_mb()))
    ctx.close()
    warm = next(mb for n, mb in series if n >= args.warmup)
    return {
        "throttle": throttle,
        "first_ms": statistics.median(firsts),
        "fade_frames": len(during),
        "worst_fade_frame_ms": max(during) if during else None,
        "p95_fade_frame_ms": _p95(during),
        "worst_frame_ms": max(f[0] for f in frames),
        "pss_mb": (warm, series[-1][1]),
        "pss_range": (args.warmup, args.warmup + args.transitions),
        "pss_series": series,
    }


def _fade_frames(frames: list[list[float]], fade_ms: float) -> list[float]:
    """Durations of the frames drawn while a crossfade ran: from the frame in which the
    transition count went up until the fade's length after it."""
    during, fade_started, count = [], None, None
    for duration, at, transitions in frames:
        if count is not None and transitions != count:
            fade_started = at - duration  # the frame that began the fade
        count = transitions
        if fade_started is not None and at - fade_started <= fade_ms + duration:
            during.append(duration)
    return during


def _p95(values: list[float]) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else None


def table(rows: list[dict]) -> str:
    base, pi = rows
    growth = pi["pss_mb"][1] - pi["pss_mb"][0]
    lines = [
        "| figure | unthrottled (baseline) | 4× throttled (≈ Pi 4) | budget | met? |",
        "|---|---:|---:|---|---|",
        f"| first slide after navigation | {base['first_ms']:.0f} ms | {pi['first_ms']:.0f} ms "
        f"| ≤ {FIRST_SLIDE_BUDGET_MS} ms | {_yes(pi['first_ms'] <= FIRST_SLIDE_BUDGET_MS)} |",
        f"| worst frame during a crossfade ({pi['fade_frames']} frames) "
        f"| {base['worst_fade_frame_ms']:.1f} ms | {pi['worst_fade_frame_ms']:.1f} ms "
        f"| ≤ {FRAME_BUDGET_MS} ms | {_yes(pi['worst_fade_frame_ms'] <= FRAME_BUDGET_MS)} |",
        f"| p95 frame during a crossfade | {base['p95_fade_frame_ms']:.1f} ms "
        f"| {pi['p95_fade_frame_ms']:.1f} ms | | |",
        f"| worst frame at any time | {base['worst_frame_ms']:.1f} ms "
        f"| {pi['worst_frame_ms']:.1f} ms | (info) | |",
        f"| renderer PSS, transition {pi['pss_range'][0]} → {pi['pss_range'][1]} "
        f"| {base['pss_mb'][0]:.1f} → {base['pss_mb'][1]:.1f} MB "
        f"| {pi['pss_mb'][0]:.1f} → {pi['pss_mb'][1]:.1f} MB "
        f"| growth ≤ {MEMORY_BUDGET_MB:g} MB | {_yes(growth <= MEMORY_BUDGET_MB)} |",
    ]
    for row in rows:
        steps = ", ".join(f"{n}: {mb:.0f}" for n, mb in row["pss_series"])
        lines.append(f"\nRenderer PSS at {row['throttle']}× by transition (MB): {steps}")
    return "\n".join(lines)


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


def run(transitions: int = 500, warmup: int = WARMUP, fades: int = 8, loads: int = 5) -> list:
    """The unthrottled baseline and the 4× throttled player, on one server and browser."""
    from playwright.sync_api import sync_playwright

    args = argparse.Namespace(transitions=transitions, warmup=warmup, fades=fades, loads=loads)
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        server = LiveServer(make_settings(Path(tmp), log_level="warning")).start()
        try:
            print(f"Ingesting {PHOTOS} stories with distinct photos…", file=sys.stderr)
            approved_stories(server, PHOTOS)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
                )
                rows = []
                for throttle in (1, THROTTLE):
                    print(f"Player at CPU throttling {throttle}×…", file=sys.stderr)
                    rows.append(measure(server, browser, throttle, args))
                browser.close()
        finally:
            server.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transitions", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=WARMUP, help="transitions before")
    parser.add_argument("--fades", type=int, default=8, help="crossfades whose frames count")
    parser.add_argument("--loads", type=int, default=5, help="cold loads for the first slide")
    args = parser.parse_args(argv)
    print(table(run(args.transitions, args.warmup, args.fades, args.loads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
