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
from difflib import SequenceMatcher
from operator import itemgetter
from typing import Any, NamedTuple

from .assets import code_version
from .library import Library, NotFound
from .model import TEXT_FIELDS, FocalPoint, OnScreen, Submission
from .schedule import in_window, is_quiet, iso_utc, quiet_edges, story_window
from .settings import Settings
from .theme import load_theme

WORD = re.compile(r"\w+")
NAME_SECONDS = 3.0  # to take in the face and the name before reading starts
SLIDE_HASH = 20  # hex digits of a slide's content hash: 80 bits
HISTORY = 8  # versions per screen profile a screen may ask for the changes since


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
        "position": sub["position"],
        "first_approved": sub["first_approved"],
        "updated_at": sub["updated_at"],
    }
    return rev if in_window(air_window(rev, settings), now.astimezone(UTC)) else None


class Prepared(NamedTuple):
    """One revision made ready for any screen's playlist, once per revision rather than once
    per rebuild: its slide, the slide's JSON and content hash, and what the rules look at."""

    rev: OnScreen  # the library's dict this was made from: the same object while unchanged
    slide: dict[str, Any]
    hash: str
    body: bytes  # the slide as JSON, served at /api/slides/{hash}
    ref: bytes  # its entry in the playlist's JSON
    tags: frozenset[str]
    window: tuple[datetime | None, datetime | None]  # its dates, consent's end included
    fresh: tuple[datetime, datetime] | None  # first approved, and `fresh_days` later


def prepare(rev: OnScreen, settings: Settings) -> Prepared:
    """`rev` as a slide, with the content hash screens fetch and cache it by."""
    shown = slide(rev, settings)
    body = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    digest = hashlib.sha256(body).hexdigest()[:SLIDE_HASH]
    # The photo's URL too: a screen stores every photo for offline use without every slide.
    ref = {k: shown[k] for k in ("id", "revision", "image", "duration_ms")} | {"hash": digest}
    first = rev.get("first_approved")
    approved = datetime.fromisoformat(first) if first else None
    fresh = None
    if approved is not None and settings.fresh_days > 0:
        fresh = (approved, approved + timedelta(days=settings.fresh_days))
    return Prepared(
        rev,
        shown,
        digest,
        body,
        json.dumps(ref, separators=(",", ":")).encode(),
        frozenset(str(t).lower() for t in rev.get("tags") or ()),
        air_window(rev, settings),
        fresh,
    )


def build(library: Library, settings: Settings, screen: str, now: datetime) -> dict:
    """The playlist of one screen at `now` (an aware datetime), each slide whole (`Playlists`
    keeps what screens fetch: slides by reference)."""
    prepared = [prepare(rev, settings) for rev in library.on_screen()]
    playlist = _compose(prepared, settings, screen, now)
    return playlist | {"slides": [p.slide for p in playlist["slides"]]}


class Playlists:
    """Each screen's playlist and its JSON, built once per library change or time boundary
    rather than once per request (screens poll it, and a cold start asks for it 1,000 times).

    A playlist lists slides by content hash ({id, revision, hash, image, duration_ms}); a screen
    fetches each slide once from /api/slides/{hash} and keeps it. A screen that has an earlier
    version gets only the changes (`delta`), so one decision costs it a few hundred bytes, not
    the whole list again."""

    def __init__(self, library: Library, settings: Settings) -> None:
        self.library = library
        self.settings = settings
        self._cache: dict[tuple, tuple[int, datetime | None, dict, bytes]] = {}
        self._history: dict[tuple, dict[str, list[Prepared]]] = {}  # profile -> recent versions
        self._deltas: dict[tuple[tuple, str, str], bytes | None] = {}  # (profile, from, to)
        self._prepared: dict[int, Prepared] = {}  # submission id -> its slide on screen
        self._stamp = -1  # of the library's list of stories on screen, as of `_prepared`
        self._on_screen: list[Prepared] = []
        self._by_hash: dict[str, bytes] = {}
        self._generation = -1  # of the three above
        self._lock = threading.Lock()

    def get(self, screen: str, now: datetime) -> tuple[dict, bytes]:
        """The playlist of `screen` at `now` (aware) and the same as JSON bytes."""
        key = profile(self.settings, screen)
        with self._lock:  # fifty screens connecting at once make one build, not fifty
            generation = self.library.generation  # read first: a change during the build misses
            hit = self._cache.get(key)
            if hit and hit[0] == generation and (hit[1] is None or now < hit[1]):
                return hit[2], hit[3]
            current = _compose(self._slides(generation), self.settings, screen, now)
            refs = current["slides"]
            body = _with_list(current, b"slides", [p.ref for p in refs])
            until = current["next_change"]
            until = datetime.fromisoformat(until) if until else None
            self._cache[key] = (generation, until, current, body)
            history = self._history.setdefault(key, {})
            history.pop(current["version"], None)
            history[current["version"]] = refs
            while len(history) > HISTORY:
                del history[next(iter(history))]
            return current, body

    def delta(self, screen: str, since: str, now: datetime) -> bytes | None:
        """The changes from version `since` to the current playlist of `screen`, as JSON
        (`changes`: [start, how many removed, entries added] against the old list, in
        order); None when `since` is too old to know, or the changes are not smaller."""
        current, body = self.get(screen, now)
        key = profile(self.settings, screen)
        with self._lock:
            old = self._history.get(key, {}).get(since)
            if old is None or since == current["version"]:
                return None
            cached = (key, since, current["version"])
            if cached not in self._deltas:
                if len(self._deltas) > 4 * HISTORY:
                    self._deltas.clear()
                self._deltas[cached] = _delta(since, old, current, len(body))
            return self._deltas[cached]

    def slide_body(self, digest: str) -> bytes | None:
        """The JSON of the slide with content hash `digest`, if it is of a revision on screen
        (approved, live); None for anything else, however it was once known."""
        with self._lock:
            self._slides(self.library.generation)
            return self._by_hash.get(digest)

    def _slides(self, generation: int) -> list[Prepared]:
        """Every revision on screen, prepared; only the ones that changed are made again."""
        if generation == self._generation:
            return self._on_screen
        since = self.library.on_screen_since(self._stamp)
        by_id, by_hash = self._prepared, self._by_hash
        if since.changed is None:
            by_id.clear()
            by_hash.clear()
            fresh = since.items
        else:
            for sid in since.changed:
                if (old := by_id.pop(sid, None)) is not None:
                    by_hash.pop(old.hash, None)
            fresh = [rev for rev in since.changed.values() if rev is not None]
        for rev in fresh:
            by_id[rev["id"]] = p = prepare(rev, self.settings)
            by_hash[p.hash] = p.body
        self._on_screen = list(map(by_id.__getitem__, map(itemgetter("id"), since.items)))
        self._stamp, self._generation = since.stamp, generation
        return self._on_screen


def _with_list(playlist: dict, key: bytes, items: list[bytes]) -> bytes:
    """`playlist` as JSON, its slides left out, and `key` set to a list of JSON `items`: the
    entries' JSON is made once per slide, not once per playlist."""
    head = {k: v for k, v in playlist.items() if k != "slides"}
    text = json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode()
    return text[:-1] + b',"' + key + b'":[' + b",".join(items) + b"]}"


def _delta(since: str, old: list[Prepared], current: dict, full: int) -> bytes | None:
    was, now = [p.hash for p in old], [p.hash for p in current["slides"]]
    changes = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, was, now, autojunk=False).get_opcodes():
        if tag != "equal":
            changes.append(
                b"[%d,%d,[" % (i1, i2 - i1)
                + b",".join(p.ref for p in current["slides"][j1:j2])
                + b"]]"
            )
    body = _with_list(current | {"since": since}, b"changes", changes)
    return body if len(body) < full else None


def profile(settings: Settings, screen: str) -> tuple:
    """What makes two screens' playlists differ: their theme and their tags."""
    return (settings.theme_for(screen), settings.screen(screen).tags)


def _compose(prepared: list[Prepared], settings: Settings, screen: str, now: datetime) -> dict:
    now = now.astimezone(UTC)
    zone = settings.zone
    wanted = set(settings.screen(screen).tags)
    soonest: datetime | None = None  # the next time this screen's rotation changes
    pinned: list[Prepared] = []
    fresh: list[Prepared] = []
    others: list[Prepared] = []
    for p in prepared:  # one tight pass: at 10,000 stories every decision runs it
        if wanted and not wanted & p.tags:
            continue
        start, end = p.window
        if start is not None and start > now:  # not yet; its end comes later still
            soonest = start if soonest is None or start < soonest else soonest
            continue
        if end is not None:
            if end <= now:
                continue
            soonest = end if soonest is None or end < soonest else soonest
        if p.rev["pinned"]:
            pinned.append(p)
        elif p.fresh is not None and p.fresh[0] <= now < p.fresh[1]:
            fresh.append(p)
            # the rotation changes when the story stops being fresh
            soonest = p.fresh[1] if soonest is None or p.fresh[1] < soonest else soonest
        else:
            others.append(p)
    windows = settings.quiet_windows
    quiet = is_quiet(windows, now.astimezone(zone))
    edges = [t for t in (soonest, *quiet_edges(windows, now, zone)) if t is not None]
    code = page_code(settings, screen)
    # Slides stay in the playlist during quiet hours, so a screen has them ready (and cached)
    # for the morning even if the server is unreachable by then.
    rotation = _rotation(pinned, fresh, others)
    # Each slide's hash covers everything it shows, so the hashes stand for the slides.
    shown = "\0".join([code, str(quiet), *(p.hash for p in rotation)])
    return {
        "version": hashlib.sha256(shown.encode()).hexdigest()[:20],
        "code": code,
        "theme": settings.theme_for(screen),
        "quiet": quiet,
        "slides": rotation,
        "next_change": iso_utc(min(edges)) if edges else None,
    }


def _rotation(
    pinned: list[Prepared], fresh: list[Prepared], others: list[Prepared]
) -> list[Prepared]:
    """One rotation, each list in moderators' order: the pinned, then the fresh, the first half
    of the others, the fresh again, the rest. Every story shows at least once; a fresh one
    twice, unless a rotation this small would show it twice in a row (where it ends and starts
    over, too)."""
    once = pinned + fresh + others
    if not fresh:
        return once
    # The one fresh story twice in a row: with no others between its two showings, or with
    # at most one other and nothing pinned, where the rotation ends and starts over.
    if len(fresh) == 1 and (not others or (not pinned and len(others) == 1)):
        return once
    half = (len(others) + 1) // 2
    return pinned + fresh + others[:half] + fresh + others[half:]
