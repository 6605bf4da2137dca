"""Approved ∧ scheduled ∧ meant for this screen ∧ not quiet -> slides and a version.

The version is a hash of everything a screen shows, so it changes exactly when a screen must
change: a decision, an edit, a start or end date passing, consent ending, quiet hours beginning
or ending, a new theme or new player code. The time rules (dates, quiet hours) are kiosk.schedule's.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .assets import code_version
from .library import Library, NotFound
from .model import TEXT_FIELDS, FocalPoint, OnScreen, Submission
from .schedule import in_window, is_quiet, iso_utc, quiet_edges, story_window
from .settings import Settings
from .theme import load_theme

WORD = re.compile(r"\w+")
NAME_SECONDS = 3.0  # to take in the face and the name before reading starts


def page_code(settings: Settings, screen: str) -> str:
    """Everything baked into the /display page; a screen whose page differs must reload."""
    theme = load_theme(settings.theme_for(screen), settings.themes_dir)
    parts = [code_version(), theme.name, theme.fingerprint, settings.share_path]
    parts.append(settings.public_origin)  # in the QR codes, whose URL stays /qr/ID.svg
    parts.append(str(settings.reload_hours))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def duration_ms(rev: Mapping[str, Any], settings: Settings) -> int:
    """At least `slide_seconds`; longer stories stay long enough to read at `reading_wpm`."""
    words = len(WORD.findall(f"{rev.get('quote') or ''} {rev.get('body') or ''}"))
    reading = words / settings.reading_wpm * 60 + NAME_SECONDS
    return round(max(settings.slide_seconds, reading) * 1000)


def slide(
    rev: OnScreen | Submission, settings: Settings, media_prefix: str = "/media/"
) -> dict[str, Any]:
    """One revision as the player gets it (the admin preview uses its own `media_prefix`):
    its text fields, the story as HTML, the photo and where its subject is."""
    texts: dict[str, Any] = {f.name: rev.get(f.name) or "" for f in TEXT_FIELDS}
    image = rev.get("image")
    return {
        "id": rev["id"],
        "revision": rev["revision"],
        **texts,
        "html": rev.get("html") or "",
        "image": media_prefix + image if image else None,
        "photo_alt": texts["photo_alt"] or texts["name"],
        "focal": list(rev.get("focal") or FocalPoint().pair()),
        "duration_ms": duration_ms(rev, settings),
        "language": str((rev.get("extra") or {}).get("language") or ""),  # BCP 47, if given
        "qr": f"/qr/{rev['id']}.svg",  # shown when the theme says qr = true (kiosk.routes.story)
    }


def air_window(rev: OnScreen, settings: Settings) -> tuple[datetime | None, datetime | None]:
    """When an approved revision may be on the screens: its start and end dates, the end
    brought forward to when its consent ends (kiosk.consent retires it then)."""
    start, end = story_window(rev.get("start"), rev.get("end"), settings.zone)
    consent_end = settings.consent_terms.end(rev, rev["first_approved"])
    if consent_end is not None and (end is None or consent_end < end):
        end = consent_end
    return start, end


def on_air(library: Library, sid: int, settings: Settings, now: datetime) -> OnScreen | None:
    """Submission `sid`'s revision as the screens show it at `now` (aware), whatever the
    screens' tags and quiet hours; None when no screen may show it: never approved, retired,
    withdrawn, outside its dates or consent."""
    try:
        sub = library.submission(sid)
    except NotFound:
        return None
    current = sub["on_screen"]
    if current is None or sub["retired_at"] is not None:
        return None
    rev: OnScreen = {
        **current,
        "id": sid,
        "pinned": sub["pinned"],
        "first_approved": sub["first_approved"],
    }
    return rev if in_window(air_window(rev, settings), now.astimezone(UTC)) else None


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


def _compose(revisions: list[OnScreen], settings: Settings, screen: str, now: datetime) -> dict:
    now = now.astimezone(UTC)
    zone = settings.zone
    wanted = set(settings.screen(screen).tags)
    edges: list[datetime] = []
    slides: list[tuple[dict[str, Any], bool, bool]] = []  # (slide, pinned, fresh)
    for rev in revisions:
        if wanted and not wanted & {str(t).lower() for t in rev.get("tags") or ()}:
            continue
        window = air_window(rev, settings)
        edges += [t for t in window if t is not None and t > now]
        if in_window(window, now):
            stale_at = _stale_at(rev, settings, now)
            if stale_at is not None:
                edges.append(stale_at)  # the rotation changes when the story stops being fresh
            slides.append((slide(rev, settings), rev["pinned"], stale_at is not None))
    windows = settings.quiet_windows
    quiet = is_quiet(windows, now.astimezone(zone))
    edges += quiet_edges(windows, now, zone)
    code = page_code(settings, screen)
    # Slides stay in the playlist during quiet hours, so a screen has them ready (and cached)
    # for the morning even if the server is unreachable by then.
    shown = {"code": code, "quiet": quiet, "slides": _rotation(slides)}
    digest = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {
        "version": hashlib.sha256(digest.encode()).hexdigest()[:20],
        "code": code,
        "theme": settings.theme_for(screen),
        "quiet": quiet,
        "slides": shown["slides"],
        "next_change": iso_utc(min(edges)) if edges else None,
    }


def _stale_at(rev: OnScreen, settings: Settings, now: datetime) -> datetime | None:
    """When a fresh story (first approved within `fresh_days` of `now`) stops being fresh;
    None for one that is not fresh."""
    first = rev.get("first_approved")
    if not first or settings.fresh_days <= 0:
        return None
    approved = datetime.fromisoformat(first)
    stale_at = approved + timedelta(days=settings.fresh_days)
    return stale_at if approved <= now < stale_at else None


def _rotation(slides: list[tuple[dict[str, Any], bool, bool]]) -> list[dict[str, Any]]:
    """One rotation, from (slide, pinned, fresh) in moderators' order, pinned first: the pinned,
    then the fresh, the first half of the others, the fresh again, the rest. Every story shows
    at least once; a fresh one twice, unless a rotation this small would show it twice in a
    row (where it ends and starts over, too)."""
    pinned = [s for s, pin, _ in slides if pin]
    fresh = [s for s, pin, new in slides if new and not pin]
    others = [s for s, pin, new in slides if not new and not pin]
    once = pinned + fresh + others
    if not fresh:
        return once
    half = (len(others) + 1) // 2
    twice = pinned + fresh + others[:half] + fresh + others[half:]
    ids = [s["id"] for s in twice]
    if any(a == b for a, b in zip(ids, ids[1:] + ids[:1], strict=True)):
        return once
    return twice
