"""Playlist rules: order, pins, dates, tags, quiet hours (midnight, DST), durations, version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kiosk.library import Library
from kiosk.playlist import _rotation, build, slide
from kiosk.schedule import is_quiet
from kiosk.settings import Settings, load

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    return Library(tmp_path / "kiosk.db")


def cfg(**values: Any) -> Settings:
    return load(overrides=values, environ={})


def add(lib: Library, name: str, approve: bool = True, body: str = "Keeps it running.", **f) -> int:
    """A story straight into the library (no files): `f` are story fields."""
    h = f"{name}-{body}-{sorted(f.items())}"
    photo = SimpleNamespace(
        photo_hash=name, image=f"{name}.jpg", thumbnail=f"{name}.t.jpg", width=8, height=10
    )
    fields = {"name": name, "quote": "", "tags": [], **f}
    sid = lib.record_revision(
        name + ".md", h, fields, body=body, html=f"<p>{body}</p>", rendition=photo
    )
    if approve:
        lib.approve(sid.submission_id, "mod")
    return sid.submission_id


def names(playlist: dict) -> list[str]:
    return [s["name"] for s in playlist["slides"]]


def test_approved_only_in_moderators_order_pinned_first(lib: Library) -> None:
    a, b, c = add(lib, "Ana"), add(lib, "Ben"), add(lib, "Cleo")
    add(lib, "Pending Pat", approve=False)
    lib.patch(a, "mod", {"position": 10})
    lib.patch(c, "mod", {"pinned": True})
    playlist = build(lib, cfg(), "default", NOON)
    assert names(playlist) == ["Cleo", "Ben", "Ana"]
    assert playlist["quiet"] is False and playlist["theme"] == "default"
    assert [s["id"] for s in playlist["slides"]] == [c, b, a]


def test_slide_shape_and_media_prefix(lib: Library) -> None:
    add(lib, "Ana", role="Foreman", organization="Acme", location="Yakima", quote="Hi.")
    lib.patch(1, "mod", {"focal": [0.25, 0.75]})
    rev = lib.on_screen()[0]
    assert slide(rev, cfg(), "/api/admin/media/")["image"] == "/api/admin/media/Ana.jpg"
    s = build(lib, cfg(), "default", NOON)["slides"][0]
    assert set(s) == {
        "id",
        "revision",
        "name",
        "role",
        "organization",
        "location",
        "quote",
        "html",
        "image",
        "photo_alt",
        "focal",
        "duration_ms",
        "language",
        "qr",
    }
    assert s["qr"] == f"/qr/{s['id']}.svg"  # the code of its phone page (routes/story.py)
    assert (s["name"], s["role"], s["organization"], s["location"]) == (
        "Ana",
        "Foreman",
        "Acme",
        "Yakima",
    )
    assert s["image"] == "/media/Ana.jpg" and s["focal"] == [0.25, 0.75]
    assert s["html"] == "<p>Keeps it running.</p>" and s["photo_alt"] == "Ana"


def test_durations_follow_reading_speed(lib: Library) -> None:
    add(lib, "Short", body="Keeps it running.")
    add(lib, "Long", body=" ".join(["word"] * 355), quote="Five words in a quote.")
    durations = {s["name"]: s["duration_ms"] for s in build(lib, cfg(), "x", NOON)["slides"]}
    assert durations["Short"] == 12_000  # slide_seconds is the minimum
    # 360 words at 180 wpm = 120 s, plus 3 s to take in the face and the name
    assert durations["Long"] == 123_000
    slow = build(lib, cfg(reading_wpm=90, slide_seconds=5), "x", NOON)["slides"]
    assert {s["name"]: s["duration_ms"] for s in slow} == {"Short": 5_000, "Long": 243_000}


def test_start_and_end_dates_in_local_time(lib: Library) -> None:
    add(lib, "Starts Friday", start="2026-06-12")
    add(lib, "Ended Tuesday", end="2026-06-09")
    add(lib, "Ends Today", end="2026-06-10")
    add(lib, "At Eight", start="2026-06-10T08:00:00")
    berlin = cfg(timezone="Europe/Berlin")
    assert names(build(lib, berlin, "x", NOON)) == ["Ends Today", "At Eight"]
    # an end date lasts through that day, where the screens hang: 23:59 in Berlin is 21:59 UTC
    late = datetime(2026, 6, 10, 21, 59, tzinfo=UTC)
    assert "Ends Today" in names(build(lib, berlin, "x", late))
    assert "Ends Today" not in names(build(lib, berlin, "x", late + timedelta(minutes=1)))
    # 08:00 in Berlin is 06:00 UTC
    early = datetime(2026, 6, 10, 5, 59, 59, tzinfo=UTC)
    assert "At Eight" not in names(build(lib, berlin, "x", early))
    assert "At Eight" in names(build(lib, berlin, "x", early + timedelta(seconds=1)))


def test_screen_tags_pick_stories(lib: Library) -> None:
    add(lib, "Plant", tags=["plant", "manufacturing"])
    add(lib, "Schools", tags=["schools"])
    add(lib, "Untagged")
    settings = cfg(screens={"floor": {"tags": ["Plant"]}})
    assert names(build(lib, settings, "floor", NOON)) == ["Plant"]
    assert names(build(lib, settings, "lobby", NOON)) == ["Plant", "Schools", "Untagged"]


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        ("2026-06-12 18:59", False),  # Friday evening, before
        ("2026-06-12 19:00", True),
        ("2026-06-13 06:59", True),  # Saturday morning: Friday's window wraps past midnight
        ("2026-06-13 07:00", False),
        ("2026-06-14 06:00", False),  # Sunday morning: Saturday has no window
        ("2026-06-15 06:00", False),  # Monday morning: Sunday has no window either
        ("2026-06-15 23:30", True),
    ],
)
def test_quiet_hours_wrap_past_midnight(local: str, quiet: bool) -> None:
    windows = cfg(quiet_hours=["mon-fri 19:00-07:00"]).quiet_windows
    assert is_quiet(windows, datetime.fromisoformat(local)) is quiet


def test_quiet_hours_across_daylight_saving(lib: Library) -> None:
    add(lib, "Ana")
    settings = cfg(timezone="Europe/Berlin", quiet_hours=["mon-sun 22:00-06:00"])
    # Europe turns the clocks forward on 29 March 2026 at 02:00 (UTC+1 -> UTC+2).
    evening = build(lib, settings, "x", datetime(2026, 3, 28, 22, 0, tzinfo=UTC))  # 23:00 CET
    assert evening["quiet"] is True
    # Quiet ends at 06:00 CEST = 04:00 UTC: six hours later, not seven.
    assert evening["next_change"] == "2026-03-29T04:00:00Z"
    assert build(lib, settings, "x", datetime(2026, 3, 29, 3, 59, tzinfo=UTC))["quiet"] is True
    assert build(lib, settings, "x", datetime(2026, 3, 29, 4, 0, tzinfo=UTC))["quiet"] is False
    # And back on 25 October 2026 at 03:00 (UTC+2 -> UTC+1): 06:00 CET is 05:00 UTC.
    assert build(lib, settings, "x", datetime(2026, 10, 25, 4, 59, tzinfo=UTC))["quiet"] is True
    assert build(lib, settings, "x", datetime(2026, 10, 25, 5, 0, tzinfo=UTC))["quiet"] is False
    # Slides stay listed while dark, so the screen has them the moment quiet hours end.
    assert names(evening) == ["Ana"]


def test_version_changes_exactly_when_the_screen_changes(lib: Library) -> None:
    settings = cfg()

    def version() -> str:
        return build(lib, settings, "default", NOON)["version"]

    empty = version()
    assert version() == empty  # same state, same version
    ana = add(lib, "Ana")
    with_ana = version()
    assert with_ana != empty
    lib.patch(ana, "mod", {"focal": [0.5, 0.2]})
    moved = version()
    assert moved != with_ana  # the crop is part of what a screen shows
    add(lib, "Ana", approve=False, body="A new draft nobody approved.")
    assert version() == moved  # a pending edit changes nothing on screen
    lib.reject(ana, "mod", "typo")  # the draft is rejected; the approved one plays on
    assert version() == moved
    assert build(lib, cfg(theme="portrait"), "default", NOON)["version"] != moved
    assert build(lib, cfg(slide_seconds=30), "default", NOON)["version"] != moved
    lib.retire(ana, "mod")
    assert version() == empty


def test_version_changes_when_a_start_time_passes_with_no_file_event(lib: Library) -> None:
    add(lib, "Ana")
    add(lib, "Ben", start="2026-06-10T14:30:00")
    settings = cfg(timezone="America/New_York")  # 14:30 EDT = 18:30 UTC
    start = datetime(2026, 6, 10, 18, 30, tzinfo=UTC)
    before = build(lib, settings, "default", start - timedelta(minutes=5))
    just_before = build(lib, settings, "default", start - timedelta(seconds=1))
    at_start = build(lib, settings, "default", start)
    assert before["version"] == just_before["version"]
    assert before["next_change"] == "2026-06-10T18:30:00Z"  # the broadcaster wakes then
    assert names(at_start) == ["Ana", "Ben"] and at_start["version"] != before["version"]
    assert at_start["next_change"] is None


# ---- fresh stories ------------------------------------------------------------------------
APPROVED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # nine days before NOON


def approved_on(tmp_path: Path, when: datetime) -> Library:
    """A library whose approvals (the audit's clock) happen at `when`."""
    return Library(tmp_path / "kiosk.db", clock=lambda: when)


def test_fresh_stories_come_round_twice_and_nobody_is_forgotten(tmp_path: Path) -> None:
    lib = approved_on(tmp_path, APPROVED - timedelta(days=30))
    pinned, old1, old2, old3, old4 = (add(lib, n) for n in ["Pia", "Ana", "Ben", "Cleo", "Dan"])
    lib.patch(pinned, "mod", {"pinned": True})
    lib.clock = lambda: APPROVED
    fresh1, fresh2 = add(lib, "Eve"), add(lib, "Finn")
    playlist = build(lib, cfg(), "default", NOON)
    # pinned first, then the fresh, the first half of the others, the fresh again, the rest
    assert names(playlist) == ["Pia", "Eve", "Finn", "Ana", "Ben", "Eve", "Finn", "Cleo", "Dan"]
    ids = [s["id"] for s in playlist["slides"]]
    assert {ids.count(i) for i in (pinned, old1, old2, old3, old4)} == {1}
    assert ids.count(fresh1) == ids.count(fresh2) == 2
    assert build(lib, cfg(), "default", NOON) == playlist  # reproducible
    # fresh until 14 days after the approval: the broadcaster wakes then, the version changes
    assert playlist["next_change"] == "2026-06-15T09:00:00Z"
    later = build(lib, cfg(), "default", datetime(2026, 6, 15, 9, 0, 1, tzinfo=UTC))
    assert names(later) == ["Pia", "Ana", "Ben", "Cleo", "Dan", "Eve", "Finn"]
    assert later["version"] != playlist["version"] and later["next_change"] is None
    # fresh_days = 7: nine days ago is not fresh any more; 0 turns freshness off
    for days in (7, 0):
        assert names(build(lib, cfg(fresh_days=days), "default", NOON)) == names(later)


def test_a_fresh_story_never_follows_itself(tmp_path: Path) -> None:
    lib = approved_on(tmp_path, APPROVED - timedelta(days=30))
    add(lib, "Ana")
    lib.clock = lambda: APPROVED
    add(lib, "Eve")
    # Eve, Ana, Eve would play Eve twice in a row when the rotation starts over
    assert names(build(lib, cfg(), "default", NOON)) == ["Eve", "Ana"]
    add(lib, "Finn")
    assert names(build(lib, cfg(), "default", NOON)) == ["Eve", "Finn", "Ana", "Eve", "Finn"]


@pytest.mark.parametrize("pinned", range(3))
@pytest.mark.parametrize("fresh", range(4))
@pytest.mark.parametrize("others", range(5))
def test_every_rotation_shows_each_story_and_never_one_twice_in_a_row(
    pinned: int, fresh: int, others: int
) -> None:
    """However many pinned, fresh and other stories: each shows, a fresh one twice where it can
    be, and no story follows itself, where the rotation starts over too."""
    slides = [
        *[(object(), True, False) for _ in range(pinned)],
        *[(object(), False, True) for _ in range(fresh)],
        *[(object(), False, False) for _ in range(others)],
    ]
    groups = [[s for s, pin, new in slides if pin], [s for s, pin, new in slides if new]]
    groups.append([s for s, pin, new in slides if not pin and not new])
    rotation = _rotation(*groups)  # type: ignore[arg-type]
    assert {id(s) for s in rotation} == {id(s) for s, _, _ in slides}
    looped = rotation + rotation[:1]
    assert not any(a is b for a, b in zip(looped, looped[1:], strict=False)) or len(rotation) == 1
    twice = [s for s, _, new in slides if new and rotation.count(s) == 2]
    can = fresh > 1 or (fresh == 1 and others >= 1 and (pinned or others >= 2))
    assert len(twice) == (fresh if can else 0)
