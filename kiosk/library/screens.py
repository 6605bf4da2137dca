"""Screens: the last heartbeat of each display, and what it showed.

Anybody on the LAN can send a heartbeat, so only screens someone vouches for (a [screens.NAME]
table, or a moderator on the Screens tab) are kept for good; invented names are few and short-lived.
"""

from __future__ import annotations

from typing import Any

from .db import Database, NotFound

UNKNOWN_SCREENS = 50  # names nobody has accepted, at once: a flood of invented ones stops here
UNKNOWN_EXPIRE = 15 * 60.0  # seconds: an unaccepted screen this long silent is forgotten


class Screens(Database):
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
                (name, self.now(), slide, version, address, int(accepted)),
            )
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
        """Every screen that has sent a heartbeat and is still kept, by name."""
        return [
            dict(r) | {"accepted": bool(r["accepted"])}
            for r in self._rows("SELECT * FROM screens ORDER BY name")
        ]
