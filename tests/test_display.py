"""Display and media routes on a real server: ETag/304, SSE, media privacy, heartbeats."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kiosk import playlist

from .factories import approved, jpeg, make_tree, story
from .support import Events, LiveServer, wait_for


@pytest.fixture
def events(server: LiveServer) -> Iterator[Events]:
    stream = Events(server.url + "/api/events?screen=default")
    yield stream
    stream.close()


def test_playlist_etag_and_304(server: LiveServer, content: Path) -> None:
    approved(server, content, "ana", "Ana Ruiz", role="Foreman")
    r = server.get("/api/playlist")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    body = r.json()
    assert r.headers["etag"] == f'"{body["version"]}"'
    (ref,) = body["slides"]
    assert [s["name"] for s in server.shown()] == ["Ana Ruiz"]
    assert server.shown()[0]["image"].startswith("/media/")
    assert server.shown()[0]["revision"] == ref["revision"]
    same = server.get("/api/playlist", headers={"If-None-Match": r.headers["etag"]})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["etag"] == r.headers["etag"]
    stale = server.get("/api/playlist", headers={"If-None-Match": '"something-old"'})
    assert stale.status_code == 200


def test_display_page(server: LiveServer) -> None:
    r = server.get("/display?screen=lobby")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    page = r.text
    assert page.count('class="slide"') == 2  # two layers, reused for every slide
    assert "/static/player.js" in page and "/themes/default/style.css" in page
    assert "/api/events?screen=lobby" in page
    assert server.get("/display?screen=../etc").status_code == 422
    sw = server.get("/sw.js")
    assert sw.headers["content-type"].startswith("text/javascript")
    assert server.get("/static/fonts/inter-regular.woff2").status_code == 200
    assert "/api/playlist" in server.get("/openapi.json").json()["paths"]


def test_media_only_for_what_is_on_screen(server: LiveServer, content: Path) -> None:
    on_screen = approved(server, content, "ana", "Ana Ruiz")
    r = server.get("/media/" + on_screen["image"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert server.get("/media/" + on_screen["thumbnail"]).status_code == 404  # admin only

    make_tree(content, {"pat.md": story("Pending Pat"), "pat.jpg": jpeg(300, 400)})
    pending = server.wait_status("pat.md", "pending")
    make_tree(content, {"rex.md": story("Rejected Rex"), "rex.jpg": jpeg(500, 400)})
    rejected = server.library.reject(server.wait_status("rex.md", "pending")["id"], "mod", "no")
    for sub in (pending, rejected):
        assert (server.settings.media_dir / sub["image"]).is_file()
        assert server.get("/media/" + sub["image"]).status_code == 404

    server.library.retire(on_screen["id"], "mod")
    assert server.get("/media/" + on_screen["image"]).status_code == 404
    for name in ("..%2Fkiosk.db", "../kiosk.db", ".hidden.jpg", "%2Fetc%2Fpasswd", "kiosk.db"):
        assert server.get("/media/" + name).status_code == 404, name


def test_heartbeat(server: LiveServer) -> None:
    r = httpx.post(server.url + "/api/screens/lobby/heartbeat", json={"slide": 3, "version": "abc"})
    assert r.status_code == 204
    (screen,) = server.library.screens()
    assert (screen["name"], screen["slide"], screen["version"]) == ("lobby", "3", "abc")
    assert screen["address"] == "127.0.0.1"
    bad = httpx.post(server.url + "/api/screens/a%20b/heartbeat", json={})
    assert bad.status_code == 422


def test_the_page_tells_the_player_how_often_to_heartbeat(server: LiveServer) -> None:
    page = server.get("/display?screen=lobby").text
    config = json.loads(page.split('id="kiosk-config" type="application/json">')[1].split("<")[0])
    assert config["heartbeat"] == "/api/screens/lobby/heartbeat"
    assert config["heartbeat_ms"] == 30_000  # four missed beats make SILENT_SECONDS


def test_screen_health_says_only_whether_it_went_silent(server: LiveServer) -> None:
    never = server.get("/api/screens/lobby").json()
    assert never == {"name": "lobby", "last_seen": None, "silent": False}
    httpx.post(server.url + "/api/screens/lobby/heartbeat", json={"slide": 3, "version": "v"})
    beating = server.get("/api/screens/lobby").json()
    assert beating["last_seen"] and beating["silent"] is False
    assert set(beating) == {"name", "last_seen", "silent"}  # no slide, address or version
    later = server.library.clock() + timedelta(minutes=3)
    server.library.clock = lambda: later
    assert server.get("/api/screens/lobby").json()["silent"] is True


def test_sse_one_event_per_change(server: LiveServer, content: Path, events: Events) -> None:
    first = events.next()
    assert first["version"] == server.get("/api/playlist").json()["version"]
    assert first["code"]
    assert events.headers["content-type"].startswith("text/event-stream")
    ana = approved(server, content, "ana", "Ana Ruiz")
    after = events.next()
    assert after["version"] == server.get("/api/playlist").json()["version"] != first["version"]
    # a new draft of Ana's story is pending: the screen does not change, so no event
    (content / "ana.md").write_text(story("Ana Ruiz", role="Now with a role"))
    server.wait_status("ana.md", "pending")
    server.library.retire(ana["id"], "mod")
    assert events.next()["version"] == first["version"]  # the retirement, nothing before it
    assert events.events.empty()


def test_sse_pushes_when_a_start_time_passes(server: LiveServer, content: Path) -> None:
    ana = approved(server, content, "ana", "Ana Ruiz")
    stream = Events(server.url + "/api/events?screen=default")
    try:
        stream.next()
        local_now = datetime.now(server.settings.zone).replace(tzinfo=None, microsecond=0)
        start = local_now + timedelta(seconds=3)
        server.library.patch(ana["id"], "mod", {"start": start.isoformat()})
        hidden = stream.next()  # the edit itself: Ana is not due yet
        assert server.get("/api/playlist").json()["slides"] == []
        shown = stream.next(timeout=5)  # no file event, no decision: the clock did it
        assert shown["version"] != hidden["version"]
        assert [s["name"] for s in server.shown()] == ["Ana Ruiz"]
    finally:
        stream.close()


def test_sse_scales_to_many_screens_with_one_build(
    server: LiveServer, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk import playlist as playlist_module

    builds: list[str] = []
    real = playlist_module._compose

    def counting(slides, settings, screen, now):  # noqa: ANN001, ANN202
        builds.append(screen)
        return real(slides, settings, screen, now)

    monkeypatch.setattr(playlist_module, "_compose", counting)
    streams = [Events(server.url + f"/api/events?screen={'ab'[i % 2]}") for i in range(40)]
    try:
        for s in streams:
            s.next()
        wait_for(lambda: server.app.state.events.connected == 40)
        assert len(builds) == 1  # forty connections, two names, one theme: one build
        builds.clear()
        approved(server, content, "ana", "Ana Ruiz")
        for s in streams:
            s.next()
        # a build per change (the drop, the approval), not per connection or per name
        assert 1 <= len(builds) <= 2
    finally:
        for s in streams:
            s.close()


def test_heartbeats_reach_the_sd_card_only_when_something_changes(server: LiveServer) -> None:
    """Ten screens beating every 30 s were a commit each: 180 MB a day of writes. Now a beat
    is kept in memory; SQLite hears of a new screen, a new address, a slide change only every
    few minutes, and the admin page still sees every beat."""
    commits: list[str] = []
    db = sqlite3.connect(server.settings.db_path)
    before = db.execute("PRAGMA data_version").fetchone()[0]
    for i in range(20):
        r = httpx.post(server.url + "/api/screens/lobby/heartbeat", json={"slide": i % 3})
        assert r.status_code == 204
        commits.append(str(db.execute("PRAGMA data_version").fetchone()[0]))
    writes = int(commits[-1]) - before
    assert writes <= 1, f"{writes} commits for 20 heartbeats of one screen"
    (screen,) = server.library.screens()
    assert screen["slide"] == "1"  # the 20th beat, although it was never written
    assert server.get("/api/screens/lobby").json()["silent"] is False
    db.close()


def test_slides_by_hash_are_served_only_while_on_screen(server: LiveServer, content: Path) -> None:
    """A slide's hash reaches its words only while its revision is approved and live: a newer
    draft waiting for a moderator, a rejected one and a retired story all get the same 404."""
    ana = approved(server, content, "ana", "Ana Ruiz", quote="Safety first.")
    (ref,) = server.get("/api/playlist").json()["slides"]
    shown = server.get(f"/api/slides/{ref['hash']}")
    assert shown.status_code == 200 and shown.json()["quote"] == "Safety first."
    assert "immutable" in shown.headers["cache-control"]
    assert shown.json()["revision"] == ref["revision"] and shown.json()["image"] == ref["image"]
    # a new draft: what its slide would be, hashed the way the server hashes slides
    (content / "ana.md").write_text(story("Ana Ruiz", "A secret draft.", quote="Not yet."))
    draft = server.wait_status("ana.md", "pending")
    would_be = playlist.prepare({**draft, "pinned": False, "first_approved": None}, server.settings)
    assert "A secret draft." in would_be.body.decode()
    assert server.get(f"/api/slides/{would_be.hash}").status_code == 404
    server.library.reject(ana["id"], "mod", "no")
    assert server.get(f"/api/slides/{would_be.hash}").status_code == 404
    assert server.get(f"/api/slides/{ref['hash']}").status_code == 200  # still on screen
    server.library.retire(ana["id"], "mod")
    assert server.get(f"/api/slides/{ref['hash']}").status_code == 404
    assert server.get("/api/slides/not-a-hash").status_code == 404


def test_a_screen_with_a_recent_version_gets_only_the_changes(
    server: LiveServer, content: Path
) -> None:
    approved(server, content, "ana", "Ana Ruiz")
    before = server.get("/api/playlist").json()
    ben = approved(server, content, "ben", "Ben Okafor")
    full = server.get("/api/playlist")
    delta = server.get(f"/api/playlist?since={before['version']}")
    assert delta.headers["etag"] == full.headers["etag"]
    changes = delta.json()
    assert "slides" not in changes and changes["since"] == before["version"]
    assert changes["version"] == full.json()["version"]
    slides, at = [], 0
    for start, removed, added in changes["changes"]:
        slides += before["slides"][at:start] + added
        at = start + removed
    assert slides + before["slides"][at:] == full.json()["slides"]
    # the only slide the screen has not seen is Ben's (Ana may come round twice now)
    had = {ref["hash"] for ref in before["slides"]}
    new = {ref["hash"] for _, _, added in changes["changes"] for ref in added} - had
    assert len(new) == 1
    assert {r["id"] for r in full.json()["slides"] if r["hash"] not in had} == {ben["id"]}
    assert len(delta.content) < len(full.content)
    # a version the server never made, or no longer keeps: the whole playlist
    assert server.get("/api/playlist?since=unknown").json() == full.json()
    same = server.get(
        f"/api/playlist?since={before['version']}", headers={"If-None-Match": full.headers["etag"]}
    )
    assert same.status_code == 304
