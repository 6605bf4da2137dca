"""Time rules on their own: story dates, end before start, screen silence, ISO instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.schedule import (
    SILENT_SECONDS,
    ends_before_start,
    in_window,
    iso_utc,
    silent_for,
    story_date,
    story_window,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("start", "end", "before"),
    [
        ("2026-12-01", "2026-12-01", False),  # one day
        ("2026-12-01T18:00:00", "2026-12-01", False),  # an end date lasts through its day
        ("2026-12-02", "2026-12-01", True),
        ("2026-12-02T00:00:00", "2026-12-01", True),  # the midnight after the end date
        ("2026-12-01T08:00:00", "2026-12-01T07:59:00", True),
        ("2026-12-01T08:00:00", "2026-12-01T08:00:00", False),
        ("2026-12-01", "2026-11-30T23:59:59", True),
    ],
)
def test_end_before_start(start: str, end: str, before: bool) -> None:
    assert ends_before_start(start, end) is before


def test_story_date_is_stored_as_iso() -> None:
    assert story_date("2026-12-01") == "2026-12-01"
    assert story_date("2026-12-01 08:00") == "2026-12-01T08:00:00"
    with pytest.raises(ValueError):
        story_date("1 December")


def test_a_story_shows_from_its_start_through_its_end_date_where_the_screens_hang() -> None:
    window = story_window("2026-12-01", "2026-12-02", BERLIN)
    assert window == (
        datetime(2026, 11, 30, 23, 0, tzinfo=UTC),  # Berlin midnight is 23:00 UTC in winter
        datetime(2026, 12, 2, 23, 0, tzinfo=UTC),
    )
    assert not in_window(window, datetime(2026, 11, 30, 22, 59, tzinfo=UTC))
    assert in_window(window, datetime(2026, 12, 2, 22, 59, tzinfo=UTC))
    assert not in_window(window, datetime(2026, 12, 2, 23, 0, tzinfo=UTC))
    assert story_window(None, "not a date", BERLIN) == (None, None)  # open on both sides


def test_a_screen_goes_silent_after_silent_seconds() -> None:
    beat = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    stored = "2026-12-01T08:00:00.000Z"  # as the library writes it
    assert silent_for(stored, beat + timedelta(seconds=SILENT_SECONDS)) == SILENT_SECONDS
    assert silent_for(stored, beat - timedelta(seconds=5)) == 0.0  # clocks disagree: not silent
    assert silent_for(None, beat) == 0.0  # never heard: unknown, not silent


def test_instants_are_written_in_utc_to_the_second() -> None:
    moment = datetime(2026, 12, 1, 9, 0, 0, 500_000, tzinfo=BERLIN)
    assert iso_utc(moment) == "2026-12-01T08:00:00Z"
