"""Bad input at scale: thousands of hostile files dropped at once while the wall keeps playing.

The default corpus has 10,000 files and runs in CI; KIOSK_LONG_TESTS=1 makes every story a real
story with a photo (slower: every one is rendered)."""

from __future__ import annotations

import os
import random
import unicodedata
from pathlib import Path

import pytest

from kiosk.ingest.scan import is_ignored

from .conftest import LiveServer, make_settings, wait_for
from .factories import jpeg, make_tree, story

LONG = os.environ.get("KIOSK_LONG_TESTS") == "1"


def unicode_names(rng: random.Random, n: int) -> list[str]:
    """File-name stems drawing on every Unicode general category a Linux name can hold."""
    by_category: dict[str, list[str]] = {}
    for cp in range(0x20, 0x30000):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat in {"Cs", "Cn"} or ch in "/\\":
            continue
        by_category.setdefault(cat, []).append(ch)
    by_category["Cc"] = ["\t", "\n", "\r", "\x1b", "\x7f"]
    cats = sorted(by_category)
    names = []
    for i in range(n):
        cat = cats[i % len(cats)]
        picks = "".join(rng.choice(by_category[cat]) for _ in range(rng.randint(1, 6)))
        names.append(f"{picks}-{i}")
    return names


@pytest.mark.timeout(1200)  # the KIOSK_LONG_TESTS variant runs for minutes
def test_ten_thousand_hostile_files_at_once(tmp_path: Path) -> None:
    rng = random.Random(1234)
    settings = make_settings(tmp_path, max_text_kb=8)
    live = LiveServer(settings).start()
    content = settings.content_dir
    try:
        make_tree(content, {"keep.md": story("Keeps Playing"), "keep.jpg": jpeg()})
        live.library.approve(live.wait_status("keep.md", "pending")["id"], "mod")

        # Names the kiosk ignores by design (a leading "." or "_") are not stories.
        names = [n for n in unicode_names(rng, 2000 if LONG else 300) if not is_ignored(n)]
        stories = len(names)
        files: dict[str, str | bytes] = {}
        photo = jpeg(200, 250)
        for i, stem in enumerate(names):
            files[f"{stem}.md"] = story(f"Person {i}")
            files[f"{stem}.jpg"] = photo if LONG or i % 3 == 0 else os.urandom(300)
        deep = "/".join(f"level{d}" for d in range(60))
        files[f"{deep}/deep.md"] = story("Deep Down")
        files[f"{deep}/deep.jpg"] = photo
        files["huge.md"] = story("Huge", body="x" * 20_000)
        junk_names = [".DS_Store", "Thumbs.db", "desktop.ini", "~$lock.docx", "a.tmp", "b.part"]
        folder = 0
        while len(files) < 10_000:
            folder += 1
            for junk in junk_names:
                files[f"junk{folder % 40}/{folder}{junk}" if junk[0] not in ".~" else
                      f"junk{folder % 40}/{junk[0]}{folder}{junk[1:]}"] = b"\0"  # fmt: skip
            files[f"random/{folder}.bin"] = os.urandom(64)
        make_tree(content, files)

        expected = stories + 2  # + deep + huge
        total = lambda: len(live.library.submissions())  # noqa: E731
        wait_for(lambda: total() == expected + 1, timeout=600 if LONG else 240, interval=0.5)
        live.watcher.wait_for_pass(timeout=120)
        counts = live.library.counts()
        broken = 0 if LONG else sum(1 for i in range(stories) if i % 3)
        assert counts["problem"] == broken + 1  # the random-byte photos and the huge text
        assert counts["pending"] == stories - broken + 1  # + deep
        assert counts["approved"] == 1
        assert [s["name"] for s in live.library.on_screen()] == ["Keeps Playing"]
        assert live.get("/healthz").status_code == 200
        sources = {s["source"] for s in live.library.submissions()}
        assert deep in sources  # a folder holding one story and one photo is one story
        assert not any("junk" in s or s.startswith("random/") for s in sources)
    finally:
        live.stop()
