"""The player on a Pi-class CPU: Chromium with its CPU slowed down 4× by the DevTools protocol.

`Emulation.setCPUThrottlingRate` 4 on this machine approximates a Raspberry Pi 4 (its Cortex-A72
cores run JavaScript about 4 to 5 times slower than one x86 core of a current laptop or server).
The throttling slows the page's own thread only: headless Chromium here composites every frame
in software, in its GPU process, unthrottled but on a small CPU shared with everything else.

Budgets (issue 14): the first slide ≤ 1.5 s after navigation; no frame over 50 ms while one slide
crossfades into the next; renderer memory flat over 500 transitions with 20 distinct photos.
The baseline for the first slide and memory is the same player unthrottled, in the same run.

The baseline for frames is a bare crossfade, measured in the same run at the same throttling:
the least any crossfading wall must do. Two full-viewport <img> layers show the same photos (the
same JPEG renditions, from the same server's /media/, in playlist order), and one fades in over
the other with the player's own layer CSS (display.css: `opacity var(--fade) ease-in-out`, the
outgoing layer kept whole underneath) and the player's fade length; its only script decodes the
next photo and swaps the layers every slide, and the frame recorder is the same. Why: headless
Chromium's software compositor on a small shared machine drops frames of its own, inside fades
and out, throttled or not; a frame over 50 ms that the bare crossfade drops just as often is the
machine's, not the player's. The verdict "vs bare crossfade" holds when the player's worst
crossfade frame is within 1.2× of the bare crossfade's and it has at most one more frame over
50 ms. Player and bare crossfade take turns (in rounds, ABBA), so the other work on the machine
falls on both.

Frame times are differences of requestAnimationFrame timestamps, which fall on vsync ticks
(16.7 ms apart): a frame of three ticks reads 49.9 to 50.1 ms. "Over 50 ms" is over
50 ms + 1 ms, so only a frame of four ticks or more counts.

    .venv/bin/python -m bench.player_pi [--transitions 500] [--fades 8] [--rounds 2] [--loads 5]
    .venv/bin/python -m bench.player_pi --no-memory --loads 1 --rounds 4   # frames, ~5 min

Renderer memory is measured after a warm-up of 800 transitions, while Chromium's caches fill,
as the proportional set size (PSS) of every Chromium renderer process this
bench started (the page's and its service worker's), after a garbage collection, read from
/proc: what the operating system gives the page, not only its JavaScript heap.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from bench.ingest import phone_picture
from tests.factories import make_tree, story
from tests.support import CHROMIUM, CHROMIUM_ARGS, LiveServer, make_settings

THROTTLE = 4
PHOTOS = 20
FIRST_SLIDE_BUDGET_MS = 1500
FRAME_BUDGET_MS = 50
TICK_SLACK_MS = 1.0  # rAF timestamps jitter around vsync ticks; a 3-tick frame is not "over 50"
WITHIN = 1.2  # the player's worst crossfade frame at most this × the bare crossfade's
EXTRA_LONG_FRAMES = 1  # and at most this many more frames over 50 ms
MEMORY_BUDGET_MB = 10.0  # growth of renderer PSS over `--transitions` after the warm-up
# Chromium's image and resource caches fill during the first ~800 transitions (40 rounds of the
# 20 photos) up to a size it picks from the machine's memory; flat means flat after that.
WARMUP = 800
FADE_SLIDE_MS = 3600  # the player fades for a third of a slide, at most 1.2 s: a real fade
FADE_MS = min(1200, round(FADE_SLIDE_MS / 3))  # as player.js sets --fade for slide_ms
BARE_PATH = "/bench/bare-crossfade"  # answered by the bench itself (page.route), not the server

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
# How the incoming photo fades, as the page has it: the bare crossfade must fade the same way.
# The player fades a slide's parts, its photo among them, and not the layer (display.css).
FADE_CSS_JS = """() => getComputedStyle(
  document.querySelector('.is-active > .photo') || document.querySelector('.is-active')
).transition"""
# A function, not a string: the player's CSP forbids evaluating strings.
AT_LEAST_JS = "(n) => Boolean(window.kiosk) && window.kiosk.transitions >= n"
# The recorder has drawn `ms` past the start of transition n: its fade is over.
FADE_OVER_JS = """([n, ms]) => {
  const frames = window.benchFrames;
  const first = frames.find((f) => f[2] >= n);
  return Boolean(first) && frames[frames.length - 1][1] - (first[1] - first[0]) > ms;
}"""
POLL_MS = 100  # waits look this often, not every frame: they must not add to the frames measured

# The least a crossfading wall does: the player's two layers and their CSS (display.css), a
# full-screen photo in each, the next photo decoded before the layers swap. The player fades
# each part of a layer, its photo among them; here the layer holds the photo alone and fades.
# `window.kiosk` counts transitions as the player does, for the same recorder and waits.
BARE_PAGE = """<!doctype html>
<html lang="en" style="--fade: %(fade_ms)dms">
<meta charset="utf-8">
<title>Bare crossfade</title>
<style>
html, body { margin: 0; width: 100%%; height: 100%%; overflow: hidden; background: #000; }
.slide {
  position: absolute; inset: 0; z-index: 0; opacity: 0; overflow: hidden;
  transition: opacity 0s linear var(--fade, 1200ms);
}
.slide.is-active {
  z-index: 1; opacity: 1; transition: opacity var(--fade, 1200ms) ease-in-out;
}
.slide img { display: block; width: 100%%; height: 100%%; object-fit: cover; }
</style>
<div class="slide"><img alt=""></div><div class="slide"><img alt=""></div>
<script>
(() => {
  const photos = %(photos)s;
  const layers = Array.from(document.querySelectorAll(".slide"));
  const kiosk = (window.kiosk = { transitions: 0 });
  let front = 1;
  let index = -1;
  async function advance() {
    index = (index + 1) %% photos.length;
    const back = layers[1 - front];
    const img = back.querySelector("img");
    img.src = photos[index];
    await img.decode().catch(() => {});
    back.classList.add("is-active");
    layers[front].classList.remove("is-active");
    front = 1 - front;
    kiosk.transitions += 1;
    setTimeout(advance, %(slide_ms)d);
  }
  advance();
})();
</script>
</html>
"""


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


def bare_page(server: LiveServer) -> str:
    """The bare crossfade page over the photos the player shows, in the playlist's order."""
    with urllib.request.urlopen(server.url + "/api/playlist", timeout=30) as response:
        playlist = json.load(response)
    photos = [s["image"] for s in playlist["slides"] if s.get("image")]
    return BARE_PAGE % {"fade_ms": FADE_MS, "slide_ms": FADE_SLIDE_MS, "photos": json.dumps(photos)}


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


def _page(browser: Any, throttle: float, url: str, html: str | None = None) -> tuple[Any, Any, Any]:
    """A fresh context and page at `url`; with `html`, the bench answers that URL itself (same
    origin as the server, so the page's photos come from its /media/)."""
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    if html is not None:
        ctx.route(url, lambda route: route.fulfill(content_type="text/html", body=html))
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    page.goto(url, wait_until="commit")
    return ctx, page, cdp


def crossfades(
    browser: Any, throttle: float, url: str, fades: int, html: str | None = None
) -> dict:
    """Every frame's time while `fades` slides crossfade at their real pace, after the first
    two; the player at `url`, or the bare crossfade's `html` answered there."""
    ctx, page, _ = _page(browser, throttle, url, html)
    page.wait_for_function(AT_LEAST_JS, arg=2, polling=POLL_MS, timeout=60_000)
    page.evaluate(RECORD_FRAMES_JS)
    start = page.evaluate("() => window.kiosk.transitions")
    fade_ms = page.evaluate(FADE_MS_JS)
    page.wait_for_function(
        FADE_OVER_JS,
        arg=[start + fades, fade_ms + 100],
        polling=POLL_MS,
        timeout=(fades + 2) * FADE_SLIDE_MS * 3,
    )
    result = {
        "fade_ms": fade_ms,
        "fade_css": page.evaluate(FADE_CSS_JS),
        "frames": page.evaluate("() => window.benchFrames"),
    }
    ctx.close()
    return result


def frame_figures(runs: list[dict]) -> dict:
    """Worst, p95 and count of long frames over the crossfades of several runs of one page."""
    fade_css = {run["fade_css"] for run in runs}
    frames = [f[0] for run in runs for f in run["frames"]]
    during = [d for run in runs for d in _fade_frames(run["frames"], run["fade_ms"])]
    return {
        "fade_css": sorted(fade_css),
        "fade_frames": len(during),
        "worst_fade_frame_ms": max(during) if during else None,
        "p95_fade_frame_ms": _p95(during),
        "long_fade_frames": sum(d > FRAME_BUDGET_MS + TICK_SLACK_MS for d in during),
        "worst_frame_ms": max(frames),
        "long_frames": sum(d > FRAME_BUDGET_MS + TICK_SLACK_MS for d in frames),
        "frames": len(frames),
    }


def measure(
    server: LiveServer, browser: Any, throttle: float, args: argparse.Namespace, bare: str
) -> dict:
    firsts = []
    for _ in range(args.loads):  # a fresh context each time: nothing cached
        ctx, page, _ = _page(browser, throttle, server.url + "/display")
        firsts.append(page.evaluate(FIRST_SLIDE_JS))
        ctx.close()

    # Frame times while slides crossfade at their real pace: the player and the bare crossfade
    # take turns (ABBA), so whatever else the machine does falls on both.
    player_url = f"{server.url}/display?slide_ms={FADE_SLIDE_MS}"
    runs: dict[str, list[dict]] = {"player": [], "bare": []}
    per_round = max(1, args.fades // args.rounds)
    for r in range(args.rounds):
        for name in ("player", "bare") if r % 2 == 0 else ("bare", "player"):
            print(f"  round {r + 1}/{args.rounds}: {name}", file=sys.stderr)
            if name == "player":
                runs[name].append(crossfades(browser, throttle, player_url, per_round))
            else:
                url = server.url + BARE_PATH
                runs[name].append(crossfades(browser, throttle, url, per_round, bare))
    player, baseline = frame_figures(runs["player"]), frame_figures(runs["bare"])
    if player["fade_css"] != baseline["fade_css"]:
        raise RuntimeError(
            f"the bare crossfade fades as {baseline['fade_css']}, the player as "
            f"{player['fade_css']}: bring BARE_PAGE in line with display.css"
        )
    return {
        "throttle": throttle,
        "first_ms": statistics.median(firsts),
        **player,
        "bare": baseline,
        **(_memory(server, browser, throttle, args) if args.memory else {}),
    }


def _memory(server: LiveServer, browser: Any, throttle: float, args: argparse.Namespace) -> dict:
    """Renderer PSS over many fast transitions, each with a photo decoded anew."""
    ctx, page, cdp = _page(browser, throttle, f"{server.url}/display?slide_ms=15")
    series = []  # (transitions, MB) every 100 transitions, through the warm-up and after it
    for n in range(100, args.warmup + args.transitions + 1, 100):
        page.wait_for_function(AT_LEAST_JS, arg=n, timeout=600_000)
        cdp.send("HeapProfiler.collectGarbage")
        series.append((n, renderer_pss_mb()))
    ctx.close()
    warm = next(mb for n, mb in series if n >= args.warmup)
    return {
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
    b1, b4 = base["bare"], pi["bare"]
    long_ms = FRAME_BUDGET_MS + TICK_SLACK_MS
    near_worst = pi["worst_fade_frame_ms"] <= WITHIN * b4["worst_fade_frame_ms"]
    near_long = pi["long_fade_frames"] <= b4["long_fade_frames"] + EXTRA_LONG_FRAMES

    def row(figure: str, key: str, budget: str = "", met: str = "", vs: str = "") -> str:
        fmt = (lambda v: f"{v:.1f} ms") if key.endswith("_ms") else str
        cells = [fmt(b1[key]), fmt(base[key]), fmt(b4[key]), fmt(pi[key]), _ratio(pi[key], b4[key])]
        return f"| {figure} | {' | '.join(cells)} | {budget} | {met} | {vs} |"

    lines = [
        "| figure | bare crossfade 1× | player 1× | bare crossfade 4× | player 4× (≈ Pi 4) "
        "| player ÷ bare, 4× | budget | met? | vs bare crossfade (4×) |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
        f"| first slide after navigation | | {base['first_ms']:.0f} ms | | {pi['first_ms']:.0f} ms "
        f"| | ≤ {FIRST_SLIDE_BUDGET_MS} ms | {_yes(pi['first_ms'] <= FIRST_SLIDE_BUDGET_MS)} | |",
        row("frames drawn during crossfades", "fade_frames"),
        row(
            "worst frame during a crossfade",
            "worst_fade_frame_ms",
            f"≤ {FRAME_BUDGET_MS} ms",
            _yes(pi["worst_fade_frame_ms"] <= long_ms),
            f"≤ {WITHIN:g}× bare: {_yes(near_worst)}",
        ),
        row("p95 frame during a crossfade", "p95_fade_frame_ms"),
        row(
            f"frames over {FRAME_BUDGET_MS} ms during crossfades",
            "long_fade_frames",
            "none",
            _yes(pi["long_fade_frames"] == 0),
            f"≤ bare + {EXTRA_LONG_FRAMES}: {_yes(near_long)}",
        ),
        row("worst frame at any time", "worst_frame_ms", "(info)"),
        row(f"frames over {FRAME_BUDGET_MS} ms at any time", "long_frames", "(info)"),
    ]
    budget = f"growth ≤ {MEMORY_BUDGET_MB:g} MB"
    if "pss_mb" not in pi:
        lines.append(f"| renderer PSS | | | | | | {budget} | not measured (--no-memory) | |")
        return "\n".join(lines)
    growth = pi["pss_mb"][1] - pi["pss_mb"][0]
    lines.append(
        f"| renderer PSS, transition {pi['pss_range'][0]} → {pi['pss_range'][1]} "
        f"| | {base['pss_mb'][0]:.1f} → {base['pss_mb'][1]:.1f} MB "
        f"| | {pi['pss_mb'][0]:.1f} → {pi['pss_mb'][1]:.1f} MB "
        f"| | {budget} | {_yes(growth <= MEMORY_BUDGET_MB)} | |"
    )
    for r in rows:
        steps = ", ".join(f"{n}: {mb:.0f}" for n, mb in r["pss_series"])
        lines.append(f"\nRenderer PSS at {r['throttle']}× by transition (MB): {steps}")
    return "\n".join(lines)


def _ratio(player: float | None, bare: float | None) -> str:
    if player is None or bare is None:
        return ""
    return f"{player / bare:.2f}×" if bare else ("1.00×" if not player else "∞")


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


def run(
    transitions: int = 500,
    warmup: int = WARMUP,
    fades: int = 8,
    loads: int = 5,
    rounds: int = 2,
    memory: bool = True,
) -> list:
    """The unthrottled baseline and the 4× throttled player, each beside a bare crossfade, on
    one server and browser."""
    from playwright.sync_api import sync_playwright

    args = argparse.Namespace(
        transitions=transitions,
        warmup=warmup,
        fades=fades,
        loads=loads,
        rounds=rounds,
        memory=memory,
    )
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        server = LiveServer(make_settings(Path(tmp), log_level="warning")).start()
        try:
            print(f"Ingesting {PHOTOS} stories with distinct photos…", file=sys.stderr)
            approved_stories(server, PHOTOS)
            bare = bare_page(server)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
                )
                rows = []
                for throttle in (1, THROTTLE):
                    print(
                        f"Player and bare crossfade at CPU throttling {throttle}×…", file=sys.stderr
                    )
                    rows.append(measure(server, browser, throttle, args, bare))
                browser.close()
        finally:
            server.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transitions", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=WARMUP, help="transitions before")
    parser.add_argument("--fades", type=int, default=8, help="crossfades whose frames count")
    parser.add_argument(
        "--rounds", type=int, default=2, help="turns player and bare crossfade take at the fades"
    )
    parser.add_argument("--loads", type=int, default=5, help="cold loads for the first slide")
    parser.add_argument(
        "--no-memory", dest="memory", action="store_false", help="skip the renderer memory run"
    )
    args = parser.parse_args(argv)
    rows = run(args.transitions, args.warmup, args.fades, args.loads, args.rounds, args.memory)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
