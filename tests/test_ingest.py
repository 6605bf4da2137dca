"""Hostile input through the whole running server: each bad file becomes a problem that says what
to fix, nothing else is lost, and the server keeps serving."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from kiosk.library import Library

from .factories import (
    flat_png,
    flat_tiff,
    jpeg,
    make_tree,
    photo,
    png_claiming,
    sixteen_bit_grey,
    story,
)
from .support import (
    LiveServer,
    TreeMemory,
    descendants,
    free_port,
    make_settings,
    peak_rss_mb,
    wait_for,
)


def animated_gif() -> bytes:
    frames = [Image.new("P", (200, 300), c) for c in (10, 120, 240)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    tmp_path = tmp_path_factory.mktemp("hostile")
    settings = make_settings(tmp_path, max_photo_mb=1)
    (tmp_path / "outside.jpg").write_bytes(jpeg())
    good = jpeg()
    make_tree(settings.content_dir, {
        "good.md": story("Good Person"), "good.jpg": good,
        "corrupt.md": story("Corrupt"), "corrupt.jpg": os.urandom(5000),
        "truncated.md": story("Truncated"), "truncated.jpg": good[: len(good) // 2],
        "zero.md": story("Zero"), "zero.jpg": b"",
        "textual.md": story("Textual"), "textual.jpg": "I am a text file",
        "bomb.md": story("Bomb"), "bomb.png": png_claiming(30000, 30000),
        "huge.md": story("Huge"), "huge.png": photo(1400, 1400, "PNG", compress_level=0),
        "deep.md": story("Sixteen Bit"), "deep.png": sixteen_bit_grey("PNG", 30000),
        "cut.md": story("Cut Short"), "cut.png": half(flat_png(3000, 2000, (10, 20, 30))),
        "cmyk.md": story("Cee Myk"), "cmyk.jpg": jpeg(mode="CMYK"),
        "gif.md": story("Anim Ated"), "gif.gif": animated_gif(),
        "utf16.md": "\ufeffname: Zoë Ångström\r\nrole: Night nurse\r\n\r\nWorks nights.\r\n"
        .encode("utf-16-le"),
        "cp1252.md": "name: Renée Café\nrole: Barista – lead\n\nMakes coffee.\n".encode("cp1252"),
        "escape.md": story("Escaper", photo="../outside.jpg"),
        "longtext.md": story("Long Winded", body="word " * 20000), "longtext.jpg": jpeg(),
        "noname.md": "role: Nobody\n\nA story without a name.\n", "noname.jpg": jpeg(),
        ".DS_Store": b"\0\0\0\1Bud1", "._good.jpg": b"\0\5\26\7", "Thumbs.db": b"\0",
        "~$draft.docx": b"lock", "upload.jpg.part": b"\xff\xd8", "notes.tmp": "x",
    })  # fmt: skip
    (settings.content_dir / "link.md").write_text(story("Linked", photo="link.jpg"))
    os.symlink(tmp_path / "outside.jpg", settings.content_dir / "link.jpg")
    live = LiveServer(settings).start()
    yield live
    live.stop()


@pytest.mark.parametrize(
    ("source", "status", "words"),
    [
        ("good.md", "pending", None),
        ("corrupt.md", "problem", "corrupt.jpg is not a photo"),
        ("truncated.md", "problem", "truncated.jpg"),
        ("zero.md", "problem", "empty"),
        ("textual.md", "problem", "textual.jpg is not a photo"),
        ("bomb.md", "problem", "megapixels"),
        ("huge.md", "problem", "MB"),
        ("deep.md", "pending", None),
        ("cut.md", "problem", "cut.png is not a photo"),  # streamed by libvips, then refused
        ("cmyk.md", "pending", None),
        ("gif.md", "pending", None),
        ("utf16.md", "problem", "no photo"),
        ("cp1252.md", "problem", "no photo"),
        ("escape.md", "problem", "outside"),
        ("link.md", "problem", "outside"),
        ("longtext.md", "problem", "64 KB"),
        ("noname.md", "problem", "name:"),
    ],
)
def test_each_bad_input_is_a_problem_that_says_what_to_fix(
    hostile: LiveServer, source: str, status: str, words: str | None
) -> None:
    sub = hostile.wait_status(source, status)
    if words:
        assert any(words in p for p in sub["problems"]), sub["problems"]
    else:
        assert sub["problems"] == []
    assert hostile.get("/healthz").status_code == 200


def test_hostile_folder_loses_nothing_and_ignores_litter(hostile: LiveServer) -> None:
    hostile.wait_status("good.md", "pending")
    hostile.watcher.wait_for_pass()
    sources = {s["source"] for s in hostile.submissions()}
    assert not {
        s for s in sources if s.startswith((".", "~$", "_")) or s.endswith((".part", ".tmp"))
    }
    assert "Thumbs.db" not in sources
    utf16 = hostile.wait_status("utf16.md", "problem")
    assert (utf16["name"], utf16["role"]) == ("Zoë Ångström", "Night nurse")
    cp = hostile.wait_status("cp1252.md", "problem")
    assert (cp["name"], cp["role"]) == ("Renée Café", "Barista – lead")
    # The escaped photo was never rendered: only in-folder photos have renditions.
    good = hostile.wait_status("good.md", "pending")
    assert hostile.library.approve(good["id"], "mod")["status"] == "approved"
    assert [s["name"] for s in hostile.library.on_screen()] == ["Good Person"]


def test_huge_photos_stream_through_a_small_server(tmp_path: Path) -> None:
    """Three 80 MP PNGs and an 80 MP TIFF (a quarter MB each on disk, 320 MB each decoded whole)
    dropped at once on a real `kiosk serve`: each is decoded in a process of its own, through
    libvips, which streams it through a shrink. The server stays at the size it had before the
    drop, and the server with its decoders together stay far below even one decoded image
    (bench/decode_memory.py holds the 150 MB budget; these are the never-again bounds)."""
    content, data = tmp_path / "content", tmp_path / "data"
    content.mkdir()
    with _serving(content, data) as (server, port):
        photos = {f"wall{i}.png": flat_png(8944, 8944, (50 * i, 120, 200)) for i in range(3)}
        photos["scan.tif"] = flat_tiff(8944, 8944, (180, 140, 90))
        before = peak_rss_mb(server.pid)
        with TreeMemory(server.pid) as tree:
            for name, photo_bytes in photos.items():
                (content / name).write_bytes(photo_bytes)
            for name in photos:
                (content / f"{Path(name).stem}.md").write_text(story(f"Wall {Path(name).stem}"))
            images = [s["image"] for s in _wait_pending(data, 4)]
        after = peak_rss_mb(server.pid)
    assert after < before + 30, f"the server grew from {before:.0f} to {after:.0f} MB"
    assert tree.peak_mb < 250, f"{tree.peak_mb:.0f} MB for 80 MP photos (one whole is 320 MB)"
    for image in images:
        with Image.open(data / "media" / image) as rendition:
            assert rendition.size == (1920, 1920)


def test_a_decoder_stopped_mid_photo_costs_that_photo_alone(tmp_path: Path) -> None:
    """The process decoding a photo is killed, as the kernel's out-of-memory killer or a crash in
    a C decoder would end it: that story gets a problem that says what to do, the story dropped
    with it is pending, and the server serves on."""
    content, data = tmp_path / "content", tmp_path / "data"
    content.mkdir()
    with _serving(content, data) as (server, port):
        (content / "wall.png").write_bytes(flat_png(8944, 8944, (50, 120, 200)))
        (content / "wall.md").write_text(story("Wall Painter"))
        (content / "ada.jpg").write_bytes(jpeg())
        (content / "ada.md").write_text(story("Ada Lovelace"))
        # Small photos go first: once Ada is in, a decoder at work is the wall's. It is
        # stopped each time: a photo that fails while new is tried again, in case it was still
        # being copied.
        _wait_pending(data, 1)
        library = Library(data / "kiosk.db")

        def stopped_until_given_up() -> dict[str, Any] | None:
            _stop_decoders(server.pid)
            return _status_of(library, "wall.md", "problem")

        try:
            wall = wait_for(stopped_until_given_up, timeout=60, interval=0.01)
        finally:
            library.close()
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    assert wall["problems"] == [
        "wall.png stopped the photo decoder (SIGKILL): the file may be damaged, or need more "
        "memory than this device has. Export it again as a JPEG"
    ]


@contextmanager
def _serving(content: Path, data: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A real `kiosk serve` (its own process, so its memory is its own) and its port."""
    port = free_port()
    cmd = [sys.executable, "-m", "kiosk.cli", "serve", "--content-dir", str(content),
           "--data-dir", str(data), "--port", str(port)]  # fmt: skip
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=60)
        yield server, port
    finally:
        server.terminate()
        server.wait(timeout=15)


def _wait_pending(data: Path, count: int) -> list[dict[str, Any]]:
    """Wait until the server has `count` stories pending; read without the server's help."""
    library = Library(data / "kiosk.db")
    try:
        pending = lambda: len(library.submissions("pending")) >= count  # noqa: E731
        wait_for(pending, timeout=120, interval=0.2)
        return library.submissions("pending")
    finally:
        library.close()


def _stop_decoders(server: int) -> None:
    """Kill the server's photo decoders: the processes its forkserver forked."""
    for pid in descendants(server, depth=2):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _status_of(library: Library, source: str, status: str) -> dict[str, Any] | None:
    return next((s for s in library.submissions(status) if s["source"] == source), None)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
