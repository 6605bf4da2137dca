"""The whole story on a phone: the page a slide's QR code opens, and the code itself, scanned
from screenshots of the wall in real Chromium against a real server."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from PIL import Image
from skimage import data

from kiosk import faces
from kiosk.settings import SettingsError, load
from kiosk.theme import ThemeError, load_theme

from .factories import STORIES, jpeg, make_tree, story
from .support import LiveServer, free_port, make_settings

PHONE = {"width": 390, "height": 844}  # an iPhone 13's CSS viewport
WALL = (1920, 1080)
UPRIGHT = (1080, 1920)

# What a phone camera makes of the wall from 1.5 m. A 55" 16:9 screen is 1.218 m wide, so at
# 1080p a screen pixel is 0.634 mm. A phone's main camera sees about 66 degrees across: at 1.5 m
# that is 2 x 1.5 m x tan(33 deg) = 1.95 m. QR scanners (ML Kit, the iOS camera) work on a video
# stream of 1280 or 1920 pixels across; with the lower, 1280 px over 1.95 m is 0.656 px per mm,
# so one screen pixel becomes 0.634 x 0.656 = 0.42 camera pixels. The screenshot scaled to 0.4
# is what the worse of those phones resolves from 1.5 m; the code must decode from it too.
CAMERA_AT_1_5_M = 0.4


def arabic_fields() -> dict[str, str]:
    return {k: v for k, v in STORIES["ar"].items() if k not in {"name", "body"}}


def latin_fields() -> dict[str, str]:
    return {"role": "Swing-shift foreman", "organization": "Valley Bottling"} | {
        "quote": STORIES["en-short"]["quote"],
        "location": "Fresno",
        "photo_alt": "Ana Ruiz in a hard hat, smiling, in front of the bottling line",
    }


LATIN_BODY = (
    "Ana keeps the bottling line running through the night.\n\n"
    "When a filler jams at 3 a.m. she is the one who *knows* which valve sticks.\n\n"
    "- she trained twelve new operators\n- she has not missed a shift in four years\n\n"
    "The last sentence of her story is this one, and it must be on the phone."
)


def astronaut_photo() -> bytes:
    """A real face (scikit-image's astronaut), so the tests can find it on the screenshot."""
    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((800, 800)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    # The code must say an address the test can open: here the loopback one. On a Pi it is
    # http://NAME.local:PORT unless public_url says otherwise (see test_public_url_default).
    port = free_port()
    settings = make_settings(
        tmp_path,
        port=port,
        public_url=f"http://127.0.0.1:{port}/",
        slide_seconds=120,  # one slide stays still while the test looks at it
        screens={"upright": {"theme": "portrait", "orientation": "portrait"}},
    )
    live = LiveServer(settings).start()
    yield live
    live.stop()


def add_story(server: LiveServer, stem: str, name: str, body: str, photo: bytes, **fields: str):
    make_tree(server.settings.content_dir, {f"{stem}.md": story(name, body, **fields)})
    make_tree(server.settings.content_dir, {f"{stem}.jpg": photo})
    return server.wait_status(f"{stem}.md", "pending")


def approve(server: LiveServer, stem: str, name: str, body: str, **fields: str) -> int:
    sub = add_story(server, stem, name, body, jpeg(600, 800), **fields)
    return server.library.approve(sub["id"], "mod")["id"]


def story_url(server: LiveServer, sid: int) -> str:
    return f"{server.url}/story/{sid}"


# ---- the phone page -------------------------------------------------------------------------
def test_the_phone_page_shows_the_whole_story(
    server: LiveServer, browser: Any, tmp_path: Path
) -> None:
    sid = approve(server, "ana", "Ana Ruiz", LATIN_BODY, **latin_fields())
    response = server.get(f"/story/{sid}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]

    ctx = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=3)
    try:
        page = ctx.new_page()
        page.goto(story_url(server, sid))
        assert page.locator("main h1").inner_text() == "Ana Ruiz"
        assert page.locator(".role").inner_text() == "Swing-shift foreman"
        assert page.locator(".where").inner_text() == "Valley Bottling · Fresno"
        assert "We go home on time now" in page.locator("blockquote").inner_text()
        text = page.locator(".story").inner_text()
        for words in ("which valve sticks", "twelve new operators", "must be on the phone"):
            assert words in text
        assert page.locator(".story em").inner_text() == "knows"  # Markdown, rendered
        photo = page.locator("img.photo")
        assert photo.get_attribute("alt") == latin_fields()["photo_alt"]
        page.wait_for_function("() => document.querySelector('img.photo').naturalWidth > 0")
        # fits a phone: nothing wider than the screen, the story's text large enough to read
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        size = page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.story')).fontSize)"
        )
        assert size >= 16
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        page.screenshot(path=str(tmp_path / "qr-phone-latin.png"), full_page=True)
    finally:
        ctx.close()


def test_an_arabic_story_reads_right_to_left(
    server: LiveServer, browser: Any, tmp_path: Path
) -> None:
    ar = approve(server, "salma", STORIES["ar"]["name"], STORIES["ar"]["body"], **arabic_fields())
    he = STORIES["he"]  # no language field: the direction comes from the text
    he_fields = {k: v for k, v in he.items() if k not in {"name", "body"}}
    hebrew = approve(server, "noa", he["name"], he["body"], **he_fields)
    ctx = browser.new_context(viewport=PHONE, is_mobile=True)
    try:
        page = ctx.new_page()
        page.goto(story_url(server, ar))
        assert page.evaluate("document.documentElement.lang") == "ar"
        direction = "el => getComputedStyle(el).direction"
        for selector in ("html", "h1", ".role", "blockquote", ".story p"):
            assert page.locator(selector).first.evaluate(direction) == "rtl", selector
        assert page.locator(".story").inner_text().strip().endswith("أطفالها.")
        assert page.locator("footer").evaluate(direction) == "ltr"  # the page's English words
        page.screenshot(path=str(tmp_path / "qr-phone-arabic.png"), full_page=True)
        page.goto(story_url(server, hebrew))
        for selector in ("h1", ".story"):
            assert page.locator(selector).evaluate(direction) == "rtl", selector
        assert page.evaluate("document.documentElement.hasAttribute('lang')") is False
    finally:
        ctx.close()


def gone(server: LiveServer, sid: int) -> bool:
    """Page, photo and code all answer 404, with nothing a phone may keep."""
    answers = [server.get(p) for p in (f"/story/{sid}", f"/story/{sid}/photo", f"/qr/{sid}.svg")]
    return all(a.status_code == 404 and a.headers["cache-control"] == "no-store" for a in answers)


def test_only_stories_on_the_screens_have_a_page(server: LiveServer) -> None:
    pending = add_story(server, "pia", "Pia Pending", "Not yet.", jpeg())["id"]
    rejected = add_story(server, "rex", "Rex Rejected", "Never.", jpeg())["id"]
    server.library.reject(rejected, "mod", "not a customer")
    later = approve(server, "fay", "Fay Future", "Soon.", start="2999-01-01")
    ended = approve(server, "eli", "Eli Ended", "Was.", consent="yes", consent_until="2001-01-31")
    retired = approve(server, "ray", "Ray Retired", "Was here.")
    assert server.get(f"/story/{retired}").status_code == 200
    server.library.retire(retired, "mod")
    for sid in (pending, rejected, later, ended, retired, 9999):
        assert gone(server, sid), sid
    page = server.get(f"/story/{retired}")
    assert "not on the screens any more" in page.text
    assert "Ray Retired" not in page.text and "Was here" not in page.text


def test_a_withdrawn_story_is_gone_at_once(server: LiveServer) -> None:
    sid = approve(server, "wil", "Wil Withdrawn", "Changed his mind.")
    assert server.get(f"/story/{sid}").status_code == 200
    assert server.get(f"/story/{sid}/photo").status_code == 200
    assert server.get(f"/qr/{sid}.svg").headers["content-type"] == "image/svg+xml"
    (server.settings.content_dir / "wil.md").unlink()
    (server.settings.content_dir / "wil.jpg").unlink()
    server.wait_until(lambda: server.library.submission(sid)["retired_at"] is not None)
    assert gone(server, sid)  # the first request after the withdrawal, nothing in between


def test_public_url_default(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    name = socket.gethostname().split(".")[0].lower()
    assert settings.public_origin == f"http://{name}.local:{settings.port}"  # avahi's name
    named = make_settings(tmp_path, public_url="http://kiosk.example.org/")
    assert named.public_origin == "http://kiosk.example.org"
    from_env = load(environ={"KIOSK_PUBLIC_URL": "http://192.168.1.20:8000"}, base=settings)
    assert from_env.public_origin == "http://192.168.1.20:8000"
    with pytest.raises(SettingsError, match="without a path"):
        make_settings(tmp_path, public_url="kiosk.local/story")


def test_a_theme_says_qr_true_or_false(tmp_path: Path) -> None:
    make_tree(tmp_path, {"odd/theme.toml": 'extends = "default"\nqr = "yes"\n'})
    make_tree(tmp_path, {"kid/theme.toml": 'extends = "portrait"\n'})
    with pytest.raises(ThemeError, match="qr must be true or false"):
        load_theme("odd", tmp_path)
    assert load_theme("kid", tmp_path).qr is True  # from default, through portrait


# ---- the code on the wall -------------------------------------------------------------------
def screenshot(browser: Any, url: str, size: tuple[int, int], path: Path) -> dict[str, Any]:
    """The wall once the slide's QR code is in and faded in; and where things are on it."""
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_function(
        """() => {
          const qr = document.querySelector('.slide.is-active .qr');
          const img = qr && qr.querySelector('img');
          return img && img.complete && img.naturalWidth > 0 && !qr.hidden
            && getComputedStyle(qr).opacity === '1' && document.getAnimations().length === 0;
        }""",
        timeout=15000,
    )
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(path))
    boxes = page.evaluate(
        """() => {
          const box = (el) => { const r = el.getBoundingClientRect();
                                 return [r.left, r.top, r.right, r.bottom]; };
          const slide = document.querySelector('.slide.is-active');
          const texts = [...slide.querySelectorAll('[data-field]:not(img), .pages')]
            .filter((el) => el.textContent.trim() && el.getClientRects().length);
          return {qr: box(slide.querySelector('.qr')), code: box(slide.querySelector('.qr img')),
                  texts: texts.map(box), photo: box(slide.querySelector('.photo'))};
        }"""
    )
    ctx.close()
    return boxes


def decode(image: np.ndarray) -> str:
    """The text of the QR code in `image`, as OpenCV reads it; "" when it cannot.

    OpenCV's classic detector first, then its ArUco-based one, which finds small codes the
    classic one misses (at 0.4 it decodes the one and not the other, by the sampling phase).
    Phones' own scanners (ML Kit, Apple's Vision) are better than either."""
    for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        text, _, _ = detector.detectAndDecode(image)
        if text:
            return text
    return ""


def overlaps(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def face_box(path: Path) -> list[float]:
    """The head on the screenshot, found as ingest finds it (kiosk.faces), in pixels."""
    shot = Image.open(path)
    found = faces.find_focal(shot)
    assert found is not None, "no face on the screenshot"
    left, top, right, bottom = found
    w, h = shot.size
    return [left * w, top * h, right * w, bottom * h]


@pytest.mark.parametrize("script", ["latin", "arabic"])
def test_the_code_on_the_wall_scans_from_across_the_hallway(
    server: LiveServer, browser: Any, tmp_path: Path, script: str
) -> None:
    if script == "latin":
        sub = add_story(server, "ana", "Ana Ruiz", LATIN_BODY, astronaut_photo(), **latin_fields())
        name = "Ana Ruiz"
    else:
        ar = STORIES["ar"]
        sub = add_story(
            server, "salma", ar["name"], ar["body"], astronaut_photo(), **arabic_fields()
        )
        name = ar["name"]
    sid = server.library.approve(sub["id"], "mod")["id"]
    shot = tmp_path / f"qr-{script}-1920x1080.png"
    boxes = screenshot(browser, server.url + "/display", WALL, shot)

    wall = cv2.imread(str(shot))
    size = boxes["code"][2] - boxes["code"][0]
    assert 180 <= size <= 230, size  # small beside a 1080 px high photo, large enough to scan
    assert decode(wall) == story_url(server, sid)
    far = cv2.resize(
        wall, None, fx=CAMERA_AT_1_5_M, fy=CAMERA_AT_1_5_M, interpolation=cv2.INTER_AREA
    )
    cv2.imwrite(str(tmp_path / f"qr-{script}-1920x1080-at-1.5m.png"), far)
    url = decode(far)
    assert url == story_url(server, sid)
    page = httpx.get(url, timeout=10)  # what the phone opens
    assert page.status_code == 200 and name in page.text

    for text in boxes["texts"]:
        assert not overlaps(boxes["qr"], text), (boxes["qr"], text)
    assert not overlaps(boxes["qr"], face_box(shot))


@pytest.mark.parametrize("script", ["latin", "arabic"])
def test_the_code_keeps_clear_of_face_and_text_on_an_upright_screen(
    server: LiveServer, browser: Any, tmp_path: Path, script: str
) -> None:
    if script == "latin":
        sub = add_story(server, "ana", "Ana Ruiz", LATIN_BODY, astronaut_photo(), **latin_fields())
    else:
        ar = STORIES["ar"]
        sub = add_story(
            server, "salma", ar["name"], ar["body"], astronaut_photo(), **arabic_fields()
        )
    sid = server.library.approve(sub["id"], "mod")["id"]
    for screen in ("default", "upright"):  # the default theme and the portrait one
        shot = tmp_path / f"qr-{script}-{screen}-1080x1920.png"
        boxes = screenshot(browser, f"{server.url}/display?screen={screen}", UPRIGHT, shot)
        assert boxes["texts"], "no text found on the slide"
        for text in boxes["texts"]:
            assert not overlaps(boxes["qr"], text), (screen, boxes["qr"], text)
        assert not overlaps(boxes["qr"], face_box(shot)), screen
        assert decode(cv2.imread(str(shot))) == story_url(server, sid), screen


def test_a_theme_can_turn_the_code_off(server: LiveServer, browser: Any, tmp_path: Path) -> None:
    themes = tmp_path / "themes"
    make_tree(themes, {"plain/theme.toml": 'extends = "default"\nqr = false\n'})
    make_tree(themes, {"plain/slide.html": '{% extends "slide-base.html" %}'})
    settings = server.settings.replace(themes_dir=themes, theme="plain", port=free_port())
    approve(server, "ana", "Ana Ruiz", "Keeps the line running.")
    server.stop()
    plain = LiveServer(settings).start()
    try:
        ctx = browser.new_context(viewport={"width": 1280, "height": 720})
        page = ctx.new_page()
        page.goto(plain.url + "/display")
        page.wait_for_function("() => window.kiosk && window.kiosk.transitions > 0")
        assert page.locator(".qr").count() == 0
        ctx.close()
        assert plain.shown()[0]["qr"].startswith("/qr/")
    finally:
        plain.stop()
