"""Consent that ends: the notice thirty days before, and the keeper that takes a story off the
screens when its consent runs out.

The screens do not wait for the keeper: the playlist treats the end of consent as an end date
(kiosk.playlist), so a story leaves every screen at that moment even if this thread is late. The
keeper records it: the submission is retired ("consent ended") with an audit entry, which the
admin page and `_status.txt` then show. How long consent lasts is `schedule.ConsentTerms`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from .library import Library
from .library.kept import Ordered
from .model import Status
from .schedule import CONSENT_NOTICE_DAYS, ConsentTerms, consent_words
from .settings import Settings
from .worker import Worker

log = logging.getLogger(__name__)

IDLE_SECONDS = 3600.0  # with no end in sight, look again this often (settings do not change)


def shown_revision(sub: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The revision of a submission that is on the screens, None when none is."""
    if sub["status"] == Status.RETIRED or not sub.get("on_screen"):
        return None
    return sub["on_screen"]


def consent_ends(sub: Mapping[str, Any], terms: ConsentTerms) -> str | None:
    """The last day (or time) of consent for the revision on screen, else the newest one."""
    return terms.last(shown_revision(sub) or sub, sub.get("first_approved"))


def consent_end(sub: Mapping[str, Any], terms: ConsentTerms) -> datetime | None:
    """When consent ends for the revision on screen (None: it does not, or none is on screen)."""
    rev = shown_revision(sub)
    return None if rev is None else terms.end(rev, sub.get("first_approved"))


def notice_due(end: datetime | None, now: datetime) -> bool:
    """Whether consent ending at `end` is in its last thirty days at `now`."""
    return end is not None and now < end <= now + timedelta(CONSENT_NOTICE_DAYS)


def consent_notice(sub: Mapping[str, Any], terms: ConsentTerms, now: datetime) -> str | None:
    """What to tell the writer and the moderators in the last thirty days of consent for a
    story on the screens; None at any other time."""
    rev = shown_revision(sub)
    if rev is None or not notice_due(consent_end(sub, terms), now):
        return None
    last = terms.last(rev, sub.get("first_approved"))
    if last is None:
        return None
    name = rev.get("name") or sub["source"]
    return (
        consent_words(name, last)
        + ": ask again and update consent_until, or the story leaves the screens then"
    )


class ConsentKeeper(Worker):
    """Retires each story on the screens when its consent ends, waking at the next end."""

    name = "kiosk-consent"

    def __init__(self, settings: Settings, library: Library) -> None:
        super().__init__(library)
        self.terms = settings.consent_terms
        self._stamp = -1  # of the library's list of stories on screen, as of the last sweep
        # (when consent ends, id, revision) of each story on screen whose consent ends, soonest
        # first: the library says which stories changed, so a sweep after one decision works
        # out one end, not 10,000.
        self._ends = Ordered(lambda e: e[:2], ident=itemgetter(1))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                wait = self.sweep()
            except Exception:  # a locked database must not end the keeping for good
                log.exception("could not check when consent ends")
                wait = IDLE_SECONDS / 60
            self._wake.wait(wait)

    def sweep(self) -> float:
        """End consent that has run out; the seconds until the next end (or IDLE_SECONDS)."""
        since = self.library.on_screen_since(self._stamp)
        if since.changed is None:
            self._ends.replace([e for rev in since.items if (e := self._end(rev))])
        else:
            for sid, rev in since.changed.items():
                self._ends.put(sid, rev and self._end(rev))
        self._stamp = since.stamp
        now = self.library.clock()
        for end, _, rev in self._ends.items():
            if end > now:
                return (end - now).total_seconds() + 0.05  # a hair late: it has passed then
            last = self.terms.last(rev, rev["first_approved"])
            if self.library.end_consent(rev["id"], rev["revision"], last or ""):
                log.info("%s: %s", rev["name"], consent_words(rev["name"], last or "", ended=True))
        return IDLE_SECONDS

    def _end(self, rev: Mapping[str, Any]) -> tuple[datetime, int, Mapping[str, Any]] | None:
        end = self.terms.end(rev, rev["first_approved"])
        return None if end is None else (end, rev["id"], rev)
