"""Faults a hallway server meets: kill -9, a full disk, a vanished share, a locked database, a
clock that jumps. Real processes, real mounts, real SQLite."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from .factories import jpeg, make_tree, story
from .support import LiveServer, free_port, make_settings, wait_for

REPO = Path(__file__).resolve().parent.parent


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute(sql).fetchone()[0]


def serve(content: Path, data: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "KIOSK_SETTLE_SECONDS": "0.1",
        "KIOSK_WATCH": "native",
        "KIOSK_LOG_LEVEL": "warning",
    }
    cmd = [sys.executable, "-m", "kiosk.cli", "serve", "--content-dir", str(content)]
    cmd += ["--data-dir", str(data), "--port", str(port)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_kill_9_mid_ingest_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    content, data = tmp_path / "content", tmp_path / "data"
    content.mkdir()
    db = data / "kiosk.db"
    first = serve(content, data, free_port())
    try:
        wait_for(db.exists, timeout=20)
        for i in range(200):
            (content / f"p{i:03}.jpg").write_bytes(jpeg(600, 800, color=(i, 255 - i, 90)))
            (content / f"p{i:03}.md").write_text(story(f"Person {i}"))
        wait_for(lambda: count(db, "SELECT COUNT(*) FROM revisions") >= 20, timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert count(db, "SELECT COUNT(*) FROM revisions") < 200, "killed too late to prove anything"

    second = serve(content, data, free_port())
    try:
        sql = "SELECT COUNT(*) FROM submissions WHERE status='pending'"
        wait_for(lambda: count(db, sql) == 200, timeout=120)
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert count(db, "SELECT COUNT(*) FROM revisions") == 200  # exactly one each
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    media = list((data / "media").iterdir())
    assert not [p for p in media if p.suffix == ".tmp"]
    for path in media:  # every file under a final name is a complete image
        with Image.open(path) as img:
            img.load()


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 4 MB tmpfs as the data folder, so it can really fill up."""
    data = tmp_path / "data"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(data)], check=True)
    yield data
    subprocess.run(["umount", "-l", str(data)], check=True)


def noisy_jpeg() -> bytes:
    import io

    img = Image.effect_noise((1500, 1900), 90).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_full_disk_is_reported_and_recovered(tmp_path: Path, small_disk: Path) -> None:
    live = LiveServer(make_settings(tmp_path, data_dir=small_disk)).start()
    try:
        filler = small_disk / "filler"
        with open(filler, "wb") as fh:
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        os.truncate(filler, filler.stat().st_size - 300_000)  # room for SQLite, not a photo
        make_tree(
            live.settings.content_dir, {"big.md": story("Big Photo"), "big.jpg": noisy_jpeg()}
        )
        health = wait_for(lambda: (r := live.get("/healthz")).status_code == 503 and r.json())
        assert "Free some space" in health["error"]
        assert not [p for p in (small_disk / "media").iterdir() if p.suffix == ".jpg"]
        filler.unlink()
        live.wait_status("big.md", "pending", timeout=30)
        wait_for(lambda: live.get("/healthz").status_code == 200)
    finally:
        live.stop()


def test_vanished_content_folder_is_reported_and_recovered(tmp_path: Path) -> None:
    live = LiveServer(make_settings(tmp_path)).start()
    content = live.settings.content_dir
    try:
        make_tree(content, {"a.md": story("Ana"), "a.jpg": jpeg()})
        live.library.approve(live.wait_status("a.md", "pending")["id"], "mod")
        content.rename(tmp_path / "unmounted")
        health = wait_for(lambda: (r := live.get("/healthz")).status_code == 503 and r.json())
        assert health["watcher"] == "content folder missing"
        assert [s["name"] for s in live.library.on_screen()] == ["Ana"]  # nothing retired
        (tmp_path / "unmounted").rename(content)
        wait_for(lambda: live.get("/healthz").status_code == 200)
        make_tree(content, {"b.md": story("Bo"), "b.jpg": jpeg()})
        live.wait_status("b.md", "pending")
        assert live.wait_status("a.md", "approved")
    finally:
        live.stop()


def test_database_locked_by_another_process(tmp_path: Path) -> None:
    live = LiveServer(make_settings(tmp_path)).start()
    try:
        other = sqlite3.connect(
            live.settings.db_path, isolation_level=None, check_same_thread=False
        )
        other.execute("BEGIN EXCLUSIVE")
        make_tree(live.settings.content_dir, {"a.md": story("Ana"), "a.jpg": jpeg()})
        live.watcher.wait_for_pass()
        assert live.get("/healthz").status_code == 200  # readers go on in WAL mode
        release = threading.Timer(1.0, lambda: other.execute("COMMIT"))
        release.start()
        live.wait_status("a.md", "pending", timeout=20)
        release.join()
        other.close()
    finally:
        live.stop()


def test_clock_jumped_back_a_corrupt_photo_still_becomes_a_problem(tmp_path: Path) -> None:
    live = LiveServer(make_settings(tmp_path)).start()
    try:
        content = live.settings.content_dir
        make_tree(content, {"x.md": story("Xavier"), "x.jpg": b"\xff\xd8\xff garbage"})
        future = time.time() + 3600  # as if the clock had been an hour ahead when it was saved
        os.utime(content / "x.jpg", (future, future))
        sub = live.wait_status("x.md", "problem", timeout=10)
        assert "x.jpg" in sub["problems"][0]
    finally:
        live.stop()
