"""What tests and benchmarks share: a real server on loopback, settings around temp folders,
waits with deadlines, the Chromium to drive, signed-in clients, and the run's switches.

The builders of files and content live in `factories.py`; pytest fixtures in `conftest.py`.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from kiosk import pages
from kiosk.app import create_app
from kiosk.library import Library
from kiosk.settings import Settings, load

REPO = Path(__file__).resolve().parent.parent
INSTALL = REPO / "deploy" / "raspberry-pi" / "install.sh"

# KIOSK_LONG_TESTS=1 runs the load, scale, fuzz and soak tests at full size (minutes each).
LONG_TESTS = os.environ.get("KIOSK_LONG_TESTS") == "1"
# KIOSK_UPDATE_SCREENSHOTS=1 rewrites the screenshots in docs/; otherwise a run leaves the
# repository as it was.
UPDATE_SCREENSHOTS = os.environ.get("KIOSK_UPDATE_SCREENSHOTS") == "1"
SCREENSHOTS = REPO / "docs" / "screenshots"

CHROMIUM = os.environ.get("KIOSK_TEST_CHROMIUM", pages.CHROMIUM)
CHROMIUM_ARGS = pages.CHROMIUM_ARGS  # headless, nothing beyond loopback: as `kiosk check --pages`

# Real argon2 with test-sized costs: the production defaults spend ~0.3 s per hash on purpose,
# and every server start hashes once (the first admin). test_auth keeps one test on the defaults.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"


class Changes:
    """Counts a library's changes, so a wait can sleep until the next one instead of polling."""

    def __init__(self, library: Library) -> None:
        self._count = 0
        self._moved = threading.Condition()
        library.on_change(self._changed)

    def _changed(self) -> None:
        with self._moved:
            self._count += 1
            self._moved.notify_all()

    @property
    def count(self) -> int:
        return self._count

    def wait_past(self, seen: int, timeout: float) -> None:
        """Return once there was a change after the `seen`th, or after `timeout` seconds."""
        with self._moved:
            self._moved.wait_for(lambda: self._count != seen, timeout)


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.05,
    *,
    changes: Changes | None = None,
) -> Any:
    """Until `predicate` returns something truthy; fail clearly at the deadline.

    With `changes`, the predicate runs again only after the library changed (the signal the
    screens and `_status.txt` act on too); without, every `interval` seconds, for conditions
    that nothing signals (a socket, a file, another process).
    """
    deadline = time.monotonic() + timeout
    while True:
        # Read the count before the predicate: a change during it then ends the next wait at once.
        seen = changes.count if changes else 0
        last = predicate()
        if last:
            return last
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")
        if changes:
            changes.wait_past(seen, left)
        else:
            time.sleep(min(interval, left))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings around `tmp_path/content` and `tmp_path/data`, with test-sized timings."""
    content = tmp_path / "content"
    content.mkdir(exist_ok=True)
    values: dict[str, Any] = {
        "content_dir": content,
        "data_dir": tmp_path / "data",
        "settle_seconds": 0.1,
        "poll_seconds": 0.3,
        "rescan_seconds": 30,
        "watch": "native",
        "port": free_port(),
    }
    values.update(overrides)
    return load(overrides=values, environ={})


def descendants(pid: int, *, depth: int | None = None) -> list[int]:
    """Every process below `pid` (children, their children…), or those `depth` levels below
    it alone (2: its children's children), read from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # the name in parentheses may hold spaces: the fields after its last ")" are fixed
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while we looked
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    todo = [(pid, 0)]
    while todo:
        parent, level = todo.pop()
        for kid in parents.get(parent, []):
            if depth is None or depth == level + 1:
                found.append(kid)
            todo.append((kid, level + 1))
    return found


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


def pss_mb(pid: int) -> float:
    """The process's share of the memory it uses (PSS: shared pages divided among their users),
    in MB; 0 for a process that has ended. Summed over processes it counts each page once."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (OSError, ValueError):
        return 0.0
    for line in rollup.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


class TreeMemory:
    """The peak, over a `with` block, of the memory of a process and everything below it (its
    photo decoders, which come and go): PSS summed over the tree, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            tree = [self.pid, *descendants(self.pid)]
            self.peak_mb = max(self.peak_mb, sum(pss_mb(p) for p in tree))


def _source_copy(dest: Path) -> Path:
    """The files git tracks (what a clone has), so build leftovers never reach the checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout
    for rel in filter(None, listed.decode().split("\0")):
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    return dest


def install_wheel(root: Path) -> Path:
    """Build the wheel from the files git tracks and install it in a venv under `root`, outside
    the checkout (what install.sh and pipx give a user); returns the venv folder.

    Its dependencies come from this environment's site-packages (a .pth line) so nothing is
    downloaded again; the program itself comes only from the wheel."""
    src = _source_copy(root / "src")
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(dist), str(src)],
        check=True,
        cwd=root,
    )
    (wheel,) = dist.glob("*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(
        subprocess.run(
            [venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install", "-q"]
        + ["--no-deps", "--no-index", str(wheel)],
        check=True,
        cwd=root,
    )
    return venv


class LiveServer:
    """A real uvicorn serving `create_app(settings)` on a loopback port, in a thread.

    Passwords hash with `hasher` (cheap by default; None for the production defaults).
    """

    def __init__(self, settings: Settings, hasher: PasswordHasher | None = CHEAP_HASHER) -> None:
        self.settings = settings
        self.hasher = hasher
        self.url = f"http://127.0.0.1:{settings.port}"
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.app: FastAPI | None = None
        self.changes: Changes | None = None

    def start(self) -> LiveServer:
        self.app = create_app(self.settings, hasher=self.hasher)
        self.changes = Changes(self.library)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.settings.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=15)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=15)
            self.server = None

    @property
    def library(self) -> Library:
        return self.app.state.library

    @property
    def watcher(self) -> Any:
        return self.app.state.watcher

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kw)

    def submissions(self, status: str | None = None) -> list[dict[str, Any]]:
        return self.library.submissions(status)

    def shown(self, screen: str = "default") -> list[dict[str, Any]]:
        """The slides of the screen's playlist, each fetched by its hash as a screen does; read
        again when the playlist changed between the two (a slide just withdrawn is a 404)."""
        for _ in range(10):
            refs = self.get(f"/api/playlist?screen={screen}").json()["slides"]
            answers = [self.get(f"/api/slides/{ref['hash']}") for ref in refs]
            if all(a.status_code == 200 for a in answers):
                break
        return [a.raise_for_status().json() for a in answers]

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 10) -> Any:
        """`wait_for` for the library's state: wakes on each change instead of polling."""
        return wait_for(predicate, timeout, changes=self.changes)

    def wait_status(self, source: str, status: str, timeout: float = 10) -> dict[str, Any]:
        """Wait until the submission for `source` has `status`, as a moderator would see it."""

        def find() -> dict[str, Any] | None:
            for s in self.library.submissions():
                if s["source"] == source and s["status"] == status:
                    return s
            return None

        return self.wait_until(find, timeout)


# ---- moderators ---------------------------------------------------------------------------
def add_users(server: LiveServer) -> None:
    """`mod` (moderator) and `ann` (admin), both with PASSWORD."""
    auth = server.app.state.auth
    auth.add_user("mod", "moderator", PASSWORD, "test")
    auth.add_user("ann", "admin", PASSWORD, "test")


def anonymous(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=10)


def signed_in(server: LiveServer, name: str = "mod") -> httpx.Client:
    """A client with the session cookie, sending the CSRF token on every request."""
    client = anonymous(server)
    answer = client.post("/api/admin/login", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


# ---- deployment ---------------------------------------------------------------------------
def dry_run(destdir: Path, *args: str) -> str:
    """Run install.sh --dry-run into `destdir`; its output (it must succeed)."""
    env = {k: v for k, v in os.environ.items() if k != "SUDO_USER"} | {"DESTDIR": str(destdir)}
    done = subprocess.run(
        ["bash", str(INSTALL), "--dry-run", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


# ---- screens -------------------------------------------------------------------------------
class Events:
    """An SSE connection read on a thread; `next()` waits for the next `playlist` event."""

    def __init__(self, url: str) -> None:
        self.events: queue.Queue[dict] = queue.Queue()
        self.client = httpx.Client(timeout=httpx.Timeout(10, read=None))
        self.thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self.thread.start()

    def _read(self, url: str) -> None:
        event = ""
        try:
            with self.client.stream("GET", url) as response:
                self.headers = response.headers
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event == "playlist":
                        self.events.put(json.loads(line.split(":", 1)[1]))
        except httpx.HTTPError:
            pass  # closed by the test

    def next(self, timeout: float = 10) -> dict:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        self.client.close()


def run_async(fn: Callable[..., Any], *args: Any) -> Any:
    """`anyio.run(fn, *args)` on a thread of its own: Playwright's sync API keeps an event loop
    running on the test thread once a browser test has run, and a second one may not start there."""
    import anyio

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, fn, *args).result()


# ---- the admin page's first screenful --------------------------------------------------------
# In the page: once the first card's Approve button is in the window and enabled, the time since
# navigation began (ms); false until then. Polled every animation frame.
_APPROVE_USABLE = """() => {
    const b = document.querySelector('article.card [data-focus="approve"]');
    if (!b || b.disabled) return false;
    const r = b.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight && performance.now();
}"""
# Every photo in the window has loaded (lazy ones below it need not have).
_IMAGES_IN_VIEW = """() => [...document.images].every((i) => {
    const r = i.getBoundingClientRect();
    return r.bottom < 0 || r.top > innerHeight || r.height === 0 || i.complete;
})"""


def first_screenful(browser: Any, url: str, session: str) -> dict[str, float]:
    """Open /admin in a fresh 1366×768 Chromium tab signed in with `session` (the cookie's
    value): ms until the first card's Approve button is visible and clickable, and the
    requests and bytes (as transferred: headers and gzip included, CDP's encodedDataLength)
    until that screenful's photos are in and no request but the event stream is open."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        context.add_cookies([{"name": "kiosk_session", "value": session, "url": url}])
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        started: dict[str, str] = {}
        finished: dict[str, float] = {}

        def sent(event: dict[str, Any]) -> None:
            started.setdefault(event["requestId"], event["request"]["url"])

        def done(event: dict[str, Any]) -> None:
            finished[event["requestId"]] = event["encodedDataLength"]

        def failed(event: dict[str, Any]) -> None:
            finished.setdefault(event["requestId"], 0)  # cancelled: a lazy photo scrolled by

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.loadingFinished", done)
        cdp.on("Network.loadingFailed", failed)
        page.goto(url + "/admin", wait_until="commit")
        usable = page.wait_for_function(_APPROVE_USABLE, timeout=30_000).json_value()
        page.locator('article.card [data-focus="approve"]').first.click(trial=True)
        page.wait_for_function(_IMAGES_IN_VIEW, timeout=30_000)

        def settled() -> list[str]:
            page.wait_for_timeout(50)  # lets Playwright deliver the CDP events meanwhile
            return [u for r, u in started.items() if r not in finished and "/events" not in u]

        try:
            wait_for(lambda: not settled(), timeout=30)
        except AssertionError:
            raise AssertionError(f"still loading: {settled()}") from None
        return {
            "usable_ms": usable,
            "bytes": sum(finished.values()),
            "requests": len(finished),
            "photos": sum("/api/admin/media/" in u for u in started.values()),
        }
    finally:
        context.close()
