"""Screens: the last heartbeat of each display, and what it showed."""

from __future__ import annotations

from typing import Any

from .db import Database


class Screens(Database):
    def heartbeat(self, name: str, slide: str | None, version: str | None, address: str) -> None:
        """A screen says it is alive and what it shows."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO screens (name, last_seen, slide, version, address)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET"
                " last_seen=excluded.last_seen, slide=excluded.slide,"
                " version=excluded.version, address=excluded.address",
                (name, self.now(), slide, version, address),
            )

    def screens(self) -> list[dict[str, Any]]:
        """Every screen that has ever sent a heartbeat, by name."""
        return [dict(r) for r in self._rows("SELECT * FROM screens ORDER BY name")]
