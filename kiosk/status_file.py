"""`_status.txt` at the top of the content folder: what happened to each file, for the people who
drop them on the share and never see the admin page.

Rewritten on a worker thread a moment after the library changes (a burst of decisions becomes one
write), only when its text would change, and atomically (kiosk.atomic), so a reader never
sees half a file. The watcher ignores it like every `_` name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from .atomic import write_atomically
from .consent import consent_end, consent_notice, notice_due
from .library import Library, RetiredReason
from .library.kept import Ordered, Since
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
    groups = _grouped([(s, i) for i, s in enumerate(submissions)])
    return _text({st: sorted(g) for st, g in groups.items()}, "", zone, now, plays or {})


# A file as the file lists it: (its name in lower case, an id, its lines, the submission).
Listed = tuple[str, int, str, Mapping[str, Any]]


def _listed(sub: Mapping[str, Any], sid: int) -> Listed:
    return (sub["source"].lower(), sid, "".join(_entry(sub)), sub)


def _grouped(subs: Iterable[tuple[Mapping[str, Any], int]]) -> dict[Status, list[Listed]]:
    """The (submission, id) pairs worth listing, as the file lists them, by state."""
    groups: dict[Status, list[Listed]] = {status: [] for status, _, _ in SECTIONS}
    for sub, sid in subs:
        if _worth_listing(sub):
            groups[sub["status"]].append(_listed(sub, sid))
    return groups


def _text(
    groups: Mapping[Status, Sequence[Listed]],
    notices: str,
    zone: ZoneInfo,
    now: datetime,
    plays: Mapping[int, Mapping[str, Any]],
) -> str:
    """The header, the consent `notices`, then each state's files in `groups` (in order)."""
    lines = [HEADER, f"Updated {now.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})\n", notices]
    this_year = now.astimezone(zone).year
    for status, heading, advice in SECTIONS:
        group = groups.get(status)
        if not group:
            continue
        lines.append(f"\n{heading}" + (f" ({advice})" if advice else "") + "\n")
        if status != Status.APPROVED or not plays:
            lines.extend(map(itemgetter(2), group))
            continue
        for _, _, text, sub in group:
            lines.append(text)
            if stats := plays.get(sub["id"]):
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

    It keeps each state's files in the file's order from one write to the next, with each
    file's text: the library says which submissions changed since the last write, so a write
    after one decision among 10,000 works out that one entry and moves it, not 10,000."""

    name = "kiosk-status-file"

    def __init__(self, settings: Settings, library: Library, debounce: float = 0.3) -> None:
        super().__init__(library)
        self.settings = settings
        self.path = settings.content_dir / NAME
        self.debounce = debounce
        self._last = ""
        self._stamp = -1  # of the library's list of submissions, as of the last write
        self._status: dict[int, Status] = {}  # submission id -> its state, as listed
        self._groups = {status: Ordered(itemgetter(0, 1), itemgetter(1)) for status, *_ in SECTIONS}
        # (when consent ends, id, submission), soonest first
        self._ending = Ordered(lambda e: e[:2], ident=itemgetter(1))

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
        self._catch_up(self.library.submissions_since(self._stamp))
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
        text = _text(groups, notices, zone, now, plays)
        body = text.split("\n", 3)[-1]  # everything below the "Updated" line
        if body == self._last and self.path.exists():
            return False
        write_atomically(self.path, text.replace("\n", "\r\n"))  # Notepad-friendly
        self._last = body
        return True

    def _catch_up(self, since: Since) -> None:
        """Take in the submissions that changed since the last write (all, the first time)."""
        if since.changed is None:
            terms = self.settings.consent_terms
            subs = since.items
            self._status = {s["id"]: s["status"] for s in subs}
            for status, listed in _grouped((s, s["id"]) for s in subs).items():
                self._groups[status].replace(listed)
            ends = ((consent_end(s, terms), s["id"], s) for s in subs)
            self._ending.replace([e for e in ends if e[0] is not None])
        else:
            for sid, sub in since.changed.items():
                self._forget(sid)
                if sub is not None:
                    self._learn(sub)
        self._stamp = since.stamp

    def _learn(self, sub: Submission) -> None:
        sid = sub["id"]
        self._status[sid] = sub["status"]
        if _worth_listing(sub):
            self._groups[sub["status"]].put(sid, _listed(sub, sid))
        if (end := consent_end(sub, self.settings.consent_terms)) is not None:
            self._ending.put(sid, (end, sid, sub))

    def _forget(self, sid: int) -> None:
        if (status := self._status.pop(sid, None)) is not None:
            self._groups[status].put(sid, None)
            self._ending.put(sid, None)
