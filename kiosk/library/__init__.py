"""All SQL: submissions, revisions (with their decisions), audit log, users, tokens, screens,
plays.

One SQLite file (`db.Database`: WAL, one locked connection, migrations by `PRAGMA user_version`).
Each module adds the SQL of one aggregate as a class over `Database`, and `Library` is all of
them: one object to pass around, one connection, one lock, one change notification. Classes
over one base rather than a facade over per-aggregate objects, because those would share all
that state anyway and the facade would only repeat some thirty signatures to forward them.
"""

from __future__ import annotations

from .accounts import Accounts
from .db import Conflict, NotFound, Refused
from .plays import Plays
from .submissions import Recorded, RetiredReason, Submissions

__all__ = [
    "Conflict",
    "Library",
    "NotFound",
    "Recorded",
    "Refused",
    "RetiredReason",
]


class Library(Submissions, Accounts, Plays):
    """The library the app, the watcher, the CLI and the tests share."""
