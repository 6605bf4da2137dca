"""Approved ∧ scheduled ∧ meant for this screen ∧ not quiet -> slides and a version.

The version is a hash of everything a screen shows, so it changes exactly when a screen must
change: a decision, an edit, a start or end date passing, quiet hours beginning or ending, a new
theme or new player code. Dates in stories and quiet hours are wall-clock times in
`settings.timezone`; they are turned into instants with zoneinfo, so daylight saving is right.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import __version__
from .library import Library
from .settings import QuietWindow, Settings
from .themes import load_theme

PACKAGE = Path(__file__).resolve().parent
WORD = re.compile(r"\w+")
NAME_SECONDS = 3.0  # to take in the face and the name before reading starts
LOOKAHEAD_DAYS = 8  # quiet windows repeat weekly; one week ahead always holds the next edge


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the player's code (static files, page templates): screens reload when it moves."""
    h = hashlib.sha256(__version__.encode())
    for root in (PACKAGE / "static", PACKAGE / "templates"):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def page_code(settings: Settings, screen: str) -> str:
    """Everything baked into the /display page; a screen whose page differs must reload."""
    theme = load_theme(settings.theme_for(screen), settings.themes_dir)
    parts = [code_version(), theme.name, theme.fingerprint, settings.share_path]
    parts.append(str(settings.reload_hours))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def duration_ms(rev: dict[str, Any], settings: Settings) -> int:
    """At least `slide_seconds`; longer stories stay long enough to read at `reading_wpm`."""
    words = len(WORD.findall(f"{rev.get('quote') or ''} {rev.get('body') or ''}"))
    reading = words / settings.reading_wpm * 60 + NAME_SECONDS
    return round(max(settings.slide_seconds, reading) * 1000)


def slide(rev: dict[str, Any], settings: Settings, media_prefix: str = "/media/") -> dict:
    """One revision as the player gets it (the admin preview uses its own `media_prefix`)."""
    return {
        "id": rev["id"],
        "revision": rev["revision"],
        "name": rev.get("name") or "",
        "role": rev.get("role") or "",
        "organization": rev.get("organization") or "",
        "location": rev.get("location") or "",
        "quote": rev.get("quote") or "",
        "html": rev.get("html") or "",
        "image": media_prefix + rev["image"] if rev.get("image") else None,
        "photo_alt": rev.get("photo_alt") or rev.get("name") or "",
        "focal": list(rev.get("focal") or [0.5, 0.3]),
        "duration_ms": duration_ms(rev, settings),
        "language": str((rev.get("extra") or {}).get("language") or ""),  # BCP 47, if given
    }


def build(library: Library, settings: Settings, screen: str, now: datetime) -> dict:
    """The playlist of one screen at `now` (an aware datetime); `Playlists` caches it."""
    return _compose(library.on_screen(), settings, screen, now)


class Playlists:
    """Each screen's playlist and its JSON, built once per library change or time boundary
    rather than once per request (screens poll it, and a cold start asks for it 1,000 times)."""

    def __init__(self, library: Library, settings: Settings) -> None:
        self.library = library
        self.settings = settings
        self._cache: dict[tuple, tuple[int, datetime | None, dict, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, screen: str, now: datetime) -> tuple[dict, bytes]:
        """The playlist of `screen` at `now` (aware) and the same as JSON bytes."""
        key = profile(self.settings, screen)
        with self._lock:  # fifty screens connecting at once make one build, not fifty
            generation = self.library.generation  # read first: a change during the build misses
            hit = self._cache.get(key)
            if hit and hit[0] == generation and (hit[1] is None or now < hit[1]):
                return hit[2], hit[3]
            current = build(self.library, self.settings, screen, now)
            body = json.dumps(current, separators=(",", ":"), ensure_ascii=False).encode()
            until = current["next_change"]
            until = datetime.fromisoformat(until) if until else None
            self._cache[key] = (generation, until, current, body)
            return current, body


def profile(settings: Settings, screen: str) -> tuple:
    """What makes two screens' playlists differ: their theme and their tags."""
    return (settings.theme_for(screen), settings.screen(screen).tags)


def _compose(revisions: list[dict], settings: Settings, screen: str, now: datetime) -> dict:
    now = now.astimezone(UTC)
    zone = settings.zone
    wanted = set(settings.screen(screen).tags)
    edges: list[datetime] = []
    slides = []
    for rev in revisions:
        if wanted and not wanted & {str(t).lower() for t in rev.get("tags") or ()}:
            continue
        start, end = _moment(rev.get("start"), zone), _moment(rev.get("end"), zone, end=True)
        edges += [t for t in (start, end) if t is not None and t > now]
        if (start is None or start <= now) and (end is None or now < end):
            slides.append(slide(rev, settings))
    windows = settings.quiet_windows
    quiet = is_quiet(windows, now.astimezone(zone))
    edges += quiet_edges(windows, now, zone)
    code = page_code(settings, screen)
    # Slides stay in the playlist during quiet hours, so a screen has them ready (and cached)
    # for the morning even if the server is unreachable by then.
    shown = {"code": code, "quiet": quiet, "slides": slides}
    digest = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {
        "version": hashlib.sha256(digest.encode()).hexdigest()[:20],
        "code": code,
        "theme": settings.theme_for(screen),
        "quiet": quiet,
        "slides": slides,
        "next_change": _iso(min(edges)) if edges else None,
    }


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


def _moment(value: str | None, zone: ZoneInfo, end: bool = False) -> datetime | None:
    """A story's start/end as an instant; an end given as a date lasts through that day."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            wall = datetime(day.year, day.month, day.day)
        else:
            wall = datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        return None  # ingest refuses bad dates; one that slipped through must not hide a story
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
