"""Consent has a date and an end: a story whose consent ended is on no screen, leaves the screens
by itself at that moment, and the writer and the moderators are told thirty days before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kiosk import playlist
from kiosk.ingest.scan import Entry
from kiosk.ingest.story import read_story
from kiosk.library import Library, Refused
from kiosk.schedule import utcnow
from kiosk.settings import Settings
from kiosk.status_file import NAME

from .factories import approved, drop, make_tree, story
from .support import Events, LiveServer, add_users, signed_in, wait_for


def _local_today(server: LiveServer) -> date:
    return datetime.now(server.settings.zone).date()


def _notice(name: str, day: date) -> str:
    return (
        f"consent for {name} ends on {day.day} {day:%B %Y}: ask again and update "
        "consent_until, or the story leaves the screens then"
    )


def test_the_reader_takes_the_consent_dates_and_names_a_bad_one(tmp_path: Path) -> None:
    dates = {"consent_date": "2026-03-01", "Consent until": "2027-06-30"}
    good = story("Ana Ruiz", consent="yes", **dates)
    bad = story("Bo Lind", consent="yes", consent_until="next spring")
    make_tree(tmp_path, {"ana.md": good, "bo.md": bad})
    ana = read_story(Entry("ana.md", tmp_path / "ana.md", None, ""), 65536)
    assert (ana.consent_date, ana.consent_until, ana.problems) == ("2026-03-01", "2027-06-30", ())
    bo = read_story(Entry("bo.md", tmp_path / "bo.md", None, ""), 65536)
    assert bo.consent_until is None
    assert bo.problems == (
        "bo.md: consent_until: next spring is not a date; write it as YYYY-MM-DD, "
        "for example 2026-12-01 (a time may follow: 2026-12-01 08:00)",
    )


def test_consent_until_in_the_past_is_never_on_the_playlist(
    server: LiveServer, content: Path
) -> None:
    yesterday = (_local_today(server) - timedelta(days=1)).isoformat()
    long_ago = (_local_today(server) - timedelta(days=800)).isoformat()  # > consent_months (24)
    old = drop(server, content, "ana", "Ana Ruiz", consent="yes", consent_until=yesterday)
    dated = drop(server, content, "bo", "Bo Lind", 1, consent="yes", consent_date=long_ago)
    add_users(server)
    client = signed_in(server)
    for sub in (old, dated):
        answer = client.post(f"/api/admin/submissions/{sub['id']}/approve")
        assert answer.status_code == 422
        assert f"consent for {sub['name']} ended on" in answer.json()["detail"]
    assert server.get("/api/playlist").json()["slides"] == []


def test_consent_without_a_date_counts_from_the_first_approval(tmp_path: Path) -> None:
    """`consent: yes` with no date: consent_months from the day a moderator first approved it."""
    now = utcnow()
    clock = [now - timedelta(days=365 * 2 + 2)]
    library = Library(tmp_path / "kiosk.db", clock=lambda: clock[0])
    fields = {"name": "Ana Ruiz", "consent": True, "consent_date": None, "consent_until": None}
    sid = library.record_revision("ana.md", "h1", fields).submission_id
    library.approve(sid, "mod")
    settings = Settings(timezone="UTC", fresh_days=0)  # the next change is consent's end
    then = playlist.build(library, settings, "default", clock[0] + timedelta(days=1))
    assert [s["name"] for s in then["slides"]] == ["Ana Ruiz"]
    end = datetime.fromisoformat(then["next_change"])
    # approved two years and two days ago: consent ran out a day ago, at midnight
    assert end == datetime.combine(now.date() - timedelta(days=1), datetime.min.time(), UTC)
    assert playlist.build(library, settings, "default", now)["slides"] == []
    # a moderator approving it again does not restart the count
    clock[0] = now
    with pytest.raises(Refused, match="consent for Ana Ruiz ended on"):
        library.approve(sid, "mod", consent=settings.consent_terms)
    # with consent_months = 0 consent without consent_until does not end
    forever = Settings(timezone="UTC", consent_months=0, fresh_days=0)
    assert playlist.build(library, forever, "default", now)["slides"] != []


def test_consent_ending_in_two_seconds_leaves_a_connected_screen_then(
    server: LiveServer, content: Path
) -> None:
    local_now = datetime.now(server.settings.zone).replace(tzinfo=None, microsecond=0)
    until = local_now + timedelta(seconds=3)  # whole seconds: the end is in 2 to 3 seconds
    ana = approved(
        server, content, "ana", "Ana Ruiz", consent="yes", consent_until=until.isoformat()
    )
    assert [s["name"] for s in server.shown()] == ["Ana Ruiz"]
    stream = Events(server.url + "/api/events?screen=default")
    try:
        shown = stream.next()
        gone = stream.next(timeout=8)  # no file event, no decision: consent ran out
        left_at = datetime.now(server.settings.zone).replace(tzinfo=None)
        assert gone["version"] != shown["version"]
        assert until <= left_at < until + timedelta(seconds=2)
        assert server.get("/api/playlist").json()["slides"] == []
    finally:
        stream.close()
    retired = server.wait_status("ana.md", "retired")
    assert retired["retired_reason"] == "consent ended"
    (entry,) = [e for e in server.library.audit_log() if e["action"] == "consent ended"]
    assert (entry["actor"], entry["submission_id"]) == ("kiosk", ana["id"])
    assert entry["detail"] == {"until": until.isoformat()}


def test_consent_ending_in_20_days_is_announced_to_writer_and_moderators(
    server: LiveServer, content: Path
) -> None:
    soon = _local_today(server) + timedelta(days=20)
    later = _local_today(server) + timedelta(days=40)
    approved(server, content, "ana", "Ana Ruiz", consent="yes", consent_until=soon.isoformat())
    approved(server, content, "bo", "Bo Lind", consent="yes", consent_until=later.isoformat())
    status = content / NAME
    wait_for(lambda: status.exists() and "Ana Ruiz ends" in status.read_text(), timeout=10)
    text = status.read_text()
    assert _notice("Ana Ruiz", soon) in text
    assert "Bo Lind ends" not in text
    add_users(server)
    subs = signed_in(server).get("/api/admin/submissions").json()["submissions"]
    notices = {s["name"]: s["consent_notice"] for s in subs}
    assert notices == {"Ana Ruiz": _notice("Ana Ruiz", soon), "Bo Lind": None}
    ends = {s["name"]: s["consent_ends"] for s in subs}
    assert ends["Bo Lind"] == later.isoformat()
    assert httpx.get(server.url + "/api/playlist").json()["slides"] != []
