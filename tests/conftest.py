"""Fixtures that build real apps around temp folders: real uvicorn, watchdog, SQLite, Chromium.

Fixtures only: the helpers they use live in `support.py`, the builders in `factories.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.settings import Settings

from .support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    UPDATE_SCREENSHOTS,
    LiveServer,
    make_settings,
)


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


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/screenshots/ with KIOSK_UPDATE_SCREENSHOTS=1, else tmp_path."""
    return SCREENSHOTS if UPDATE_SCREENSHOTS else tmp_path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Real Chromium (Debian's) driven by Playwright; never Playwright's own download."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
