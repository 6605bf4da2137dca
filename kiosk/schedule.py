"""Time rules: quiet hours, a story's start and end, how long consent lasts, when a screen counts
as silent, ISO instants.

Quiet hours and story dates are wall-clock times where the screens hang (`settings.timezone`);
they become instants through zoneinfo, so daylight saving is right. Instants are UTC.

Standard library only: the screen side (`kiosk display`, kiosk.power) uses these rules too,
without loading the server.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
QUIET_RE = re.compile(
    r"^\s*(?P<days>[a-z]{3}(?:\s*-\s*[a-z]{3})?(?:\s*,\s*[a-z]{3}(?:\s*-\s*[a-z]{3})?)*)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$",
    re.IGNORECASE,
)
LOOKAHEAD_DAYS = 8  # quiet windows repeat weekly; one week ahead always holds the next edge

# Screens: the player sends a heartbeat every HEARTBEAT_SECONDS; missing four in a row is news
# (the admin page marks the screen red, `kiosk display` restarts the browser).
HEARTBEAT_SECONDS = 30
SILENT_SECONDS = 120
SILENT_WORDS = "two minutes"  # SILENT_SECONDS in the words of messages people read


# ---- quiet hours -------------------------------------------------------------------------
@dataclass(frozen=True)
class QuietWindow:
    """Screens go dark on `days` (0 = Monday) from `start` to `end` minutes after midnight."""

    days: frozenset[int]
    start: int
    end: int


def parse_quiet(text: str) -> QuietWindow:
    """`"mon-fri 19:00-07:00"` -> QuietWindow; raises ValueError with an example."""
    m = QUIET_RE.match(text)
    if not m:
        raise ValueError(
            f"quiet_hours entry {text!r} is not understood: write it like "
            '"mon-fri 19:00-07:00" or "sat,sun 00:00-24:00"'
        )
    days: set[int] = set()
    for part in m["days"].lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"quiet_hours {text!r}: days are mon tue wed thu fri sat sun")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])

    def minutes(hhmm: str) -> int:
        h, mm = (int(x) for x in hhmm.split(":"))
        if not (0 <= h <= 24 and 0 <= mm < 60) or (h == 24 and mm):
            raise ValueError(f"quiet_hours {text!r}: {hhmm} is not a time of day")
        return h * 60 + mm

    return QuietWindow(frozenset(days), minutes(m["start"]), minutes(m["end"]))


def is_quiet(windows: Iterable[QuietWindow], local: datetime) -> bool:
    """Is `local` (a wall-clock time where the screens hang) inside a quiet window?"""
    minute = local.hour * 60 + local.minute
    today = local.weekday()
    yesterday = (today - 1) % 7
    for w in windows:
        if w.start < w.end:
            if today in w.days and w.start <= minute < w.end:
                return True
        elif (today in w.days and minute >= w.start) or (yesterday in w.days and minute < w.end):
            return True  # a window that wraps past midnight belongs to the day it starts
    return False


def quiet_edges(windows: Iterable[QuietWindow], now: datetime, zone: ZoneInfo) -> list[datetime]:
    """The instants after `now` at which some quiet window starts or ends (in UTC)."""
    today = now.astimezone(zone).date()
    edges = []
    for offset in range(-1, LOOKAHEAD_DAYS):
        day = today + timedelta(days=offset)
        midnight = datetime(day.year, day.month, day.day)
        for w in windows:
            if day.weekday() not in w.days:
                continue
            end = w.end + (24 * 60 if w.end <= w.start else 0)
            for minutes in (w.start, end):
                wall = midnight + timedelta(minutes=minutes)
                edge = wall.replace(tzinfo=zone).astimezone(UTC)
                if edge > now:
                    edges.append(edge)
    return edges


# ---- a story's start and end -------------------------------------------------------------
# Both are stored as ISO text: a bare date (2026-12-01) or a date and time (2026-12-01T08:00:00).
def story_date(value: str) -> str:
    """A start or end typed by a person, as stored; raises ValueError if it is not ISO."""
    parsed: date = (datetime if "T" in value or " " in value else date).fromisoformat(value)
    return parsed.isoformat()


def wall_time(value: str, *, end: bool = False) -> datetime:
    """A story's start or end as a naive wall-clock time; raises ValueError if it is not ISO.

    A bare end date lasts through that day, so its bound is the next midnight: a story is
    shown while start <= now < end.
    """
    if _is_date(value):
        day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
        return datetime(day.year, day.month, day.day)
    return datetime.fromisoformat(value).replace(tzinfo=None)


def story_window(
    start: str | None, end: str | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """A story's start and end as UTC instants; None where it is open on that side."""
    return _instant(start, zone), _instant(end, zone, end=True)


def in_window(window: tuple[datetime | None, datetime | None], now: datetime) -> bool:
    """Is a story with this `story_window` shown at `now`?"""
    start, end = window
    return (start is None or start <= now) and (end is None or now < end)


def ends_before_start(start: str, end: str) -> bool:
    """Does `end` come before `start`, leaving the story no days to be shown?

    A bare end date counts to the end of its day, so an end on the start's own day is fine.
    """
    first, last = wall_time(start), wall_time(end, end=True)
    # An end date's bound is the midnight after it: a start at that midnight is already too late.
    return last <= first if _is_date(end) else last < first


def _is_date(value: str) -> bool:
    return len(value) == 10  # YYYY-MM-DD, as isoformat() writes a date


def _instant(value: str | None, zone: ZoneInfo, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        wall = wall_time(value, end=end)
    except ValueError:
        return None  # ingest refuses bad dates; one that slipped through must not hide a story
    return wall.replace(tzinfo=zone).astimezone(UTC)


# ---- consent ------------------------------------------------------------------------------
CONSENT_NOTICE_DAYS = 30  # the writer and the moderators hear this long before consent ends


@dataclass(frozen=True)
class ConsentTerms:
    """How long consent lasts: until `consent_until`, else `months` after `consent_date`, else
    `months` after a moderator first approved the story (what staff expect of a story that
    just says `consent: yes`: it counts from the day it went on the screens). `months` = 0:
    consent without `consent_until` does not end. A story without consent has no end here;
    `require_consent` decides whether it may be shown at all."""

    months: int
    zone: ZoneInfo

    def last(self, fields: Mapping[str, Any], first_approved: str | None) -> str | None:
        """The last day (or time) consent holds, written as `consent_until` would be."""
        if fields.get("consent_until"):
            return str(fields["consent_until"])
        if self.months <= 0 or not (fields.get("consent") or fields.get("consent_date")):
            return None
        if fields.get("consent_date"):
            since = wall_time(str(fields["consent_date"])).date()
        elif first_approved:
            since = datetime.fromisoformat(first_approved).astimezone(self.zone).date()
        else:
            return None  # not approved yet: the count starts when it is
        return _add_months(since, self.months).isoformat()

    def end(self, fields: Mapping[str, Any], first_approved: str | None) -> datetime | None:
        """The instant consent ends (UTC): the story leaves the screens then."""
        return _instant(self.last(fields, first_approved), self.zone, end=True)


def consent_words(name: str, last: str, *, ended: bool = False) -> str:
    """`consent for Babette Ruiz ends on 30 June 2027`, as staff and moderators read it."""
    when = wall_time(last)
    day = f"{when.day} {when:%B %Y}" + ("" if _is_date(last) else f" at {when:%H:%M}")
    return f"consent for {name} {'ended' if ended else 'ends'} on {day}"


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    # 31 January + 1 month is the last day of February
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# ---- screens -----------------------------------------------------------------------------
def silent_for(last_seen: str | None, now: datetime) -> float:
    """Seconds since a heartbeat stored as an ISO time (0 for a screen never heard: unknown)."""
    if not last_seen:
        return 0.0
    return max(0.0, (now - datetime.fromisoformat(last_seen)).total_seconds())


# ---- instants ----------------------------------------------------------------------------
def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime, timespec: str = "seconds") -> str:
    """`2026-12-01T07:00:00Z`: an instant in UTC, as the JSON API writes it (whole seconds).

    The library stores `timespec="milliseconds"`: at one precision with a `Z`, instants sort
    as text, so SQL compares them as strings.
    """
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
