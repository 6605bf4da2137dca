"""The watcher with a real watchdog observer on a temp folder, inside a real running server."""

from __future__ import annotations

import io
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from PIL import Image

from kiosk.atomic import write_atomically
from kiosk.ingest import watcher as watcher_mod
from kiosk.settings import load

from .factories import jpeg, make_tree, story
from .support import LiveServer, make_settings, wait_for


def revisions(server: LiveServer) -> int:
    with closing(sqlite3.connect(server.library.path)) as db:  # the test's own reader
        return db.execute("SELECT COUNT(*) FROM revisions").fetchone()[0]


def test_drop_becomes_pending(server: LiveServer, content: Path) -> None:
    make_tree(
        content,
        {"babette.md": story("Babette Ruiz", role="Swing-shift foreman"), "babette.jpg": jpeg()},
    )
    sub = server.wait_status("babette.md", "pending")
    assert sub["name"] == "Babette Ruiz" and sub["role"] == "Swing-shift foreman"
    assert sub["photo_path"] == "babette.jpg" and sub["thumbnail"]
    assert server.get("/healthz").json()["watcher"] == "running"


def test_one_bad_file_never_stops_the_others(server: LiveServer, content: Path) -> None:
    make_tree(
        content,
        {
            "bad.md": story("Broken Photo"),
            "bad.jpg": b"this is not a jpeg",
            "good.md": story("Good Person"),
            "good.jpg": jpeg(),
        },
    )
    bad = server.wait_status("bad.md", "problem")
    assert "bad.jpg" in bad["problems"][0] and "save it again" in bad["problems"][0]
    server.wait_status("good.md", "pending")
    assert server.get("/healthz").status_code == 200


def test_half_copied_photo_ends_as_one_revision(server: LiveServer, content: Path) -> None:
    data = jpeg(1600, 2000)
    (content / "slow.md").write_text(story("Slow Copy"))
    with open(content / "slow.jpg", "wb") as fh:
        for i in range(0, len(data), len(data) // 8):
            fh.write(data[i : i + len(data) // 8])
            fh.flush()
            os.fsync(fh.fileno())
            server.watcher.wait_for_pass()  # the watcher looks at every partial state
    sub = server.wait_status("slow.md", "pending")
    assert not sub["problems"]
    assert revisions(server) == 1


def test_rsync_style_rename_into_place(server: LiveServer, content: Path) -> None:
    (content / ".babette.md.Xa91Zq").write_text(story("Babette Ruiz"))
    (content / ".babette.jpg.Q01aaZ").write_bytes(jpeg())
    server.watcher.wait_for_pass()
    assert server.submissions() == []  # temp names are never ingested
    os.rename(content / ".babette.jpg.Q01aaZ", content / "babette.jpg")
    os.rename(content / ".babette.md.Xa91Zq", content / "babette.md")
    server.wait_status("babette.md", "pending")
    server.watcher.wait_for_pass()
    assert revisions(server) == 1 and len(server.submissions()) == 1


def test_edit_after_approval_and_atomic_save(server: LiveServer, content: Path) -> None:
    make_tree(content, {"b.md": story("Babete Ruiz"), "b.jpg": jpeg()})
    sid = server.wait_status("b.md", "pending")["id"]
    server.library.approve(sid, "mod")
    tmp = content / ".b.md.swp"
    tmp.write_text(story("Babette Ruiz"))
    os.replace(tmp, content / "b.md")  # how editors save
    sub = server.wait_status("b.md", "pending")
    assert sub["name"] == "Babette Ruiz"
    assert [s["name"] for s in server.library.on_screen()] == ["Babete Ruiz"]


def test_delete_retires_and_rename_keeps_decision(server: LiveServer, content: Path) -> None:
    make_tree(
        content,
        {
            "a.md": story("Ana"),
            "a.jpg": jpeg(),
            "z.md": story("Zed"),
            "z.jpg": jpeg(color=(10, 90, 200)),
        },
    )
    a = server.wait_status("a.md", "pending")["id"]
    z = server.wait_status("z.md", "pending")["id"]
    server.library.approve(a, "mod")
    server.library.approve(z, "mod")
    (content / "team").mkdir()
    os.rename(content / "a.md", content / "team" / "ana.md")
    os.rename(content / "a.jpg", content / "team" / "ana.jpg")
    moved = server.wait_status("team", "approved")  # a folder with one story and one photo
    assert moved["id"] == a
    (content / "z.md").unlink()
    (content / "z.jpg").unlink()
    server.wait_status("z.md", "retired")
    assert [s["name"] for s in server.library.on_screen()] == ["Ana"]


def test_deleting_only_the_text_leaves_a_lone_photo(server: LiveServer, content: Path) -> None:
    make_tree(content, {"babette-ruiz.md": story("Babette Ruiz"), "babette-ruiz.jpg": jpeg()})
    server.wait_status("babette-ruiz.md", "pending")
    (content / "babette-ruiz.md").unlink()
    server.wait_status("babette-ruiz.md", "retired")
    lone = server.wait_status("babette-ruiz.jpg", "pending")
    assert lone["name"] == "Babette Ruiz" and lone["needs_story"]


def test_restart_reconciles_without_reprocessing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    content = settings.content_dir
    make_tree(content, {"a.md": story("Ana"), "a.jpg": jpeg()})
    live = LiveServer(settings).start()
    live.wait_status("a.md", "pending")
    live.stop()
    media = sorted(p.stat().st_mtime_ns for p in settings.media_dir.iterdir())
    make_tree(content, {"b.md": story("Bo"), "b.jpg": jpeg(color=(0, 0, 0))})
    (content / "a.md").write_text(story("Ana Maria"))
    live = LiveServer(settings).start()
    try:
        live.wait_status("b.md", "pending")
        live.wait_until(
            lambda: any(s["name"] == "Ana Maria" for s in live.library.submissions("pending"))
        )
        live.watcher.wait_for_pass()
        assert revisions(live) == 3  # a v1, a v2, b
        # a.jpg did not change, so its renditions were not written again
        assert sorted(p.stat().st_mtime_ns for p in settings.media_dir.iterdir())[:2] == media
    finally:
        live.stop()


def test_polling_watcher(tmp_path: Path) -> None:
    live = LiveServer(make_settings(tmp_path, watch="polling", rescan_seconds=60)).start()
    try:
        assert live.watcher.backend == "polling"
        make_tree(live.settings.content_dir, {"p.md": story("Pia"), "p.jpg": jpeg()})
        live.wait_status("p.md", "pending", timeout=10)
    finally:
        live.stop()


@pytest.mark.parametrize(
    ("fstype", "backend"),
    [("cifs", "polling"), ("nfs4", "polling"), ("fuse.sshfs", "polling"), ("ext4", "native")],
)
def test_auto_polls_on_network_mounts(tmp_path: Path, monkeypatch, fstype, backend) -> None:
    # A CIFS mount cannot be made in a test; the mount table lookup is what is replaced.
    monkeypatch.setattr(watcher_mod, "filesystem_type", lambda path: fstype)
    s = load(overrides={"content_dir": tmp_path, "watch": "auto"}, environ={})
    assert watcher_mod.choose_backend(s) == backend


def test_filesystem_type_reads_mount_table() -> None:
    assert watcher_mod.filesystem_type(Path("/proc")) == "proc"


def _deep_tree(content: Path) -> None:
    path = os.fsencode(content)
    for _ in range(600):  # SMB clients can make this; a recursive walk cannot read it
        path += b"/d"
        os.mkdir(path)
    with open(path + b"/deep.md", "w") as fh:
        fh.write(story("Deep Down"))


def _latin1_name(content: Path) -> None:
    with open(os.fsencode(content) + b"/caf\xe9.md", "w") as fh:  # not valid UTF-8
        fh.write(story("Cafe"))


HOSTILE = {
    "yaml-nul-photo": {"h.md": '---\nname: H\nphoto: "\\0"\n---\nx\n'},
    "yaml-surrogate-photo": {"h.md": '---\nname: H\nphoto: "\\ud800"\n---\nx\n'},
    "yaml-surrogate-name": {"h.md": '---\nname: "\\udcff"\n---\nx\n'},
    "toml-nul-photo": {"h.md": '+++\nname = "H"\nphoto = "\\u0000"\n+++\nx\n'},
    "toml-long-number": {"h.md": '+++\nname = "H"\nphoto = ' + "1" * 5000 + "\n+++\nx\n"},
    "deep-folders": _deep_tree,
    "latin1-name": _latin1_name,
}


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_entry_never_stops_the_others(server: LiveServer, content: Path, hostile) -> None:
    make_tree(content, {"old.md": story("Old"), "old.jpg": jpeg()})
    server.library.approve(server.wait_status("old.md", "pending")["id"], "mod")
    if callable(hostile):
        hostile(content)
    else:
        make_tree(content, hostile)
    (content / "old.md").unlink()
    (content / "old.jpg").unlink()
    make_tree(content, {"new.md": story("New"), "new.jpg": jpeg()})
    server.wait_status("new.md", "pending")
    server.wait_status("old.md", "retired")
    assert server.get("/healthz").json()["watcher"] == "running"
    if hostile is _latin1_name:
        assert "rename" in server.wait_status("caf\\xe9.md", "problem")["problems"][0]
    elif hostile is _deep_tree:
        assert "folders deep" in server.wait_status("d" + "/d" * 32, "problem")["problems"][0]
    else:
        problem = server.wait_status("h.md", "problem")
        assert problem["problems"] and "\\" not in problem["name"]


def test_a_drop_streams_in_small_files_first(tmp_path: Path) -> None:
    """A 48 MB photo dropped with eight phone-sized stories never holds them up: each story is
    in the queue as soon as it is ready, small ones first, and /healthz tells the backlog."""
    live = LiveServer(make_settings(tmp_path, max_photo_mb=80)).start()
    try:
        noise = Image.frombytes("RGB", (4000, 4000), os.urandom(4000 * 4000 * 3))
        big = io.BytesIO()
        noise.save(big, "PNG", compress_level=0)  # slow to read: nothing to skip in its decode
        files: dict[str, str | bytes] = {
            "aaa-big.md": story("Big Photo"),
            "aaa-big.png": big.getvalue(),
        }
        for i in range(8):
            files[f"small-{i}.md"] = story(f"Small {i}")
            files[f"small-{i}.jpg"] = jpeg(400, 500)
        arrivals: list[tuple[int, bool, dict]] = []  # what a moderator's page would see

        def big_is_pending() -> bool:
            pending = {s["source"] for s in live.library.submissions("pending")}
            arrivals.append((len(pending), "aaa-big.md" in pending, live.get("/healthz").json()))
            return "aaa-big.md" in pending

        make_tree(live.settings.content_dir, files)
        wait_for(big_is_pending, timeout=60, interval=0.02)
        first_small = next(a for a in arrivals if a[0] >= 1)
        assert not first_small[1], "the big photo was recorded before any small story"
        all_small = next(a for a in arrivals if a[0] >= 8)
        assert not all_small[1], "the small stories waited for the big photo"
        backlog = [a[2].get("ingesting") for a in arrivals if a[2].get("ingesting")]
        assert any(b["done"] < b["total"] == 9 for b in backlog), backlog
    finally:
        live.stop()


def test_withdrawn_story_is_purged_after_the_rename_window(tmp_path: Path) -> None:
    """Deleting the file withdraws consent: once a rename can no longer bring it back, its
    photos leave the disk and its words the database; the audit keeps who, when and which."""
    live = LiveServer(make_settings(tmp_path, rescan_seconds=1)).start()  # window: 2 s
    try:
        content, media = live.settings.content_dir, live.settings.media_dir
        body = "Brews the coffee that keeps the night shift awake."
        make_tree(
            content, {"kim.md": story("Kim Secret", body, quote="Strong."), "kim.jpg": jpeg()}
        )
        sid = live.wait_status("kim.md", "pending")["id"]
        shown = live.library.approve(sid, "mod")
        image, thumbnail = shown["image"], shown["thumbnail"]
        assert live.get(f"/media/{image}").status_code == 200
        (content / "kim.md").unlink()
        (content / "kim.jpg").unlink()
        live.wait_status("kim.md", "retired")
        wait_for(lambda: not (media / image).exists() and not (media / thumbnail).exists(), 15)
        with closing(sqlite3.connect(live.library.path)) as db:
            dump = "\n".join(db.iterdump())
            query = "SELECT action FROM audit WHERE submission_id=? ORDER BY id"
            actions = [r[0] for r in db.execute(query, (sid,))]
        for words in ("Kim Secret", "coffee", "Strong.", image, thumbnail):
            assert words not in dump
        assert actions == ["pending", "approve", "retire"]
        assert live.library.submission(sid)["source"] == "kim.md"
        assert live.get(f"/media/{image}").status_code == 404
    finally:
        live.stop()


def test_a_moderators_retire_holds_until_the_file_changes(
    server: LiveServer, content: Path
) -> None:
    make_tree(content, {"lee.md": story("Lee Park"), "lee.jpg": jpeg()})
    sid = server.wait_status("lee.md", "pending")["id"]
    server.library.approve(sid, "mod")
    before = revisions(server)
    server.library.retire(sid, "mod")
    for _ in range(3):  # the watcher looks again and again at the unchanged file
        assert server.watcher.wait_for_pass()
    assert server.library.submission(sid)["status"] == "retired"
    assert revisions(server) == before
    (content / "lee.md").write_text(story("Lee Park", "Now with a story of her own."))
    back = server.wait_status("lee.md", "pending")
    assert back["id"] == sid and back["body"].startswith("Now with a story")
    server.library.retire(sid, "mod")
    (content / "lee.md").unlink()
    (content / "lee.jpg").unlink()
    server.wait_until(lambda: "lee.md" not in server.library.fingerprints())  # withdrawn


def test_the_servers_own_files_do_not_wake_the_watcher(server: LiveServer, content: Path) -> None:
    """`_status.txt` is rewritten after every decision; were its rename an event worth a pass,
    each decision would cost a scan of the whole folder (10,000 stories: most of a second)."""
    make_tree(content, {"ana.md": story("Ana"), "ana.jpg": jpeg()})
    server.wait_status("ana.md", "pending")
    server.watcher.wait_for_pass()
    before = server.watcher.passes
    for i in range(3):
        write_atomically(content / "_status.txt", f"rewritten {i}\n")  # as kiosk.status_file
    (content / ".~lock.ana.md#").write_text("an editor's lock file")
    with pytest.raises(AssertionError, match="not met"):
        wait_for(lambda: server.watcher.passes > before, timeout=1.5)
    (content / "bo.md").write_text(story("Bo"))  # a story still wakes it at once
    wait_for(lambda: "bo.md" in {s["source"] for s in server.submissions()}, timeout=5)
