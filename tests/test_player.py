"""The player in real Chromium against a real server: what a passer-by sees on the wall."""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kiosk import playlist
from kiosk.library import Library

from .factories import STORIES, approved, drop, jpeg, make_tree, story
from .support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LONG_TESTS,
    SCREENSHOTS,
    UPDATE_SCREENSHOTS,
    LiveServer,
    make_settings,
)

REPO = Path(__file__).resolve().parent.parent
FAST = "slide_ms=300"

ACTIVE_NAME = "document.querySelector('.slide.is-active .name')?.textContent"


class Screen:
    """A page showing /display, with what it has shown so far and its navigations."""

    def __init__(self, context: Any, url: str) -> None:
        self.page = context.new_page()
        self.navigations = 0
        self.page.on("framenavigated", self._navigated)
        self.page.goto(url)
        # a page that reloads loses this, so tests can tell "no reload" from "reloaded"
        self.page.evaluate("window.sameDocument = true")

    def _navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame:
            self.navigations += 1

    def shows(self, name: str, timeout: float = 15) -> None:
        self.page.wait_for_function(
            f"() => {ACTIVE_NAME} === {json.dumps(name)}", timeout=timeout * 1000
        )

    def transitions(self) -> int:
        return self.page.evaluate("window.kiosk.transitions")

    def wait_transitions(self, more: int, timeout: float = 15) -> None:
        target = self.transitions() + more
        self.page.wait_for_function(
            f"() => window.kiosk.transitions >= {target}", timeout=timeout * 1000
        )

    def stayed(self) -> bool:
        return self.navigations == 1 and self.page.evaluate("window.sameDocument === true")


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    yield ctx
    ctx.close()


def test_first_slide_shows_name_and_photo(server: LiveServer, content: Path, context: Any) -> None:
    ana = approved(server, content, "ana", "Ana Ruiz", role="Swing-shift foreman")
    screen = Screen(context, server.url + "/display")
    screen.shows("Ana Ruiz")
    active = screen.page.locator(".slide.is-active")
    assert active.locator(".role").text_content() == "Swing-shift foreman"
    photo = active.locator('img[data-field="image"]')
    assert photo.get_attribute("src") == "/media/" + ana["image"]
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 400
    assert photo.evaluate("img => getComputedStyle(img).objectFit") == "cover"
    # the focal point (default: the upper middle of the photo) lands inside the photo's box,
    # near the middle, with room above for the head
    at = photo.evaluate(
        """img => {
          const [w, h, bw, bh] = [img.naturalWidth, img.naturalHeight,
                                  img.clientWidth, img.clientHeight];
          const scale = Math.max(bw / w, bh / h);
          const [px, py] = getComputedStyle(img).objectPosition.split(' ').map(parseFloat);
          const left = (px / 100) * (w * scale - bw), top = (py / 100) * (h * scale - bh);
          return [(0.5 * w * scale - left) / bw, (0.3 * h * scale - top) / bh];
        }"""
    )
    assert 0.4 <= at[0] <= 0.6 and 0.25 <= at[1] <= 0.5, at
    assert screen.page.evaluate("getComputedStyle(document.body).cursor") == "none"


def test_slides_rotate(server: LiveServer, content: Path, context: Any) -> None:
    for stem, name in [("ana", "Ana Ruiz"), ("ben", "Ben Okafor"), ("cleo", "Cleo Park")]:
        approved(server, content, stem, name)
    screen = Screen(context, f"{server.url}/display?{FAST}")
    for name in ["Ana Ruiz", "Ben Okafor", "Cleo Park", "Ana Ruiz"]:
        screen.shows(name)
    # two layers, reused: the DOM does not grow with every slide
    assert screen.page.locator(".slide").count() == 2


def test_approval_appears_and_retirement_leaves_without_reload(
    server: LiveServer, content: Path, context: Any
) -> None:
    ana = approved(server, content, "ana", "Ana Ruiz")
    screen = Screen(context, f"{server.url}/display?{FAST}")
    screen.shows("Ana Ruiz")
    ben = approved(server, content, "ben", "Ben Okafor")
    screen.shows("Ben Okafor")
    server.library.retire(ben["id"], "mod")
    version = server.get("/api/playlist").json()["version"]
    screen.page.wait_for_function(f"() => window.kiosk.version === {json.dumps(version)}")
    screen.wait_transitions(3)
    screen.shows("Ana Ruiz")
    seen = screen.page.evaluate(
        """() => new Promise((resolve) => {
            const names = new Set();
            const start = window.kiosk.transitions;
            const look = () => {
              names.add(document.querySelector('.slide.is-active .name').textContent);
              if (window.kiosk.transitions >= start + 4) resolve([...names]);
              else requestAnimationFrame(look);
            };
            look();
        })"""
    )
    assert seen == ["Ana Ruiz"]
    assert ana["id"] != ben["id"] and screen.stayed()


def test_story_html_and_script_show_as_text(
    server: LiveServer, content: Path, context: Any
) -> None:
    body = (
        "<script>window.pwnedBody = 1</script> <b>not bold</b> "
        '<img src="x" onerror="window.pwnedImg = 1"> [a link](javascript:alert(1))'
    )
    make_tree(
        content,
        {
            "x.md": story(
                '"<i>Eve</i> Smith"', body=body, quote='"<script>window.pwnedQuote=1</script>"'
            ),
            "x.jpg": jpeg(400, 500),
        },
    )
    server.library.approve(server.wait_status("x.md", "pending")["id"], "mod")
    screen = Screen(context, server.url + "/display")
    screen.shows("<i>Eve</i> Smith")
    active = screen.page.locator(".slide.is-active")
    assert active.locator(".quote").text_content() == "<script>window.pwnedQuote=1</script>"
    text = active.locator(".story").text_content()
    assert "<script>window.pwnedBody = 1</script>" in text and "<b>not bold</b>" in text
    assert active.locator(".story b, .story script, .story img, .story a").count() == 0
    assert active.locator(".name i").count() == 0
    pwned = screen.page.evaluate("[window.pwnedBody, window.pwnedImg, window.pwnedQuote]")
    assert pwned == [None, None, None]


def test_empty_state_shows_the_share(tmp_path: Path, context: Any) -> None:
    server = LiveServer(make_settings(tmp_path, share_path=r"\\kiosk\stories")).start()
    try:
        screen = Screen(context, server.url + "/display")
        screen.page.wait_for_function("() => document.documentElement.dataset.state === 'empty'")
        empty = screen.page.locator(".empty")
        assert empty.is_visible()
        assert "No stories yet — drop one into the share" in empty.text_content()
        assert r"\\kiosk\stories" in empty.text_content()
        # the first story appears without a reload
        approved(server, server.settings.content_dir, "ana", "Ana Ruiz")
        screen.shows("Ana Ruiz")
        assert not empty.is_visible() and screen.stayed()
    finally:
        server.stop()


def test_quiet_hours_are_dark(tmp_path: Path, context: Any) -> None:
    settings = make_settings(tmp_path, quiet_hours=["mon-sun 00:00-24:00"])
    server = LiveServer(settings).start()
    try:
        approved(server, settings.content_dir, "ana", "Ana Ruiz")
        screen = Screen(context, server.url + "/display")
        screen.page.wait_for_function("() => document.documentElement.dataset.state === 'quiet'")
        assert screen.page.evaluate("getComputedStyle(document.body).backgroundColor") == (
            "rgb(0, 0, 0)"
        )
        assert not screen.page.locator(".slide .name").first.is_visible()
        assert not screen.page.locator(".empty").is_visible()
        shot = Image.open(BytesIO(screen.page.screenshot()))
        assert shot.convert("L").getextrema() == (0, 0)  # every pixel black
    finally:
        server.stop()


def test_preview_shows_one_slide_fitted_and_nothing_else(server: LiveServer, context: Any) -> None:
    """The admin page loads /display?preview=ID in an iframe; its endpoint is the admin's."""
    sentences = " ".join(f"Sentence number {i} is about the loading dock." for i in range(80))
    slide = {
        "id": 7,
        "revision": 9,
        "name": "Preview Person",
        "role": "Tester",
        "organization": "",
        "location": "",
        "quote": "Short quote.",
        "html": f"<p>{sentences}</p>",
        "image": None,
        "photo_alt": "",
        "focal": [0.5, 0.3],
        "duration_ms": 100,
    }
    playlist = {"version": "p", "code": "c", "quiet": True, "slides": [slide, {**slide, "id": 8}]}
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    context.route(
        "**/api/admin/submissions/7/preview?screen=default",
        lambda route: route.fulfill(json=playlist),
    )
    screen = Screen(context, server.url + "/display?preview=7")
    screen.shows("Preview Person")  # shown even though the playlist says quiet
    active = screen.page.locator(".slide.is-active")
    story_text = active.locator(".story").text_content()
    # too long for one page: the first page ends after a whole sentence, and more pages follow
    assert story_text.startswith("Sentence number 0 ") and story_text.endswith("loading dock.")
    count = screen.page.evaluate("window.kiosk.page.count")
    assert count > 1 and active.locator(".pages").text_content() == f"1/{count}"
    box = active.locator(".text")
    assert box.evaluate("el => el.scrollHeight <= el.clientHeight")
    # Five times the slide's duration: long enough to see it would have rotated; a page of a
    # preview stays for its reading time (at least slide_seconds).
    screen.page.wait_for_timeout(500)
    assert screen.transitions() == 1
    assert not any(
        "/api/events" in u or "/heartbeat" in u or "/api/playlist" in u for u in requests
    )
    assert screen.page.evaluate("navigator.serviceWorker.getRegistrations()") == []


def test_reloads_every_reload_hours(tmp_path: Path, context: Any) -> None:
    server = LiveServer(make_settings(tmp_path, reload_hours=0.0005)).start()  # 1.8 s
    try:
        approved(server, server.settings.content_dir, "ana", "Ana Ruiz")
        screen = Screen(context, f"{server.url}/display?{FAST}")
        screen.shows("Ana Ruiz")
        screen.page.wait_for_event("framenavigated")  # reloaded, at a slide boundary
        screen.shows("Ana Ruiz")
    finally:
        server.stop()


def test_reloads_once_when_the_server_code_changes(
    server: LiveServer, content: Path, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    approved(server, content, "ana", "Ana Ruiz")
    screen = Screen(context, f"{server.url}/display?{FAST}")
    screen.shows("Ana Ruiz")
    monkeypatch.setattr(playlist, "code_version", lambda: "an upgrade")
    with screen.page.expect_event("framenavigated"):
        approved(server, content, "ben", "Ben Okafor")  # the event carries the new code
    screen.shows("Ben Okafor")
    config = "JSON.parse(document.getElementById('kiosk-config').textContent)"
    assert screen.page.evaluate(f"{config}.code") == server.get("/api/playlist").json()["code"]
    screen.wait_transitions(4)
    assert screen.navigations == 2  # the new page matches: no reload loop


@pytest.mark.timeout(240)  # its wait for 2000 transitions alone may take 150 s
def test_soak_dom_and_heap_stay_flat(server: LiveServer, content: Path, context: Any) -> None:
    for stem, name in [("ana", "Ana Ruiz"), ("ben", "Ben Okafor")]:
        approved(server, content, stem, name, role="Foreman", quote="We go home on time.")
    screen = Screen(context, f"{server.url}/display?slide_ms=15")
    page = screen.page
    cdp = context.new_cdp_session(page)

    def measure() -> tuple[int, float]:
        cdp.send("HeapProfiler.collectGarbage")
        nodes = cdp.send("Memory.getDOMCounters")["nodes"]
        return nodes, cdp.send("Runtime.getHeapUsage")["usedSize"] / 2**20

    screen.wait_transitions(100, timeout=30)  # warm up: caches, JIT, fonts
    nodes_before, heap_before = measure()
    elements = page.evaluate("document.getElementsByTagName('*').length")
    # ~35 transitions/s in software-rendered headless Chromium (the text fades on its own
    # layer since the wall issue); bench/display.py measures the 2,000 of the budget
    screen.wait_transitions(2000 if LONG_TESTS else 200, timeout=150)
    nodes_after, heap_after = measure()
    assert page.evaluate("document.getElementsByTagName('*').length") == elements
    assert nodes_after <= nodes_before + 50, (nodes_before, nodes_after)
    assert heap_after - heap_before < 5, (heap_before, heap_after)
    assert page.evaluate("window.kiosk.errors") == 0 and screen.stayed()


def test_offline_then_browser_restart_then_server_back(tmp_path: Path, browser: Any) -> None:
    settings = make_settings(tmp_path)
    server = LiveServer(settings).start()
    url = f"{server.url}/display?{FAST}"
    profile = tmp_path / "chromium-profile"
    launch = {
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
        "headless": True,
        "viewport": {"width": 1280, "height": 720},
    }
    chromium = browser.browser_type
    approved(server, settings.content_dir, "ana", "Ana Ruiz")
    approved(server, settings.content_dir, "ben", "Ben Okafor")
    make_tree(settings.content_dir, {"cleo.md": story("Cleo Park"), "cleo.jpg": jpeg(300, 400)})
    cleo = server.wait_status("cleo.md", "pending")
    ctx = chromium.launch_persistent_context(profile, **launch)
    try:
        screen = Screen(ctx, url)
        screen.shows("Ben Okafor")
        # the worker runs and the cache holds the page, the playlist and both photos
        screen.page.wait_for_function(
            """async () => {
              if (!navigator.serviceWorker.controller) return false;
              const cache = await caches.open('kiosk');
              const urls = (await cache.keys()).map((r) => new URL(r.url).pathname);
              return urls.includes('/display') && urls.includes('/api/playlist')
                && urls.filter((u) => u.startsWith('/media/')).length === 2;
            }""",
            timeout=15000,
        )
        server.stop()
        screen.wait_transitions(4)  # server gone: the wall keeps rotating
        assert screen.stayed()
    finally:
        ctx.close()

    ctx = chromium.launch_persistent_context(profile, **launch)
    try:
        screen = Screen(ctx, url)  # the server is still down: the service worker answers
        screen.shows("Ana Ruiz")
        screen.shows("Ben Okafor")
        photo = screen.page.locator('.slide.is-active img[data-field="image"]')
        assert photo.evaluate("i => i.naturalWidth") > 0

        offline = Library(settings.db_path)  # a decision made while the server was down
        offline.approve(cleo["id"], "mod")
        offline.close()
        server = LiveServer(settings).start()  # back on the same port
        screen.shows("Cleo Park", timeout=40)  # reconnects with backoff and catches up
        assert screen.stayed()
    finally:
        ctx.close()
        server.stop()


# Every cache of the page's origin: each entry's URL and, for what is not a photo, its body.
CACHED = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request, { ignoreVary: true });
      const type = (response && response.headers.get('Content-Type')) || '';
      const body = response && !type.startsWith('image/') ? await response.text() : '';
      out.push({ url: new URL(request.url).pathname, body });
    }
  }
  return out;
}"""


def test_withdrawal_leaves_nothing_in_the_offline_cache(
    server: LiveServer, content: Path, context: Any
) -> None:
    drop(server, content, "ana", "Ana Ruiz", color=1)
    drop(server, content, "ben", "Ben Okafor", color=2, body="Ben Okafor fixed the press.")
    ana = server.library.approve(server.wait_status("ana.md", "pending")["id"], "mod")
    ben = server.library.approve(server.wait_status("ben.md", "pending")["id"], "mod")
    photo = "/media/" + ben["image"]
    assert ana["image"] != ben["image"]
    screen = Screen(context, f"{server.url}/display?{FAST}")
    screen.shows("Ben Okafor")
    screen.page.wait_for_function(
        f"""async () => {{
          if (!navigator.serviceWorker.controller) return false;
          const urls = (await ({CACHED})()).map((e) => e.url);
          return urls.includes('/display') && urls.includes('/api/playlist')
            && urls.includes({json.dumps(photo)})
            && urls.filter((u) => u.startsWith('/media/')).length === 2
            && urls.filter((u) => u.startsWith('/api/slides/')).length === 2;
        }}""",
        timeout=15000,
    )
    before = screen.page.evaluate(CACHED)
    assert photo in [e["url"] for e in before]
    assert any("Ben Okafor" in e["body"] for e in before)

    (content / "ben.md").unlink()  # the customer withdraws: the file goes
    (content / "ben.jpg").unlink()
    server.wait_until(lambda: "Ben Okafor" not in {s["name"] for s in server.shown()}, timeout=15)
    version = server.get("/api/playlist").json()["version"]
    screen.page.wait_for_function(f"() => window.kiosk.version === {json.dumps(version)}")
    screen.wait_transitions(2)
    screen.shows("Ana Ruiz")
    screen.page.wait_for_function(
        f"""async () => {{
          const entries = await ({CACHED})();
          return !entries.some((e) => e.url === {json.dumps(photo)}
                                      || e.body.includes('Ben Okafor'));
        }}""",
        timeout=10000,
    )
    # A request for the photo after the withdrawal (the slide still on screen, a preload from
    # the old playlist) is answered, the file is not purged yet, but must not be cached again.
    status = screen.page.evaluate(f"async () => (await fetch({json.dumps(photo)})).status")
    assert status == 200
    after = screen.page.evaluate(CACHED)
    assert photo not in [e["url"] for e in after]
    assert not [e["url"] for e in after if "Ben Okafor" in e["body"]]
    # the other story stays, only its photo and its slide: two entries fewer than before
    assert [e["url"] for e in after if e["url"].startswith("/media/")] == ["/media/" + ana["image"]]
    texts = [e for e in after if e["url"].startswith("/api/slides/")]
    assert len(texts) == 1 and "Ana Ruiz" in texts[0]["body"]
    assert len(after) == len(before) - 2


# ---- screenshots --------------------------------------------------------------------------
# One screen per theme showing the examples (Babette Ruiz pinned first), and one per theme each
# for an Arabic and a Japanese story (picked by tag). The PNGs in docs/screenshots are written
# only with KIOSK_UPDATE_SCREENSHOTS=1; the layout is checked either way.
THEMES = ["default", "portrait", "high-contrast"]
SCRIPTS = {"": "Babette Ruiz", "rtl": STORIES["ar"]["name"], "cjk": STORIES["ja"]["name"]}
EXTRA_PORTRAITS = {
    "rtl": "bg=#d6a24f skin=#b07a52 hair=#1d1512 style=long top=blazer cloth=#2b4c7e shirt=#f4f3ee",
    "cjk": "bg=#9cc5a1 skin=#e8c4a0 hair=#3a3a3a style=short top=cardigan cloth=#8c5a3c "
    "shirt=#f4f3ee glasses=round frame=#5a3a2a",
}


def _portrait(spec: str) -> bytes:
    """A drawn portrait, by the examples' own drawing code (content/_make_photos.py)."""
    loader = importlib.util.spec_from_file_location(
        "make_photos", REPO / "content" / "_make_photos.py"
    )
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    looks = dict(item.split("=") for item in spec.split())
    img = module.portrait({k: module.rgb(v) if v.startswith("#") else v for k, v in looks.items()})
    out = BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture(scope="module")
def example_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The repository's example stories and an Arabic and a Japanese one, all approved."""
    root = tmp_path_factory.mktemp("examples")
    screens = {
        f"{k}-{t}" if k else t: {"theme": t, "tags": [k] if k else []}
        for t in THEMES
        for k in SCRIPTS
    }
    settings = make_settings(root, screens=screens)
    shutil.copytree(REPO / "content", settings.content_dir, dirs_exist_ok=True)
    for kind, stem in (("rtl", "ar"), ("cjk", "ja")):
        fields = {k: v for k, v in STORIES[stem].items() if k not in {"name", "body"}}
        make_tree(
            settings.content_dir,
            {
                f"{kind}-example.md": story(
                    STORIES[stem]["name"], body=STORIES[stem]["body"], tags=kind, **fields
                ),
                f"{kind}-example.jpg": _portrait(EXTRA_PORTRAITS[kind]),
            },
        )
    server = LiveServer(settings).start()
    server.wait_until(lambda: len(server.library.submissions("pending")) == 8, timeout=30)
    for sub in server.library.submissions("pending"):
        server.library.approve(sub["id"], "mod")
        if sub["name"] == "Babette Ruiz":
            server.library.patch(sub["id"], "mod", {"pinned": True})  # first, whatever the order
    yield server
    server.stop()


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
@pytest.mark.parametrize("kind", list(SCRIPTS), ids=["examples", "rtl", "cjk"])
@pytest.mark.parametrize("theme", THEMES)
def test_screenshot_fits_the_screen(
    example_server: LiveServer, browser: Any, theme: str, kind: str, size: tuple[int, int]
) -> None:
    width, height = size
    screen_name = f"{kind}-{theme}" if kind else theme
    ctx = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = ctx.new_page()
        page.goto(f"{example_server.url}/display?screen={screen_name}&slide_ms=600000")
        page.wait_for_function(  # and its fade is over
            "() => window.kiosk.transitions === 1 && document.getAnimations().length === 0"
        )
        page.evaluate("document.fonts.ready")
        layout = page.evaluate(
            """() => {
              const active = document.querySelector('.slide.is-active');
              const box = (sel) => {
                const r = active.querySelector(sel).getBoundingClientRect();
                return [r.left, r.top, r.right, r.bottom];
              };
              const text = active.querySelector('.text');
              const story = active.querySelector('.story');
              return {
                name: box('.name'), role: box('.role'), photo: box('.photo'),
                overflow: [text.scrollHeight, text.clientHeight,
                           text.scrollWidth, text.clientWidth],
                body: parseFloat(getComputedStyle(story).fontSize),
                story: story.textContent,
                direction: getComputedStyle(story).direction,
                name_text: active.querySelector('.name').textContent,
                pages: window.kiosk.page.count,
              };
            }"""
        )
        for part in ("name", "role", "photo"):
            left, top, right, bottom = layout[part]
            assert left >= 0 and top >= 0 and right <= width + 0.5 and bottom <= height + 0.5, part
            assert right - left > 0 and bottom - top > 0, part
        scroll_h, client_h, scroll_w, client_w = layout["overflow"]
        assert scroll_h <= client_h and scroll_w <= client_w
        assert layout["body"] >= 0.035 * min(width, height) - 0.01
        assert layout["name_text"] == SCRIPTS[kind] and layout["story"]
        assert layout["pages"] == 1  # the examples are template length: one page each
        assert layout["direction"] == ("rtl" if kind == "rtl" else "ltr")
        if UPDATE_SCREENSHOTS:
            # Half size for the README: small in the repository, still sharp enough to judge.
            shot = Image.open(BytesIO(page.screenshot())).resize((width // 2, height // 2))
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            prefix = f"{kind}-" if kind else ""
            shot.save(SCREENSHOTS / f"{prefix}{theme}-{width}x{height}.png", optimize=True)
    finally:
        ctx.close()


def test_one_approval_costs_a_screen_the_changes_and_the_new_slide(
    server: LiveServer, content: Path, context: Any
) -> None:
    """A screen that has the playlist fetches, after one approval, the splices and the one new
    slide and photo: not the playlist again, not any slide it already has."""
    for stem, name in [("ana", "Ana Ruiz"), ("ben", "Ben Okafor")]:
        approved(server, content, stem, name)
    screen = Screen(context, f"{server.url}/display?{FAST}")
    screen.shows("Ben Okafor")
    had = {ref["hash"] for ref in server.get("/api/playlist").json()["slides"]}
    screen.page.wait_for_function(  # the offline copy is complete: nothing left to fetch
        f"""async () => {{
          const cache = await caches.open('kiosk');
          const urls = (await cache.keys()).map((r) => new URL(r.url).pathname);
          return {json.dumps(sorted(had))}.every((h) => urls.includes('/api/slides/' + h));
        }}""",
        timeout=15000,
    )
    fetched: list[tuple[str, int]] = []

    def finished(request: Any) -> None:
        response = request.response()
        if response is not None and not response.from_service_worker:
            fetched.append((request.url.removeprefix(server.url), len(response.body())))

    context.on("requestfinished", finished)
    cleo = approved(server, content, "cleo", "Cleo Park")
    screen.shows("Cleo Park")
    version = server.get("/api/playlist").json()["version"]
    screen.page.wait_for_function(f"() => window.kiosk.version === {json.dumps(version)}")
    (new,) = {r["hash"] for r in server.get("/api/playlist").json()["slides"]} - had
    screen.page.wait_for_function(
        f"""async () => !!(await (await caches.open('kiosk')).match('/api/slides/{new}'))""",
        timeout=15000,
    )
    urls = [u for u, _ in fetched if not u.startswith(("/api/events", "/api/screens/"))]
    slides = [u for u in urls if u.startswith("/api/slides/")]
    assert slides and set(slides) == {f"/api/slides/{new}"}, urls
    assert {u for u in urls if u.startswith("/media/")} <= {"/media/" + cleo["image"]}
    playlists = [u for u in urls if u.startswith("/api/playlist")]
    assert playlists and all("since=" in u for u in playlists), urls
    assert sum(size for u, size in fetched if not u.startswith("/media/")) < 5000, fetched


# Per animation frame of one slide change: the elements whose opacity animates (or waits to),
# and those of them with an ancestor whose opacity animates too. Such an ancestor needs an
# offscreen pass of its own for every frame of the fade (a render surface, in Chromium).
NESTED_FADES = """(fadeMs) => new Promise((resolve) => {
  const start = window.kiosk.transitions;
  const seen = new Set();
  const nested = new Set();
  const under = new Set(); // which of the incoming photo and name fade, by themselves or within
  const fadesWith = (el, own) => {
    for (let e = el; e; e = e.parentElement) if (own.has(e)) return true;
    return false;
  };
  let changed = 0;
  const label = (el, pseudo) =>
    el.tagName.toLowerCase() + Array.from(el.classList, (c) => '.' + c).join('') + (pseudo || '');
  const fadesOpacity = (a) => a.transitionProperty !== undefined
    ? a.transitionProperty === 'opacity'
    : a.effect.getKeyframes().some((k) => 'opacity' in k);
  const look = () => {
    if (!changed && window.kiosk.transitions > start) changed = performance.now();
    if (changed) {
      const fading = document.getAnimations()
        .filter((a) => a.playState === 'running' && a.effect && a.effect.target && fadesOpacity(a))
        .map((a) => [a.effect.target, a.effect.pseudoElement]);
      const own = new Set(fading.filter(([, pseudo]) => !pseudo).map(([el]) => el));
      for (const part of ['img[data-field="image"]', '[data-field="name"]']) {
        if (fadesWith(document.querySelector('.slide.is-active ' + part), own)) under.add(part);
      }
      for (const [el, pseudo] of fading) {
        seen.add(label(el, pseudo));
        for (let up = pseudo ? el : el.parentElement; up; up = up.parentElement) {
          if (own.has(up)) nested.add(label(el, pseudo) + ' inside ' + label(up));
        }
      }
    }
    if (changed && performance.now() - changed > fadeMs + 100) {
      resolve({ seen: [...seen].sort(), nested: [...nested].sort(), under: [...under].sort() });
    } else {
      requestAnimationFrame(look);
    }
  };
  look();
})"""


@pytest.mark.parametrize("theme", THEMES)
def test_crossfade_is_flat(example_server: LiveServer, browser: Any, theme: str) -> None:
    """While one slide fades into the next, no fading element lies inside another fading one:
    each fades on its own layer, and the compositor draws no offscreen pass for a whole slide."""
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        page.goto(f"{example_server.url}/display?screen={theme}&slide_ms=3600")
        page.wait_for_function("() => window.kiosk.transitions >= 1")
        fade_ms = page.evaluate(
            "() => parseFloat(getComputedStyle(document.documentElement)"
            ".getPropertyValue('--fade'))"
        )
        assert fade_ms == 1200
        fades = page.evaluate(NESTED_FADES, fade_ms)
        # the slide change did fade in the incoming photo and name
        assert fades["under"] == ['[data-field="name"]', 'img[data-field="image"]'], fades
        assert fades["nested"] == [], fades
    finally:
        ctx.close()
