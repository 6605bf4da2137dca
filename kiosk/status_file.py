"""`_status.txt` at the top of the content folder: what happened to each file, for the people who
drop them on the share and never see the admin page.

Rewritten on a worker thread a moment after the library changes (a burst of decisions becomes one
write), only when its text would change, and atomically (kiosk.atomic), so a reader never
sees half a file. The watcher ignores it like every `_` name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .atomic import write_atomically
from .consent import consent_end, consent_notice, notice_due
from .library import Library, RetiredReason
from .library.db import Kept
from .library.plays import plays_since
from .model import Status, Submission
from .printable import printable
from .schedule import CONSENT_NOTICE_DAYS, ConsentTerms
from .settings import Settings
from .worker import Worker

log = logging.getLogger(__name__)

NAME = "_status.txt"
RECHECK_SECONDS = 3600.0  # also how often play counts move on in the file: not every beat
# English month names, whatever the server's locale (the file's other words are English too)
MONTHS = (
    "January February March April May June July August September October November December"
).split()
HEADER = (
    "What happened to each story in this folder. Hallway Kiosk rewrites this file by itself;\n"
    "changes to it are lost. Fix a story by editing its own file: it is read again on save.\n"
)
# (status, heading, what the person who dropped the file should know), in the order shown
SECTIONS = (
    (Status.PROBLEM, "CANNOT BE SHOWN: fix the file and save it again", ""),
    (Status.REJECTED, "NOT SHOWN: a moderator said no", "change the file and save it to ask again"),
    (Status.PENDING, "WAITING FOR A MODERATOR", ""),
    (Status.APPROVED, "ON THE SCREENS", ""),
    (Status.RETIRED, "TAKEN OFF THE SCREENS", ""),
)


def render(
    submissions: Sequence[Mapping[str, Any]],
    zone: ZoneInfo,
    now: datetime,
    plays: Mapping[int, Mapping[str, Any]] | None = None,
) -> str:
    """The file's text, made from scratch: a header, then one line (or a few) per file,
    grouped by state. `plays`: each story's `Library.play_stats`, to tell the writer how often
    it was shown. (StatusFile keeps the groups from one write to the next instead.)"""
    groups = {
        status: sorted(
            (s for s in submissions if s["status"] == status and _worth_listing(s)),
            key=lambda s: s["source"].lower(),
        )
        for status, _, _ in SECTIONS
    }
    return _text(groups, "", zone, now, plays or {}, _entry)


def _text(
    groups: Mapping[Status, Sequence[Mapping[str, Any]]],
    notices: str,
    zone: ZoneInfo,
    now: datetime,
    plays: Mapping[int, Mapping[str, Any]],
    entry: Callable[[Mapping[str, Any]], list[str]],
) -> str:
    """The header, the consent `notices`, then each state's files in `groups` (in order),
    each as the lines `entry` makes for it."""
    lines = [HEADER, f"Updated {now.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})\n", notices]
    this_year = now.astimezone(zone).year
    for status, heading, advice in SECTIONS:
        group = groups.get(status)
        if not group:
            continue
        lines.append(f"\n{heading}" + (f" ({advice})" if advice else "") + "\n")
        for sub in group:
            lines.extend(entry(sub))
            if status == Status.APPROVED and plays and (stats := plays.get(sub["id"])):
                lines.extend(_shown(sub, stats, this_year))
    if len(lines) == 3:
        lines.append(
            "\nNo stories yet. Copy _TEMPLATE.md, fill it in and put a photo next to it.\n"
        )
    return "".join(lines)


def _worth_listing(sub: Mapping[str, Any]) -> bool:
    # A deleted file is gone from the folder, so there is nobody to tell.
    return not (
        sub["status"] == Status.RETIRED
        and sub.get("retired_reason") == RetiredReason.SOURCE_DELETED
    )


def notes(sub: Mapping[str, Any]) -> list[str]:
    """What the person who sent the story should know beyond its state: the problems, the
    moderator's reason, why it left the screens. The same words here and on /submit's page."""
    status = sub["status"]
    if status == Status.PROBLEM:
        return [str(p) for p in sub.get("problems") or ()]
    if status == Status.REJECTED:
        return [(sub.get("decision") or {}).get("reason") or "no reason given"]
    if status == Status.PENDING and sub.get("on_screen"):
        return ["a changed version; the earlier one stays on the screens"]
    if status == Status.RETIRED and sub.get("retired_reason"):
        return [str(sub["retired_reason"])]
    return []


def _entry(sub: Mapping[str, Any]) -> list[str]:
    # Every value comes from a story file or its name: one line each, so none can forge another.
    source, name = printable(sub["source"]), printable(sub.get("name") or "")
    head = f"  {source}" + (f"  ({name})" if name else "")
    return [head + "\n", *(f"      - {printable(n, 500)}\n" for n in notes(sub))]


def _shown(sub: Mapping[str, Any], stats: Mapping[str, Any], this_year: int) -> list[str]:
    """ "Your story about … has been on the screens 412 times on 3 screens since 3 May"."""
    total, first = stats["total"], stats.get("first_day")
    if not total["plays"] or not first:
        return []
    day = date.fromisoformat(first)  # already the screens' local day
    since = f"{day.day} {MONTHS[day.month - 1]}" + (f" {day.year}" if day.year != this_year else "")
    name = printable(sub.get("name") or sub["source"])
    return [
        f"      - Your story about {name} has been on the screens"
        f" {_count(total['plays'], 'time')} on {_count(total['screens'], 'screen')}"
        f" since {since}\n"
    ]


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def consent_section(due: Iterable[Mapping[str, Any]], terms: ConsentTerms, now: datetime) -> str:
    """The stories whose consent ends within thirty days (`due`), first in the file: the
    writer has to ask the customer again before then."""
    notices = [(s["source"], consent_notice(s, terms, now)) for s in due]
    lines = [
        f"  {source}\n      - {notice}\n"
        for source, notice in sorted(notices, key=lambda n: n[0])
        if notice
    ]
    return "".join(["\nCONSENT ENDS SOON\n", *lines]) if lines else ""


class StatusFile(Worker):
    """Keeps `_status.txt` in step with the library while the server runs.

    It keeps each state's files in the file's order from one write to the next, and each
    file's lines: the library hands back the same dict while a submission is unchanged, so a
    write after one decision among 10,000 works out one entry and moves it, not 10,000."""

    name = "kiosk-status-file"

    def __init__(self, settings: Settings, library: Library, debounce: float = 0.3) -> None:
        super().__init__(library)
        self.settings = settings
        self.path = settings.content_dir / NAME
        self.debounce = debounce
        self._last = ""
        self._seen: dict[int, Mapping[str, Any]] = {}  # submission id -> the dict last seen
        self._lines: dict[int, list[str]] = {}
        self._groups = {status: Kept(_file_order) for status, _, _ in SECTIONS}
        self._ending = Kept(lambda e: e[:2])  # (consent end, id, submission), soonest first

    def start(self) -> None:
        if not self.settings.status_file:
            return
        self._wake.set()  # the first write shows what the library held at start
        super().start()

    def _run(self) -> None:
        while True:
            self._wake.wait(RECHECK_SECONDS)  # time alone brings consent notices
            if self._stop.wait(self.debounce):
                return
            self._wake.clear()
            try:
                self.write()
            except Exception:  # a full or read-only share must not stop the next attempt
                log.exception("could not write %s", self.path)

    def write(self) -> bool:
        """Write the file if its text changed (apart from the time); True when written."""
        if not self.path.parent.is_dir():  # an unmounted share: the watcher reports that
            return False
        self._catch_up(self.library.submissions())
        now = self.library.clock()
        zone = self.settings.zone
        plays = self.library.play_stats(*plays_since(now, zone))
        horizon = now + timedelta(CONSENT_NOTICE_DAYS)
        due = []
        for end, _, sub in self._ending.items():
            if end > horizon:
                break
            if notice_due(end, now):
                due.append(sub)
        notices = consent_section(due, self.settings.consent_terms, now)
        groups = {status: kept.items() for status, kept in self._groups.items()}
        text = _text(groups, notices, zone, now, plays, lambda sub: self._lines[sub["id"]])
        body = text.split("\n", 3)[-1]  # everything below the "Updated" line
        if body == self._last and self.path.exists():
            return False
        write_atomically(self.path, text.replace("\n", "\r\n"))  # Notepad-friendly
        self._last = body
        return True

    def _catch_up(self, submissions: list[Submission]) -> None:
        """Move the submissions that changed since the last write (and drop those gone)."""
        seen = self._seen
        for sub in [s for s in submissions if seen.get(s["id"]) is not s]:
            self._forget(sub["id"])
            self._learn(sub)
        if len(seen) > len(submissions):
            now = {s["id"] for s in submissions}
            for sid in [sid for sid in seen if sid not in now]:
                self._forget(sid)

    def _learn(self, sub: Submission) -> None:
        sid = sub["id"]
        self._seen[sid] = sub
        self._lines[sid] = _entry(sub)
        if _worth_listing(sub):
            self._groups[sub["status"]].put(sid, sub)
        if (end := consent_end(sub, self.settings.consent_terms)) is not None:
            self._ending.put(sid, (end, sid, sub))

    def _forget(self, sid: int) -> None:
        old = self._seen.pop(sid, None)
        if old is not None:
            self._groups[old["status"]].put(sid, None)
            self._ending.put(sid, None)
            del self._lines[sid]


def _file_order(sub: Mapping[str, Any]) -> tuple[str, int]:
    return (sub["source"].lower(), sub["id"])
