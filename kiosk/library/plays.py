"""Proof of play: how often each story was on each screen, and for how long, per day.

Screens report what they showed with their heartbeats. Like the beats themselves (screens.py),
the counts are added up in memory and reach SQLite only with the screens' batched flush, in the
same commit, and when the server stops: ten screens reporting every 30 s must not be a commit
each on a Pi's SD card. Readers add memory to what the file holds, so nothing is missing.

Counts only: a story, a screen name, a day, a number of plays and of seconds. Nothing about
who stood in front of the screen.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .screens import Screens

Key = tuple[int, str, str]  # (story id, screen, day as YYYY-MM-DD in the configured zone)


def plays_since(now: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """The first days of this week (Monday) and of this month where the screens are: the
    `week` and `month` of `Plays.play_stats`."""
    today = now.astimezone(zone).date()
    return (today - timedelta(days=today.weekday())).isoformat(), today.replace(day=1).isoformat()


@dataclass(frozen=True)
class Shown:
    """One slide, or one page of a long story, that was on a screen until it was replaced."""

    story: int
    page: int
    seconds: float


@dataclass
class Tally:
    plays: int = 0
    seconds: float = 0.0


@dataclass
class Period:
    """A story's plays, the screens it was on and its time on them, over some days."""

    plays: int = 0
    seconds: float = 0.0
    screens: set[str] = field(default_factory=set)

    def add(self, screen: str, tally: Tally) -> None:
        self.plays += tally.plays
        self.seconds += tally.seconds
        self.screens.add(screen)

    def out(self) -> dict[str, Any]:
        return {
            "plays": self.plays,
            "screens": len(self.screens),
            "hours": round(self.seconds / 3600, 4),
        }


class Plays(Screens):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plays: dict[Key, Tally] = {}  # counted since the last flush, not yet in the file
        self.plays_generation = 0  # grows with every count: part of the admin lists' ETag

    def record_plays(self, screen: str, day: str, shown: Iterable[Shown]) -> None:
        """Add what `screen` showed to the counts of `day`, in memory.

        A play is a story's first page coming on; every page's seconds count as time on the
        wall. The caller has checked that each story was in the screen's playlist.
        """
        with self._beats_lock:
            for s in shown:
                if s.page and not s.seconds:
                    continue  # nothing to add, and no reason to name the screen
                tally = self._plays.setdefault((s.story, screen, day), Tally())
                tally.plays += s.page == 0
                tally.seconds += s.seconds
                self.plays_generation += 1

    def screen_accepted(self, name: str) -> bool:
        """Whether a moderator (or the settings) vouched for the screen `name`."""
        row = self._row("SELECT accepted FROM screens WHERE name = ?", name)
        return bool(row and row["accepted"])

    def play_counts(self, ids: Collection[int] | None = None) -> dict[Key, Tally]:
        """Every (story, screen, day) with its plays and seconds, of the stories `ids` (or of
        all): the file plus memory."""
        sql = "SELECT submission_id, screen, day, plays, seconds FROM plays"
        if ids is not None:
            ids = set(ids)
            sql += " WHERE submission_id IN (SELECT value FROM json_each(?))"
        rows = self._rows(sql, *([json.dumps(sorted(ids))] if ids is not None else []))
        counts = {(r[0], r[1], r[2]): Tally(r[3], r[4]) for r in rows}
        with self._beats_lock:
            for key, tally in self._plays.items():
                if ids is not None and key[0] not in ids:
                    continue
                total = counts.setdefault(key, Tally())
                total.plays += tally.plays
                total.seconds += tally.seconds
        return counts

    def play_stats(
        self, week: str, month: str, ids: Collection[int] | None = None
    ) -> dict[int, dict[str, Any]]:
        """Per story (of `ids`, or all): `week`, `month` (from those days on) and `total` plays,
        screens and hours, and the `first_day` it was counted. One query, however many."""
        periods: dict[int, dict[str, Period]] = {}
        first: dict[int, str] = {}
        for (story, screen, day), tally in self.play_counts(ids).items():
            mine = periods.setdefault(story, {p: Period() for p in ("week", "month", "total")})
            mine["total"].add(screen, tally)
            if day >= month:
                mine["month"].add(screen, tally)
            if day >= week:
                mine["week"].add(screen, tally)
            if tally.plays and (story not in first or day < first[story]):
                first[story] = day
        return {
            story: {name: p.out() for name, p in mine.items()} | {"first_day": first.get(story)}
            for story, mine in periods.items()
        }

    def _take_unwritten(self) -> list[Callable[[sqlite3.Connection], object]]:
        writes = super()._take_unwritten()
        with self._beats_lock:
            pending = [(*key, t.plays, t.seconds) for key, t in self._plays.items()]
            self._plays = {}
        if pending:
            writes.append(
                lambda db: db.executemany(
                    "INSERT INTO plays (submission_id, screen, day, plays, seconds)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
                    " plays = plays + excluded.plays, seconds = seconds + excluded.seconds",
                    pending,
                )
            )
        return writes
