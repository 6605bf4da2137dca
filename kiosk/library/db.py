"""The SQLite file under every part of the library: one connection in WAL mode guarded by a lock
(it is called from the event loop and from the ingest thread pool), schema migrations keyed by
`PRAGMA user_version`, transactions, the clock, and change notification.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import KioskError
from ..schedule import iso_utc, utcnow
from .kept import Kept

# Migration N (counting from 1) brings a file from user_version N-1 to N. Each is a list of
# statements run one by one in a transaction, never a script split on ";": a trigger body holds
# semicolons of its own.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE submissions (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            latest_revision INTEGER,
            current_revision INTEGER,
            fingerprint TEXT NOT NULL DEFAULT '',
            owner TEXT NOT NULL DEFAULT '',
            pinned INTEGER NOT NULL DEFAULT 0,
            position REAL NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            retired_at TEXT,
            retired_reason TEXT
        )""",
        """CREATE TABLE revisions (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            hash TEXT NOT NULL,
            status TEXT NOT NULL,
            fields TEXT NOT NULL,
            body TEXT NOT NULL DEFAULT '',
            html TEXT NOT NULL DEFAULT '',
            problems TEXT NOT NULL DEFAULT '[]',
            text_path TEXT,
            photo_path TEXT,
            photo_hash TEXT,
            image TEXT,
            thumbnail TEXT,
            width INTEGER,
            height INTEGER,
            focal_x REAL NOT NULL DEFAULT 0.5,
            focal_y REAL NOT NULL DEFAULT 0.3,
            created_at TEXT NOT NULL,
            decided_by TEXT,
            decided_at TEXT,
            reason TEXT
        )""",
        "CREATE INDEX revisions_submission ON revisions(submission_id)",
        "CREATE INDEX revisions_hash ON revisions(hash)",
        "CREATE INDEX revisions_image ON revisions(image)",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            submission_id INTEGER,
            revision_id INTEGER,
            detail TEXT NOT NULL DEFAULT '{}'
        )""",
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE tokens (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL DEFAULT 'moderator',
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        )""",
        """CREATE TABLE screens (
            name TEXT PRIMARY KEY,
            last_seen TEXT NOT NULL,
            slide TEXT,
            version TEXT,
            address TEXT
        )""",
    ),
    # Screens a [screens.NAME] table or a moderator vouches for; others are capped and expire.
    ("ALTER TABLE screens ADD COLUMN accepted INTEGER NOT NULL DEFAULT 0",),
    # The address a name was heard from before the last one, and when: two screens given the
    # same name take turns, and the admin page says so.
    (
        "ALTER TABLE screens ADD COLUMN other_address TEXT",
        "ALTER TABLE screens ADD COLUMN other_seen TEXT",
    ),
    # Sign-in sessions, so signing out (and a password change) outlives a restart. `id` is the
    # SHA-256 of the cookie: the file never holds a usable cookie. Times are Unix seconds.
    (
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            user TEXT NOT NULL,
            csrf_token TEXT NOT NULL,
            created_at REAL NOT NULL,
            last_seen REAL NOT NULL,
            ended_at REAL
        )""",
        "CREATE INDEX sessions_user ON sessions(user)",
    ),
    # The admin lists page by keyset on the moderators' orders, which an index must hold:
    # `submitted_at` (when the newest revision arrived) moves from the revision onto the
    # submission. First approvals are looked up per submission, not aggregated over the log.
    (
        "ALTER TABLE submissions ADD COLUMN submitted_at TEXT NOT NULL DEFAULT ''",
        "UPDATE submissions SET submitted_at = COALESCE((SELECT r.created_at FROM revisions r"
        " WHERE r.id = submissions.latest_revision), created_at)",
        "CREATE INDEX submissions_queue ON submissions(status, submitted_at, id)",
        "CREATE INDEX submissions_arrival ON submissions(submitted_at, id)",
        "CREATE INDEX submissions_playing ON submissions(pinned, position, id)"
        " WHERE current_revision IS NOT NULL AND retired_at IS NULL",
        "CREATE INDEX audit_submission ON audit(submission_id, action, at)",
        # A new story goes last: MAX(position) was a scan per story, quadratic in a big drop.
        "CREATE INDEX submissions_position ON submissions(position)",
    ),
    # Proof of play (library/plays.py): per story, screen and day (YYYY-MM-DD, local), how
    # often its first page came on and its seconds on the wall. No foreign key: the counts of
    # a withdrawn story stay, like its audit entries, and name no one.
    (
        """CREATE TABLE plays (
            submission_id INTEGER NOT NULL,
            screen TEXT NOT NULL,
            day TEXT NOT NULL,
            plays INTEGER NOT NULL DEFAULT 0,
            seconds REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (submission_id, screen, day)
        ) WITHOUT ROWID""",
    ),
]


class NotFound(KioskError, LookupError):
    """No such submission (or user, token)."""

    status = 404


class Conflict(KioskError, RuntimeError):
    """The request is about a revision that is no longer the newest."""

    status = 409


class Refused(KioskError, ValueError):
    """The action is not allowed for this content; the message says why."""

    status = 422


class Database:
    """The connection and its plumbing; the aggregates of the package add their SQL on top."""

    def __init__(self, path: Path, clock: Callable[[], datetime] = utcnow) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.RLock()
        self._writing = threading.local()  # set on the thread inside _tx: it reads its own writes
        self._listeners: list[Callable[[], None]] = []
        self._caches: list[Kept] = []  # told which submissions each change touched
        self.generation = 0  # moves on every change a screen might show; caches key on it
        # Names this process's count: generation 3 of one run is not generation 3 of the next.
        self.epoch = secrets.token_hex(4)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Owner-only from the first byte; SQLite gives the -wal and -shm files the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()
        # Reads outside a transaction go to a connection of their own: a writer waiting for the
        # write lock (another process holds it, up to busy_timeout) must not stop /healthz, the
        # admin page or the playlist, which WAL lets read the last commit meanwhile.
        self._reader = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._reader.row_factory = sqlite3.Row
        self._reader.execute("PRAGMA query_only=ON")
        self._read_lock = threading.Lock()
        # Moves when another process commits to the file (never for this one's own commits).
        self._data_version = self._db.execute("PRAGMA data_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._tx() as db:
                for statement in statements:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so two writers never both read and then fail
        # to upgrade; the RLock keeps threads from interleaving statements on the one connection.
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._writing.active = True
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            finally:
                self._writing.active = False
            self._db.execute("COMMIT")

    def _rows(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        if getattr(self._writing, "active", False):
            return self._db.execute(sql, args).fetchall()
        with self._read_lock:
            return self._reader.execute(sql, args).fetchall()

    def _row(self, sql: str, *args: Any) -> sqlite3.Row | None:
        rows = self._rows(sql, *args)
        return rows[0] if rows else None

    def now(self, ago: float = 0.0) -> str:
        """The clock as the library stores instants (UTC, milliseconds, `Z`), `ago` seconds back."""
        return iso_utc(self.clock() - timedelta(seconds=ago), "milliseconds")

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` (from any thread) after anything a screen might show has changed."""
        self._listeners.append(listener)

    def _look_for_others(self) -> None:
        """If another process wrote to the file since the last look (a second server on the
        same data folder, a bench seeding it), the kept lists are read whole again. While this
        process is writing the look is left for the next read: it must not wait on a write."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
        finally:
            self._lock.release()
        if version != self._data_version:
            self._data_version = version
            for cache in self._caches:
                cache.touch(())

    def _changed(self, *submissions: int) -> None:
        """After a commit that changed `submissions` (all of them when none are named)."""
        for cache in self._caches:
            cache.touch(submissions)
        self.generation += 1
        for listener in self._listeners:
            listener()

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._db.close()
            self._reader.close()

    def healthy(self) -> bool:
        try:
            self._row("SELECT 1")
            return True
        except sqlite3.Error:
            return False
