"""Screens: the last heartbeat of each display, and what it showed.

Anybody on the LAN can send a heartbeat, so only screens someone vouches for (a [screens.NAME]
table, or a moderator on the Screens tab) are kept for good; invented names are few and short-lived.

Every screen beats every 30 s. A commit per beat wore a Pi's SD card (180 MB a day for ten idle
screens), so beats live in memory and reach SQLite only when a moderator would see a difference
after a restart: a new screen, a new address, one that comes back after going silent, and
otherwise all together in one commit every FLUSH_SECONDS. Readers see the memory, so the admin
page misses nothing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from ..schedule import SILENT_SECONDS
from .db import Database, NotFound

UNKNOWN_SCREENS = 50  # names nobody has accepted, at once: a flood of invented ones stops here
UNKNOWN_EXPIRE = 15 * 60.0  # seconds: an unaccepted screen this long silent is forgotten
FLUSH_SECONDS = 15 * 60.0  # beats of screens that keep beating: one commit for all this often


class Screens(Database):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._beats: dict[str, dict[str, Any]] = {}  # name -> the last beat, newer than the DB
        self._unwritten: set[str] = set()  # names whose last beat is only in memory
        self._flushed = self.now()  # when those were last written, all in one commit
        self._beats_lock = threading.Lock()

    def heartbeat(
        self,
        name: str,
        slide: str | None,
        version: str | None,
        address: str,
        *,
        accepted: bool = False,
    ) -> bool:
        """A screen says it is alive and what it shows; False when an unknown one is refused.

        `accepted`: the name is configured, so the screen is accepted from its first heartbeat.
        """
        now = self.now()
        beat = {"last_seen": now, "slide": slide, "version": version, "address": address}
        with self._beats_lock:
            last = self._beats.get(name)
            quiet = (
                last is not None
                and last["address"] == address
                and last["last_seen"] >= self.now(ago=SILENT_SECONDS)
            )
            if quiet:
                self._beats[name] = beat
                self._unwritten.add(name)
                due = self._flushed < self.now(ago=FLUSH_SECONDS)
        if quiet:
            if due:
                self._flush()
            return True
        with self._tx() as db:
            if not accepted and not self._room_for(db, name):
                return False
            db.execute(
                "INSERT INTO screens (name, last_seen, slide, version, address, accepted)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET"
                " last_seen=excluded.last_seen, slide=excluded.slide,"
                " version=excluded.version, address=excluded.address,"
                " accepted=max(accepted, excluded.accepted),"
                # SET reads the row as it was: a new address keeps the previous one, and when
                " other_seen=CASE WHEN address IS excluded.address THEN other_seen"
                " ELSE last_seen END,"
                " other_address=CASE WHEN address IS excluded.address THEN other_address"
                " ELSE address END",
                (name, now, slide, version, address, int(accepted)),
            )
        with self._beats_lock:
            self._beats[name] = beat
            self._unwritten.discard(name)
        return True

    def _room_for(self, db: Any, name: str) -> bool:
        """Whether an unaccepted `name` may be kept: it is, or there is room for it."""
        if db.execute("SELECT 1 FROM screens WHERE name = ?", (name,)).fetchone():
            return True
        cutoff = self.now(ago=UNKNOWN_EXPIRE)
        db.execute("DELETE FROM screens WHERE accepted = 0 AND last_seen < ?", (cutoff,))
        count = db.execute("SELECT COUNT(*) FROM screens WHERE accepted = 0").fetchone()[0]
        return count < UNKNOWN_SCREENS

    def accept_screen(self, name: str) -> None:
        """A moderator vouches for a screen that has sent heartbeats: it is kept for good."""
        with self._tx() as db:
            if not db.execute("UPDATE screens SET accepted = 1 WHERE name = ?", (name,)).rowcount:
                raise NotFound(f"no screen {name} has sent a heartbeat")

    def screens(self) -> list[dict[str, Any]]:
        """Every screen that has sent a heartbeat and is still kept, by name, as last heard."""
        with self._beats_lock:
            beats = dict(self._beats)
        return [
            dict(r) | beats.get(r["name"], {}) | {"accepted": bool(r["accepted"])}
            for r in self._rows("SELECT * FROM screens ORDER BY name")
        ]

    def _flush(self) -> None:
        """Write everything only in memory (beats, and what subclasses keep), in one commit."""
        writes = self._take_unwritten()
        if writes:
            with self._tx() as db:
                for write in writes:
                    write(db)

    def _take_unwritten(self) -> list[Callable[[sqlite3.Connection], object]]:
        """What memory holds that the file does not, as writes for one transaction; memory
        then counts as written. A subclass adds its own to the list."""
        with self._beats_lock:
            pending = [
                (b["last_seen"], b["slide"], b["version"], n)
                for n, b in self._beats.items()
                if n in self._unwritten
            ]
            self._unwritten.clear()
            self._flushed = self.now()
        if not pending:
            return []
        sql = "UPDATE screens SET last_seen = ?, slide = ?, version = ? WHERE name = ?"
        return [lambda db: db.executemany(sql, pending)]

    def close(self) -> None:
        """Write what memory holds, so a restart shows when each screen was last heard."""
        self._flush()
        super().close()
