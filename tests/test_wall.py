"""The wall as a passer-by reads it: every word of every story, in every screen shape and script.

Real Chromium shows stories in English (short, template length, twice that), Japanese, Arabic,
Hebrew, Hindi and German on each shipped theme at four screen sizes. What counts is what the
browser paints: a word is "shown" when its boxes (Range.getClientRects) lie inside the viewport
and inside every clipping box, the element hit at its centre is its own, and everything above
it is fully opaque. Slides and pages are stepped with Playwright's clock, so no test waits out
a 12 s slide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .factories import STORIES, jpeg, make_tree, story
from .support import LiveServer, make_settings, wait_for

THEMES = ["default", "portrait", "high-contrast"]
SIZES = [(1920, 1080), (1080, 1920), (1280, 720), (1366, 768)]
STEP_MS = 300  # slide_ms while stepping with the clock: the fade is a third of it, in real time
READING_WPM = 180

RTL = {"ar", "he"}
TWO_PAGES_AT_MOST = {"en-double", "ja"}  # everything else is template length: one page

# Installed before the player runs. Words are cut with Intl.Segmenter, as a reader would count
# them; the probe reads only what Chromium lays out and paints.
PROBE = r"""
(() => {
  const wordsOf = (text, lang) =>
    Array.from(new Intl.Segmenter(lang || "en", { granularity: "word" }).segment(text))
      .filter((s) => s.isWordLike);
  const langOf = (el) => el.closest("[lang]")?.lang || "en";
  const textNodes = (el) => {
    const out = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) out.push(n);
    return out;
  };
  const opaque = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (Number(style.opacity) < 0.999 || style.visibility !== "visible") return false;
    }
    return true;
  };
  const inside = (r, c) =>
    r.left >= c.left - 0.5 && r.right <= c.right + 0.5 &&
    r.top >= c.top - 0.5 && r.bottom <= c.bottom + 0.5;
  const clipsOf = (el) => {
    const clips = [];
    for (let e = el; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.overflowX !== "visible" || style.overflowY !== "visible") {
        clips.push(e.getBoundingClientRect());
      }
    }
    return clips;
  };
  // Every box of the range is in the viewport, in each clipping ancestor, and on top.
  const shown = (range, el, clips) => {
    const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0 && r.height > 0);
    if (!rects.length) return false;
    const view = { left: 0, top: 0, right: innerWidth, bottom: innerHeight };
    return rects.every((r) => {
      if (!inside(r, view) || !clips.every((c) => inside(r, c))) return false;
      const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
      return hit !== null && (hit === el || el.contains(hit));
    });
  };
  let counted = 0; // word-like segments shown by the last visibleText call
  const visibleText = (el) => {
    let text = "";
    counted = 0;
    if (!el) return text;
    for (const node of textNodes(el)) {
      const parent = node.parentElement;
      const ok = opaque(parent);
      const clips = clipsOf(parent);
      for (const seg of wordsOf(node.data, langOf(parent))) {
        const range = document.createRange();
        range.setStart(node, seg.index);
        range.setEnd(node, seg.index + seg.segment.length);
        if (ok && shown(range, parent, clips)) {
          text += seg.segment;
          counted += 1;
        }
      }
    }
    return text;
  };
  const allText = (el) =>
    el ? textNodes(el).map((n) => wordsOf(n.data, langOf(n.parentElement))
      .map((s) => s.segment).join("")).join("") : "";
  window.wallProbe = {
    expected(slide) {
      const box = document.createElement("div");
      box.innerHTML = slide.html;
      const lang = slide.language || "en";
      const body = textNodes(box).map((n) => n.data).join("\n");
      const join = (t) => wordsOf(t, lang).map((s) => s.segment).join("");
      return { name: join(slide.name), role: join(slide.role), quote: join(slide.quote),
               body: join(body), words: wordsOf(body, lang).length };
    },
    settled() {
      const active = document.querySelector(".slide.is-active");
      const name = active && active.querySelector('[data-field="name"]');
      return Boolean(name && name.textContent && opaque(name));
    },
    read() {
      if (!document.getElementById("probe-style")) {
        // The stage takes no pointer events; elementFromPoint needs them to see what is on top
        // (of the active layer only: the hidden one lies on top of it half the time).
        const style = document.createElement("style");
        style.id = "probe-style";
        style.textContent =
          ".slide.is-active, .slide.is-active * { pointer-events: auto !important; }";
        document.head.append(style);
      }
      const active = document.querySelector(".slide.is-active");
      const field = (f) => active.querySelector(`[data-field="${f}"]`);
      const story = field("html");
      const sizes = Array.from(story.querySelectorAll("*"), (e) =>
        parseFloat(getComputedStyle(e).fontSize)).concat(
        parseFloat(getComputedStyle(story).fontSize));
      const firstLine = (() => {
        const node = textNodes(story)[0];
        if (!node) return null;
        const boxes = wordsOf(node.data, langOf(node.parentElement)).map((seg) => {
          const range = document.createRange();
          range.setStart(node, seg.index);
          range.setEnd(node, seg.index + seg.segment.length);
          return range.getClientRects()[0];
        });
        const line = boxes.filter((b) => Math.abs(b.top - boxes[0].top) < 2);
        return { edge: [story.getBoundingClientRect().left, story.getBoundingClientRect().right],
                 first: [line[0].left, line[0].right],
                 last: [line.at(-1).left, line.at(-1).right], words: line.length };
      })();
      const body = visibleText(story);
      const bodyWords = counted;
      return {
        slide: window.kiosk.slide,
        page: window.kiosk.page ? [window.kiosk.page.index, window.kiosk.page.count] : [0, 1],
        page_ms: window.kiosk.page ? window.kiosk.page.ms : null,
        shown: { name: visibleText(field("name")), role: visibleText(field("role")),
                 quote: visibleText(field("quote")), body },
        body_words: bodyWords,
        words_on_page: wordsOf(story.textContent, langOf(story)).length,
        body_all: allText(story),
        body_px: Math.min(...sizes),
        body_dir: getComputedStyle(story).direction,
        body_lang: story.closest("[lang]")?.lang || "",
        first_line: firstLine,
        shorter: Math.min(innerWidth, innerHeight),
      };
    },
  };
})();
"""


@pytest.fixture(scope="module")
def wall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The eight stories, approved, with one screen per shipped theme."""
    root = tmp_path_factory.mktemp("wall")
    settings = make_settings(
        root, reading_wpm=READING_WPM, screens={t: {"theme": t} for t in THEMES}
    )
    files: dict[str, str | bytes] = {}
    for stem, s in STORIES.items():
        fields = {k: v for k, v in s.items() if k not in {"name", "body"}}
        files[f"{stem}.md"] = story(s["name"], body=s["body"], **fields)
        files[f"{stem}.jpg"] = jpeg(600, 800)
    make_tree(settings.content_dir, files)
    server = LiveServer(settings).start()
    wait_for(lambda: len(server.library.submissions("pending")) == len(STORIES), timeout=30)
    for sub in server.library.submissions("pending"):
        server.library.approve(sub["id"], "mod")
    yield server
    server.stop()


def _open(browser: Any, url: str, size: tuple[int, int], clock: bool) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    ctx.add_init_script(PROBE)
    page = ctx.new_page()
    if clock:  # time stands still: slides and pages change only when the test says so
        page.clock.install(time=1_800_000_000_000)
        page.clock.pause_at(1_800_000_001_000)
    page.goto(url)
    return ctx, page


def _settle(page: Any, transitions: int) -> None:
    page.wait_for_function(
        f"() => window.kiosk.transitions >= {transitions} && window.wallProbe.settled()",
        polling=20,
        timeout=15000,
    )
    page.evaluate("document.fonts.ready.then(() => true)")


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("theme", THEMES)
def test_every_word_of_every_story_is_shown(
    wall: LiveServer, browser: Any, theme: str, size: tuple[int, int]
) -> None:
    slides = {s["id"]: s for s in wall.shown(theme)}
    stems = {s["name"]: stem for stem, s in STORIES.items()}
    ctx, page = _open(browser, f"{wall.url}/display?screen={theme}&slide_ms={STEP_MS}", size, True)
    try:
        expected = {i: page.evaluate("s => wallProbe.expected(s)", s) for i, s in slides.items()}
        pages: dict[int, dict[int, dict]] = {i: {} for i in slides}
        transitions = 1
        for _ in range(60):
            _settle(page, transitions)
            seen = page.evaluate("wallProbe.read()")
            pages[seen["slide"]].setdefault(seen["page"][0], {**seen, "count": seen["page"][1]})
            if all(p and len(p) == next(iter(p.values()))["count"] for p in pages.values()):
                break
            page.clock.run_for(STEP_MS)
            transitions += 1
        problems = []
        for sid, by_page in pages.items():
            stem = stems[slides[sid]["name"]]
            want = expected[sid]
            ordered = [by_page[k] for k in sorted(by_page)]
            shown = "".join(p["shown"]["body"] for p in ordered)
            if shown != want["body"]:
                problems.append(f"{stem}: body shows {len(shown)} of {len(want['body'])} chars")
            for p in ordered:
                for part in ("name", "role", "quote"):
                    if p["shown"][part] != want[part]:
                        problems.append(f"{stem} page {p['page']}: {part} {p['shown'][part]!r}")
                if p["body_px"] < 0.035 * p["shorter"] - 0.01:
                    problems.append(f"{stem}: body text {p['body_px']} px")
                if STORIES[stem].get("language", "en") != (p["body_lang"] or "en"):
                    problems.append(f"{stem}: lang={p['body_lang']!r}")
                if stem in RTL:
                    line = p["first_line"]
                    if (
                        p["body_dir"] != "rtl"
                        or line["words"] < 2
                        or (line["first"][0] <= line["last"][0])
                    ):
                        problems.append(f"{stem}: not right to left: {p['body_dir']} {line}")
                if p["count"] > 1:
                    reading = p["words_on_page"] / READING_WPM * 60000
                    if not p["page_ms"] or p["page_ms"] < reading:
                        problems.append(f"{stem} page {p['page']}: {p['page_ms']} ms < {reading}")
            count = ordered[0]["count"] if ordered else 0
            if count > (2 if stem in TWO_PAGES_AT_MOST else 1):
                problems.append(f"{stem}: {count} pages")
        assert not problems, "\n".join(problems)
        assert page.evaluate("window.kiosk.errors") == 0
    finally:
        ctx.close()


# Per animation frame: how visible each layer's photo and its text are.
SAMPLE = """(after) => new Promise((resolve) => {
  const frames = [];
  const start = window.kiosk.transitions;
  let changed = 0;
  const alpha = (el) => {
    let a = 1;
    for (let e = el; e; e = e.parentElement) a *= Number(getComputedStyle(e).opacity);
    return a;
  };
  const look = () => {
    frames.push(Array.from(document.querySelectorAll('.stage > .slide'), (layer) => {
      const texts = Array.from(layer.querySelectorAll('[data-field]:not(img)'))
        .filter((e) => e.textContent.trim());
      return {
        layer: alpha(layer.querySelector('.photo')), // the photos crossfade, not the layers
        text: Math.max(0, ...texts.map(alpha)),
        name: layer.querySelector('[data-field="name"]').textContent,
      };
    }));
    if (!changed && window.kiosk.transitions > start) changed = performance.now();
    if (changed && performance.now() - changed > after) resolve(frames);
    else requestAnimationFrame(look);
  };
  look();
})"""


@pytest.mark.parametrize("theme", THEMES)
def test_crossfade_never_shows_two_stories_at_once(
    wall: LiveServer, browser: Any, theme: str
) -> None:
    ctx, page = _open(
        browser, f"{wall.url}/display?screen={theme}&slide_ms=900", (1280, 720), False
    )
    try:
        _settle(page, 1)
        frames = page.evaluate(SAMPLE, 450)  # the next slide and its whole 300 ms fade
        both = [f for f in frames if sum(1 for layer in f if layer["text"] > 0.01) > 1]
        assert not both, both[:3]
        # the photos do crossfade: frames where the incoming layer is part way in
        assert any(0.1 < layer["layer"] < 0.9 for f in frames for layer in f)
        # and never a frame where neither layer is fully there (a dip to the bare background)
        blank = [f for f in frames if max(layer["layer"] for layer in f) < 0.999]
        assert not blank, blank[:3]
    finally:
        ctx.close()
