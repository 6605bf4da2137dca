"""Fixtures that build real apps around temp folders: real uvicorn, watchdog, SQLite, Chromium."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from kiosk.app import create_app
from kiosk.settings import Settings, load

CHROMIUM = os.environ.get("KIOSK_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll `predicate` until it returns something truthy; fail clearly at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        threading.Event().wait(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
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


class LiveServer:
    """A real uvicorn serving `create_app(settings)` on a loopback port, in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = f"http://127.0.0.1:{settings.port}"
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.app = None

    def start(self) -> LiveServer:
        self.app = create_app(self.settings)
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
    def library(self):
        return self.app.state.library

    @property
    def watcher(self):
        return self.app.state.watcher

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kw)

    def submissions(self, status: str | None = None) -> list[dict[str, Any]]:
        return self.library.submissions(status)

    def wait_status(self, source: str, status: str, timeout: float = 10) -> dict[str, Any]:
        """Wait until the submission for `source` has `status`, as a moderator would see it."""

        def find() -> dict[str, Any] | None:
            for s in self.library.submissions():
                if s["source"] == source and s["status"] == status:
                    return s
            return None

        return wait_for(find, timeout)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def content(settings: Settings) -> Path:
    return settings.content_dir


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(settings).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Real Chromium (Debian's) driven by Playwright; never Playwright's own download."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
