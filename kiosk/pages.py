"""On how many pages each story plays, per screen shape and theme, for `kiosk check --pages`.

The player splits a story too long for the screen into pages in the browser, with the theme's
fonts at the screen's size; nothing in Python can predict that. So this starts the real server
on a throw-away data folder and a free loopback port, approves nothing, and has headless
Chromium open each story's moderator preview (`/display?preview=ID`), as the admin page does,
reading the count the player keeps in `window.kiosk.page`.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from .settings import Settings

CHROMIUM = "/usr/bin/chromium"
# Headless, and nothing that reaches beyond loopback (updates, sync, QUIC probes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = "could not measure pages: install chromium and the `pages` extra"
INGEST_SECONDS = 120.0  # the server renders every photo again before it lists the stories
PAGE_SECONDS = 20.0  # per preview: the player shows the slide once its photo and fonts are in
LANDSCAPE, UPRIGHT = (1920, 1080), (1080, 1920)


class Shape(NamedTuple):
    """One way a story is shown: the screen whose theme applies, at a width × height."""

    label: str  # what the report calls it, e.g. "1080×1920 (default)" or "lobby (upright)"
    screen: str
    size: tuple[int, int]


class Unavailable(Exception):
    """Playwright or Chromium is not installed: `str()` says what to do."""


def shapes(settings: Settings) -> list[Shape]:
    """The default screen landscape and upright, then every `[screens.NAME]` as configured."""
    found = [Shape(f"{w}×{h} (default)", "default", (w, h)) for w, h in (LANDSCAPE, UPRIGHT)]
    for name, screen in sorted(settings.screens.items()):
        upright = screen.orientation == "portrait"
        found.append(
            Shape(
                f"{name} ({'upright' if upright else 'landscape'})",
                name,
                UPRIGHT if upright else LANDSCAPE,
            )
        )
    return found


def measure(settings: Settings, sources: list[str], scratch: Path) -> dict[str, dict[str, int]]:
    """For each story file in `sources` (relative to the content folder): {shape label: pages}.

    `scratch` is an empty folder for the server's database and renditions. Raises Unavailable
    without Playwright or Chromium; a story whose preview never shows is left out.
    """
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        raise Unavailable(MISSING) from e
    if not Path(CHROMIUM).is_file() and not shutil.which("chromium"):
        raise Unavailable(MISSING)
    with _server(settings, scratch) as (url, token, app):
        ids = _ingested(app, set(sources))
        out: dict[str, dict[str, int]] = {}
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    for shape in shapes(settings):
                        w, h = shape.size
                        context = browser.new_context(
                            viewport={"width": w, "height": h},
                            extra_http_headers={"Authorization": f"Bearer {token}"},
                        )
                        page = context.new_page()
                        for source in sources:
                            if source not in ids:
                                continue
                            count = _count(
                                page, f"{url}/display?screen={shape.screen}&preview={ids[source]}"
                            )
                            if count is not None:
                                out.setdefault(source, {})[shape.label] = count
                        context.close()
                finally:
                    browser.close()
        except PlaywrightError as e:
            raise Unavailable(f"{MISSING} ({str(e).splitlines()[0]})") from e
    return out


def _count(page: Any, url: str) -> int | None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(url)
    try:
        found = page.wait_for_function(
            "() => window.kiosk && window.kiosk.page", timeout=PAGE_SECONDS * 1000
        )
    except PlaywrightTimeout:
        return None
    return int(found.json_value()["count"])


def _ingested(app: Any, sources: set[str]) -> dict[str, int]:
    """Submission ids by source, once the server's first scan has taken in every one."""
    library = app.state.library
    deadline = time.monotonic() + INGEST_SECONDS
    while True:
        ids = {s["source"]: s["id"] for s in library.submissions() if s["source"] in sources}
        if len(ids) == len(sources) or time.monotonic() > deadline:
            return ids
        time.sleep(0.1)


@contextmanager
def _server(settings: Settings, scratch: Path) -> Iterator[tuple[str, str, Any]]:
    """The app on a free loopback port with its data in `scratch`: (url, moderator token, app)."""
    import uvicorn
    from argon2 import PasswordHasher

    from .app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing is written into the content folder: no _status.txt.
    settings = dataclasses.replace(settings, data_dir=scratch, port=port, status_file=False)
    # The database is thrown away after: no reason to spend argon2's full cost on its user.
    app = create_app(settings, hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    auth = app.state.auth
    # A user first, so the server does not print a first-admin password on start.
    auth.add_user("kiosk-check", "moderator", secrets.token_urlsafe(24), "kiosk check")
    token = auth.create_token("kiosk check --pages", "moderator", "kiosk check")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="kiosk-pages", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server for measuring pages did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", token, app
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def needs(counts: dict[str, dict[str, int]]) -> list[str]:
    """One line per story and shape where it takes more than one page, for `kiosk check`."""
    return [
        f"{source}: needs {n} pages on {label}"
        for source, by_shape in counts.items()
        for label, n in by_shape.items()
        if n > 1
    ]
