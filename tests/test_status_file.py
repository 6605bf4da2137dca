"""`_status.txt`: what happened to each file, written for the people who drop them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.library import Library
from kiosk.status_file import NAME, StatusFile, render

from .factories import drop, make_tree, story
from .support import LiveServer, make_settings, wait_for


def status_text(content: Path) -> str:
    path = content / NAME
    return path.read_bytes().decode("utf-8") if path.exists() else ""


def test_staff_see_what_happened_to_their_files(server: LiveServer, content: Path) -> None:
    wait_for(lambda: "No stories yet" in status_text(content))
    ana = drop(server, content, "ana", "Ana Alvarez", color=1)
    bo = drop(server, content, "bo", "Bo Berg", color=2)
    drop(server, content, "cy", "Cy Chen", color=3)
    make_tree(content, {"dee.md": story("Dee Dorn"), "dee.jpg": b"not a photo at all"})
    server.wait_status("dee.md", "problem")
    server.library.approve(ana["id"], "mod")
    server.library.reject(bo["id"], "mod", "The photo is blurred: please send a sharper one")

    text = wait_for(lambda: (t := status_text(content)) and "Bo Berg" in t and "ON THE" in t and t)
    assert text.startswith("What happened to each story in this folder.")
    assert "ON THE SCREENS\r\n  ana.md  (Ana Alvarez)\r\n" in text  # CRLF: Notepad-friendly
    assert "bo.md  (Bo Berg)\r\n      - The photo is blurred: please send a sharper one" in text
    assert "WAITING FOR A MODERATOR\r\n  cy.md  (Cy Chen)" in text
    problem = text.split("CANNOT BE SHOWN", 1)[1].split("\r\n\r\n", 1)[0]
    assert "dee.md" in problem and "dee.jpg is not a photo" in problem
    assert text.index("CANNOT BE SHOWN") < text.index("NOT SHOWN") < text.index("WAITING")

    (content / "ana.md").write_text(story("Ana Alvarez", "A new story."))
    wait_for(lambda: "the earlier one stays on the screens" in status_text(content))
    server.watcher.wait_for_pass()
    assert NAME not in {s["source"] for s in server.submissions()}  # never a story itself
    assert sorted(p.name for p in content.iterdir() if p.name.startswith(("_", "."))) == [NAME]


def test_no_status_file_when_turned_off(tmp_path: Path) -> None:
    live = LiveServer(make_settings(tmp_path, status_file=False)).start()
    try:
        content = live.settings.content_dir
        drop(live, content, "ana", "Ana")
        live.watcher.wait_for_pass()
        assert not (content / NAME).exists()
    finally:
        live.stop()


def test_written_only_when_something_changed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    library = Library(settings.db_path)
    writer = StatusFile(settings, library)
    assert writer.write() is True
    assert writer.write() is False  # same text: the share sees no change
    library.record_revision("ana.md", "h1", {"name": "Ana"})
    assert writer.write() is True
    assert "ana.md  (Ana)\r\n" in status_text(settings.content_dir)


def test_deleted_files_are_not_listed() -> None:
    retired = {"status": "retired", "retired_reason": "retired by a moderator"}
    subs = [
        {**retired, "source": "gone.md", "name": "Gone", "retired_reason": "source deleted"},
        {**retired, "source": "off.md", "name": "Off"},
    ]
    text = render(subs, ZoneInfo("Europe/Berlin"), datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    assert "Updated 2026-03-01 13:00 (Europe/Berlin)" in text
    assert "gone.md" not in text
    assert "TAKEN OFF THE SCREENS\n  off.md  (Off)\n      - retired by a moderator\n" in text


def test_a_story_field_cannot_forge_a_line_or_a_section() -> None:
    forged = "Ana\r\n\r\nON THE SCREENS\n  fake.md  (Faked)"
    subs = [
        {"status": "pending", "source": "ana\n.md", "name": forged},
        {"status": "rejected", "source": "bo.md", "name": "Bo" + "x" * 5000,
         "decision": {"reason": "no\nON THE SCREENS"}},
    ]  # fmt: skip
    text = render(subs, ZoneInfo("Europe/Berlin"), datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    lines = text.splitlines()
    assert "ON THE SCREENS" not in lines and not any(line.startswith("  fake.md") for line in lines)
    assert any(line.startswith("  ana\\n.md  (Ana\\r\\n\\r\\nON THE SCREENS") for line in lines)
    assert max(len(line) for line in lines) < 600  # a huge field is cut short


def test_a_file_kept_from_write_to_write_reads_as_one_written_afresh(tmp_path: Path) -> None:
    """StatusFile moves only the files that changed between writes; after every kind of change
    its text is what a writer starting from nothing writes (consent notices included)."""
    settings = make_settings(tmp_path)
    library = Library(settings.db_path, clock=lambda: datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    kept = StatusFile(settings, library)

    def add(source: str, h: str, name: str, **fields: str) -> int:
        recorded = library.record_revision(source, h, {"name": name, "consent": True, **fields})
        return recorded.submission_id

    def same() -> None:
        kept.write()
        text = status_text(settings.content_dir)
        StatusFile(settings, library).write()
        assert status_text(settings.content_dir).split("\r\n", 2)[2] == text.split("\r\n", 2)[2]

    ids = [add(f"{c}.md", f"h{c}", f"Person {c.upper()}") for c in "kbxamcz"]
    same()
    library.approve(ids[0], "mod")
    library.approve(ids[1], "mod")
    ending = add("ending.md", "he", "Ends Soon", consent_until="2026-03-20")
    library.approve(ending, "mod")
    same()
    assert "CONSENT ENDS SOON\r\n  ending.md" in status_text(settings.content_dir)
    library.reject(ids[2], "mod", "blurred")
    library.retire(ids[1], "mod")
    add("k.md", "hk2", "Person K again")  # a new revision waits; the old one plays
    same()
    add("ending.md", "he2", "Ends Soon", consent_until="2027-01-01")  # asked again
    library.approve(ending, "mod")
    library.source_deleted("m.md")
    same()
    assert "CONSENT ENDS SOON" not in status_text(settings.content_dir)
    assert "m.md" not in status_text(settings.content_dir)
