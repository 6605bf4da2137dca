"""The library: lifecycle rules of DESIGN, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from kiosk.library import Conflict, Library, NotFound, Refused
from kiosk.library import db as db_module
from kiosk.model import FocalPoint


def rendition(h: str) -> SimpleNamespace:
    return SimpleNamespace(
        photo_hash=h, image=f"{h}.jpg", thumbnail=f"{h}.t.jpg", width=10, height=10
    )


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    return Library(tmp_path / "kiosk.db")


def add(lib: Library, source: str, h: str, name: str = "Babette Ruiz", **kw) -> int:
    fields = {"name": name, "consent": kw.pop("consent", True)}
    return lib.record_revision(source, h, fields, rendition=rendition("p" + h), **kw).submission_id


def test_wal_and_migrations(tmp_path: Path) -> None:
    Library(tmp_path / "k.db").close()
    db = sqlite3.connect(tmp_path / "k.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
    Library(tmp_path / "k.db").close()  # reopening does not migrate twice


def test_a_migration_may_hold_a_trigger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Library(tmp_path / "k.db").close()  # a file from before the new migration
    trigger = (
        "CREATE TRIGGER audit_is_append_only BEFORE DELETE ON audit"
        " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )
    monkeypatch.setattr(db_module, "MIGRATIONS", [*db_module.MIGRATIONS, (trigger,)])
    lib = Library(tmp_path / "k.db")
    lib.add_user("ann", "admin", "hash", "test")
    db = sqlite3.connect(tmp_path / "k.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(db_module.MIGRATIONS)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit")


def test_new_story_is_pending_then_approved_plays(lib: Library) -> None:
    sid = add(lib, "babette.md", "a")
    assert lib.submission(sid)["status"] == "pending"
    assert lib.on_screen() == []
    lib.approve(sid, "mod")
    assert [s["name"] for s in lib.on_screen()] == ["Babette Ruiz"]
    assert lib.is_public_media("pa.jpg")


def test_same_content_adds_no_revision(lib: Library) -> None:
    first = lib.record_revision("b.md", "h", {"name": "B"}, rendition=rendition("x"))
    again = lib.record_revision("b.md", "h", {"name": "B"}, rendition=rendition("x"))
    assert again.created is False and again.revision_id == first.revision_id


def test_edit_after_approval_keeps_old_one_playing(lib: Library) -> None:
    sid = add(lib, "b.md", "v1", name="Babete")
    lib.approve(sid, "mod")
    add(lib, "b.md", "v2", name="Babette")
    sub = lib.submission(sid)
    assert sub["status"] == "pending" and sub["name"] == "Babette"
    assert sub["on_screen"]["name"] == "Babete"
    assert [s["name"] for s in lib.on_screen()] == ["Babete"]
    assert not lib.is_public_media("pv2.jpg")
    lib.reject(sid, "mod", "typo in the quote")
    assert lib.submission(sid)["status"] == "approved"
    assert [s["name"] for s in lib.on_screen()] == ["Babete"]
    add(lib, "b.md", "v3", name="Babette R.")
    lib.approve(sid, "mod")
    assert [s["name"] for s in lib.on_screen()] == ["Babette R."]


def test_problem_cannot_be_approved(lib: Library) -> None:
    sid = lib.record_revision("x.md", "h", {"name": ""}, problems=["add a name"]).submission_id
    assert lib.submission(sid)["status"] == "problem"
    with pytest.raises(Refused, match="add a name"):
        lib.approve(sid, "mod")


def test_consent_required(lib: Library) -> None:
    sid = add(lib, "b.md", "a", consent=False)
    with pytest.raises(Refused, match="consent: yes"):
        lib.approve(sid, "mod", require_consent=True)


def test_superseded_revision_conflicts(lib: Library) -> None:
    sid = add(lib, "b.md", "a")
    old = lib.submission(sid)["revision"]
    add(lib, "b.md", "b")
    with pytest.raises(Conflict):
        lib.approve(sid, "mod", revision=old)
    with pytest.raises(NotFound):
        lib.approve(999, "mod")


def test_deleted_source_retires_at_once_and_revives_pending(lib: Library) -> None:
    sid = add(lib, "b.md", "a")
    lib.approve(sid, "mod")
    lib.source_deleted("b.md")
    assert lib.submission(sid)["status"] == "retired" and lib.on_screen() == []
    assert not lib.is_public_media("pa.jpg")
    add(lib, "b.md", "a")  # the same file dropped again needs a moderator again
    assert lib.submission(sid)["status"] == "pending"
    assert lib.on_screen() == []


def test_patch_pin_order_focal_and_audit(lib: Library) -> None:
    a, b = add(lib, "a.md", "a", name="A"), add(lib, "b.md", "b", name="B")
    lib.approve(a, "mod")
    lib.approve(b, "mod")
    assert [s["name"] for s in lib.on_screen()] == ["A", "B"]
    lib.patch(b, "mod", {"pinned": True, "name": "Bea", "focal": [0.4, 0.2]})
    slides = lib.on_screen()
    assert [s["name"] for s in slides] == ["Bea", "A"]
    assert slides[0]["focal"] == [0.4, 0.2]
    actions = [e["action"] for e in lib.audit_log()]
    assert actions[:3] == ["edit", "approve", "approve"]


def test_where_the_face_is_arrives_after_the_revision_unless_a_moderator_chose(
    lib: Library,
) -> None:
    """Ingest records a story before its face search ends: the face's point is taken later,
    on screens too, but never over a moderator's click or a point the same photo already had."""
    a, b = add(lib, "a.md", "a", name="A"), add(lib, "b.md", "b", name="B")
    lib.approve(a, "mod")
    calls: list[int] = []
    lib.on_change(lambda: calls.append(1))
    (rev_a,) = [s["revision"] for s in lib.submissions() if s["id"] == a]
    assert lib.frame(rev_a, FocalPoint(0.7, 0.2))
    assert lib.on_screen()[0]["focal"] == [0.7, 0.2]
    assert calls == [1]

    lib.patch(b, "mod", {"focal": [0.4, 0.6]})
    (rev_b,) = [s["revision"] for s in lib.submissions() if s["id"] == b]
    assert not lib.frame(rev_b, FocalPoint(0.7, 0.2))
    assert [s["focal"] for s in lib.submissions() if s["id"] == b] == [[0.4, 0.6]]

    # The same photo with new words: the new revision keeps the point; a late search of it
    # changes nothing.
    edited = lib.record_revision(
        "a.md", "a2", {"name": "Al", "consent": True}, rendition=rendition("pa")
    )
    assert not lib.frame(edited.revision_id, FocalPoint(0.1, 0.1))
    assert [s["focal"] for s in lib.submissions() if s["id"] == a] == [[0.7, 0.2]]


def test_change_listeners_fire(lib: Library) -> None:
    calls = []
    lib.on_change(lambda: calls.append(1))
    sid = add(lib, "a.md", "a")
    lib.approve(sid, "mod")
    assert len(calls) == 2


def test_move_onto_the_name_of_a_retired_story(lib: Library) -> None:
    old = add(lib, "a.md", "a", name="Ana")
    lib.source_deleted("a.md")
    moved = add(lib, "b.md", "b", name="Bo")
    lib.approve(moved, "mod")
    lib.move(moved, "a.md", "fp")  # b.md renamed to a.md: keeps its decision
    assert lib.submission(moved)["source"] == "a.md"
    assert [s["name"] for s in lib.on_screen()] == ["Bo"]
    assert lib.submission(old)["status"] == "retired"  # history kept


def test_a_vanished_source_is_found_by_its_content_for_a_while(tmp_path: Path) -> None:
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    lib = Library(tmp_path / "kiosk.db", clock=lambda: now)
    gone, here = add(lib, "gone.md", "g"), add(lib, "here.md", "h")
    assert lib.find_moved("h", {"here.md"}, 60) == here  # vanished in this very pass
    assert lib.find_moved("h", set(), 60) is None  # still there: not a move
    lib.source_deleted("gone.md")
    assert lib.submission(gone)["retired_reason"] == "source deleted"  # as stored until now
    now += timedelta(seconds=59.9)
    assert lib.find_moved("g", set(), 60) == gone
    assert lib.find_moved("x", set(), 60) is None  # other content
    now += timedelta(seconds=0.2)
    assert lib.find_moved("g", set(), 60) is None  # deleted too long ago: new again
    lib.retire(here, "mod")
    assert lib.submission(here)["retired_reason"] == "retired by a moderator"
    assert lib.find_moved("h", set(), 60) is None  # taken off by a moderator: never a move


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement run on the connections opened from here on (the library's)."""
    run: list[str] = []
    connect = sqlite3.connect

    def traced(*args, **kwargs) -> sqlite3.Connection:
        db = connect(*args, **kwargs)
        db.set_trace_callback(run.append)
        return db

    monkeypatch.setattr(sqlite3, "connect", traced)
    return run


def test_a_change_costs_reading_its_own_row_however_long_the_list(
    statements: list[str], tmp_path: Path
) -> None:
    """The whole lists are read once; after that a change to one story reads that story's row
    again and nothing else (one query whatever the number of stories), and a list nothing
    changed in costs no query at all (one look at whether another process wrote)."""
    lib = Library(tmp_path / "kiosk.db")

    def run(read: Callable[[], object]) -> list[str]:
        statements.clear()
        read()
        return [s for s in statements if not s.startswith("PRAGMA data_version")]

    def grow_to(n: int) -> None:
        for i in range(len(lib.submissions()), n):
            sid = add(lib, f"s{i}.md", f"h{i}", name=f"S{i}")
            if i % 3 == 0:
                lib.approve(sid, "mod")
                add(lib, f"s{i}.md", f"h{i}b", name=f"S{i}b")  # waits, the old one plays

    def reads() -> list[list[str]]:
        return [run(lib.submissions), run(lambda: lib.submissions("pending")), run(lib.on_screen)]

    grow_to(200)
    assert [len(r) for r in reads()] == [1, 0, 1]  # the first reads, of everything
    assert reads() == [[], [], []]  # nothing changed since
    sid = lib.submissions("pending")[0]["id"]
    lib.approve(sid, "mod")
    after = reads()
    assert [len(r) for r in after] == [1, 0, 1]
    assert all(f"s.id IN ({sid})" in sql for sql in after[0] + after[2])  # that row alone
    assert sid in [r["id"] for r in lib.on_screen()]
    assert sid not in [s["id"] for s in lib.submissions("pending")]
    assert len(run(lambda: lib.submission(sid))) == 1


def test_the_kept_lists_match_a_fresh_read_after_every_kind_of_change(tmp_path: Path) -> None:
    """Moved in place, the kept lists stay what reading everything again gives: in order,
    with what left a list gone, and a write from another process (another Library on the same
    file) seen too."""
    path = tmp_path / "kiosk.db"
    lib, other = Library(path), Library(path)
    ids = [add(lib, f"s{i}.md", f"h{i}", name=f"S{i}") for i in range(12)]

    def same(lib: Library) -> None:
        fresh = Library(path)
        assert lib.submissions() == fresh.submissions()
        assert lib.on_screen() == fresh.on_screen()
        fresh.close()

    same(lib)
    for sid in ids[:8]:
        lib.approve(sid, "mod")
    same(lib)
    lib.patch(ids[5], "mod", {"pinned": True})
    lib.patch(ids[2], "mod", {"position": 0.5})
    same(lib)
    lib.close()
    lib = Library(path)  # its first read finds the rows out of order
    same(lib)
    lib.patch(ids[6], "mod", {"position": 0.25})
    lib.reject(ids[9], "mod", "blurred")
    lib.retire(ids[3], "mod")
    add(lib, "s1.md", "h1b", name="S1 again")  # a new revision waits; the old one plays
    same(lib)
    other.approve(ids[10], "mod")  # another process: nobody here is told
    other.retire(ids[4], "mod")
    same(lib)
    other.close()


def test_a_story_back_after_a_rejection_carries_the_earlier_reason(lib: Library) -> None:
    sid = add(lib, "b.md", "v1")
    assert lib.submission(sid)["previous_rejection"] is None
    lib.reject(sid, "mod", "photo is blurred")
    rejected = lib.submission(sid)["decision"]
    assert lib.submission(sid)["previous_rejection"] is None  # the rejection is the newest
    add(lib, "b.md", "v2")  # the file comes back, changed
    back = lib.submission(sid)
    assert back["status"] == "pending"
    assert (
        back["previous_rejection"]
        == rejected
        == {
            "by": "mod",
            "at": rejected["at"],
            "reason": "photo is blurred",
        }
    )
    assert [s["previous_rejection"] for s in lib.submissions()] == [rejected]
    lib.approve(sid, "mod")
    add(lib, "b.md", "v3")  # a later rejection is the one shown, not the first
    lib.reject(sid, "ann", "wrong name")
    add(lib, "b.md", "v4")
    assert lib.submission(sid)["previous_rejection"]["reason"] == "wrong name"
