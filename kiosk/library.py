"""All SQL: submissions, revisions (with their decisions), audit log, users, tokens, screens.

One SQLite file in WAL mode, one connection guarded by a lock (called from the event loop and
from the ingest thread pool). Schema changes are migrations keyed by `PRAGMA user_version`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATUSES = ("pending", "approved", "rejected", "problem", "retired")
STORY_FIELDS = (
    "name",
    "role",
    "organization",
    "location",
    "quote",
    "photo_alt",
    "start",
    "end",
    "tags",
    "consent",
    "needs_story",
    "extra",
)

MIGRATIONS = [
    """
    CREATE TABLE submissions (
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
    );
    CREATE TABLE revisions (
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
    );
    CREATE INDEX revisions_submission ON revisions(submission_id);
    CREATE INDEX revisions_hash ON revisions(hash);
    CREATE INDEX revisions_image ON revisions(image);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        submission_id INTEGER,
        revision_id INTEGER,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL DEFAULT 'moderator',
        created_at TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at TEXT
    );
    CREATE TABLE screens (
        name TEXT PRIMARY KEY,
        last_seen TEXT NOT NULL,
        slide TEXT,
        version TEXT,
        address TEXT
    );
    """,
]


class NotFound(LookupError):
    """No such submission (or user, token)."""


class Conflict(RuntimeError):
    """The request is about a revision that is no longer the newest."""


class Refused(ValueError):
    """The action is not allowed for this content; the message says why."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Recorded:
    """What `record_revision` did."""

    submission_id: int
    revision_id: int
    status: str
    created: bool  # False when the content was already known (no new revision)


class Library:
    def __init__(self, path: Path, clock: Callable[[], datetime] = utcnow) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []
        self.generation = 0  # moves on every change a screen might show; caches key on it
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    # ---- plumbing ----------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._tx() as db:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _row(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def now(self) -> str:
        return _iso(self.clock())

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` (from any thread) after anything a screen might show has changed."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        self.generation += 1
        for listener in self._listeners:
            listener()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def healthy(self) -> bool:
        try:
            self._row("SELECT 1")
            return True
        except sqlite3.Error:
            return False

    def _audit(
        self,
        db: sqlite3.Connection,
        actor: str,
        action: str,
        submission_id: int | None = None,
        revision_id: int | None = None,
        **detail: Any,
    ) -> None:
        db.execute(
            "INSERT INTO audit (at, actor, action, submission_id, revision_id, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (self.now(), actor, action, submission_id, revision_id, json.dumps(detail)),
        )

    def _refresh(self, db: sqlite3.Connection, submission_id: int) -> str:
        """Derive a submission's status from its revisions (one rule, kept in one place)."""
        sub = db.execute("SELECT * FROM submissions WHERE id=?", (submission_id,)).fetchone()
        latest = db.execute(
            "SELECT status FROM revisions WHERE id=?", (sub["latest_revision"],)
        ).fetchone()
        if sub["retired_at"]:
            status = "retired"
        elif latest and latest["status"] in ("pending", "problem"):
            status = latest["status"]
        elif sub["current_revision"]:
            status = "approved"
        else:
            status = latest["status"] if latest else "problem"
        db.execute(
            "UPDATE submissions SET status=?, updated_at=? WHERE id=?",
            (status, self.now(), submission_id),
        )
        return status

    # ---- ingest side -------------------------------------------------------------------
    def fingerprints(self) -> dict[str, str]:
        """Source -> fingerprint of every submission still backed by a file."""
        rows = self._rows("SELECT source, fingerprint FROM submissions WHERE retired_at IS NULL")
        return {r["source"]: r["fingerprint"] for r in rows}

    def record_revision(
        self,
        source: str,
        revision_hash: str,
        fields: dict[str, Any],
        *,
        body: str = "",
        html: str = "",
        problems: list[str] | tuple[str, ...] = (),
        text_path: str | None = None,
        photo_path: str | None = None,
        rendition: Any = None,
        fingerprint: str = "",
        owner: str = "",
    ) -> Recorded:
        """Store what a file now holds. Known content (same hash) adds no revision."""
        status = "problem" if problems else "pending"
        with self._tx() as db:
            now = self.now()
            sub = db.execute("SELECT * FROM submissions WHERE source=?", (source,)).fetchone()
            if sub is None:
                position = db.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM submissions")
                cur = db.execute(
                    "INSERT INTO submissions (source, status, owner, position, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (source, status, owner, position.fetchone()[0], now, now),
                )
                sub = db.execute(
                    "SELECT * FROM submissions WHERE id=?", (cur.lastrowid,)
                ).fetchone()
            sid = sub["id"]
            latest = db.execute(
                "SELECT * FROM revisions WHERE id=?", (sub["latest_revision"],)
            ).fetchone()
            revived = sub["retired_at"] is not None
            if latest is not None and latest["hash"] == revision_hash and not revived:
                db.execute(
                    "UPDATE submissions SET fingerprint=?, owner=COALESCE(NULLIF(?, ''), owner)"
                    " WHERE id=?",
                    (fingerprint, owner, sid),
                )
                return Recorded(sid, latest["id"], sub["status"], created=False)
            focal = (0.5, 0.3)
            if latest is not None and rendition is not None:
                if latest["photo_hash"] == rendition.photo_hash:
                    focal = (latest["focal_x"], latest["focal_y"])  # keep a moderator's choice
            if latest is not None and latest["status"] in ("pending", "problem"):
                db.execute("UPDATE revisions SET status='superseded' WHERE id=?", (latest["id"],))
            cur = db.execute(
                "INSERT INTO revisions (submission_id, hash, status, fields, body, html, problems,"
                " text_path, photo_path, photo_hash, image, thumbnail, width, height, focal_x,"
                " focal_y, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    sid,
                    revision_hash,
                    status,
                    json.dumps(fields, default=str),
                    body,
                    html,
                    json.dumps(list(problems)),
                    text_path,
                    photo_path,
                    getattr(rendition, "photo_hash", None),
                    getattr(rendition, "image", None),
                    getattr(rendition, "thumbnail", None),
                    getattr(rendition, "width", None),
                    getattr(rendition, "height", None),
                    *focal,
                    now,
                ),
            )
            rid = cur.lastrowid
            if revived:
                db.execute(
                    "UPDATE submissions SET retired_at=NULL, retired_reason=NULL,"
                    " current_revision=NULL WHERE id=?",
                    (sid,),
                )
            db.execute(
                "UPDATE submissions SET latest_revision=?, fingerprint=?,"
                " owner=COALESCE(NULLIF(?, ''), owner) WHERE id=?",
                (rid, fingerprint, owner, sid),
            )
            self._audit(db, "watcher", status, sid, rid, source=source, problems=list(problems))
            result = Recorded(sid, rid, self._refresh(db, sid), created=True)
        self._changed()
        return result

    def find_moved(self, revision_hash: str, vanished: set[str], since: str) -> int | None:
        """A submission whose file has just gone and whose newest content matches: a rename."""
        rows = self._rows(
            "SELECT s.id, s.source, s.retired_at, s.retired_reason FROM submissions s"
            " JOIN revisions r ON r.id = s.latest_revision WHERE r.hash=?",
            revision_hash,
        )
        for row in rows:
            if row["source"] in vanished and row["retired_at"] is None:
                return row["id"]
            if row["retired_reason"] == "source deleted" and row["retired_at"] >= since:
                return row["id"]
        return None

    def move(self, submission_id: int, source: str, fingerprint: str) -> None:
        """The file was renamed or moved inside the folder: same submission, same decision."""
        with self._tx() as db:
            old = db.execute("SELECT source FROM submissions WHERE id=?", (submission_id,))
            old_source = old.fetchone()["source"]
            # A retired story may still hold the name; it keeps its history under another one.
            db.execute(
                "UPDATE submissions SET source=source || ' (retired #' || id || ')'"
                " WHERE source=? AND id<>?",
                (source, submission_id),
            )
            db.execute(
                "UPDATE submissions SET source=?, fingerprint=?, retired_at=NULL,"
                " retired_reason=NULL WHERE id=?",
                (source, fingerprint, submission_id),
            )
            self._audit(db, "watcher", "moved", submission_id, None, src=old_source, to=source)
            self._refresh(db, submission_id)
        self._changed()

    def source_deleted(self, source: str) -> int | None:
        """The file is gone: off every screen at once (this is how consent is withdrawn)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT id FROM submissions WHERE source=? AND retired_at IS NULL", (source,)
            ).fetchone()
            if row is None:
                return None
            self._retire(db, row["id"], "watcher", "source deleted")
        self._changed()
        return row["id"]

    def _retire(self, db: sqlite3.Connection, sid: int, actor: str, reason: str) -> None:
        db.execute(
            "UPDATE submissions SET retired_at=?, retired_reason=? WHERE id=?",
            (self.now(), reason, sid),
        )
        self._audit(db, actor, "retire", sid, None, reason=reason)
        self._refresh(db, sid)

    # ---- moderation --------------------------------------------------------------------
    def _submission_row(self, db: sqlite3.Connection, sid: int) -> sqlite3.Row:
        row = db.execute("SELECT * FROM submissions WHERE id=?", (sid,)).fetchone()
        if row is None:
            raise NotFound(f"no submission {sid}")
        return row

    def approve(
        self, sid: int, actor: str, revision: int | None = None, require_consent: bool = False
    ) -> dict[str, Any]:
        """Approve the newest revision; it replaces whatever was playing."""
        with self._tx() as db:
            sub = self._submission_row(db, sid)
            if revision is not None and revision != sub["latest_revision"]:
                raise Conflict(
                    f"revision {revision} has been replaced by a newer one "
                    f"({sub['latest_revision']}): reload and look again"
                )
            if sub["retired_at"]:
                raise Refused("this story is retired: its file was deleted or it was taken off")
            rev = db.execute(
                "SELECT * FROM revisions WHERE id=?", (sub["latest_revision"],)
            ).fetchone()
            if rev["status"] == "problem":
                raise Refused("this story has a problem and cannot be shown: " + rev["problems"])
            if require_consent and not json.loads(rev["fields"]).get("consent"):
                raise Refused(
                    "this story has no `consent: yes`: ask the person, then add it to the file"
                )
            now = self.now()
            if sub["current_revision"] and sub["current_revision"] != rev["id"]:
                db.execute(
                    "UPDATE revisions SET status='superseded' WHERE id=?",
                    (sub["current_revision"],),
                )
            db.execute(
                "UPDATE revisions SET status='approved', decided_by=?, decided_at=?, reason=NULL"
                " WHERE id=?",
                (actor, now, rev["id"]),
            )
            db.execute("UPDATE submissions SET current_revision=? WHERE id=?", (rev["id"], sid))
            self._audit(db, actor, "approve", sid, rev["id"])
            self._refresh(db, sid)
        self._changed()
        return self.submission(sid)

    def reject(self, sid: int, actor: str, reason: str) -> dict[str, Any]:
        """Reject the newest revision; an approved older one keeps playing."""
        with self._tx() as db:
            sub = self._submission_row(db, sid)
            rev_id = sub["latest_revision"]
            if sub["current_revision"] == rev_id:
                # Rejecting what is on screen takes it off.
                db.execute("UPDATE submissions SET current_revision=NULL WHERE id=?", (sid,))
            db.execute(
                "UPDATE revisions SET status='rejected', decided_by=?, decided_at=?, reason=?"
                " WHERE id=?",
                (actor, self.now(), reason, rev_id),
            )
            self._audit(db, actor, "reject", sid, rev_id, reason=reason)
            self._refresh(db, sid)
        self._changed()
        return self.submission(sid)

    def retire(self, sid: int, actor: str, reason: str = "retired by a moderator") -> dict:
        with self._tx() as db:
            self._submission_row(db, sid)
            db.execute("UPDATE submissions SET current_revision=NULL WHERE id=?", (sid,))
            self._retire(db, sid, actor, reason)
        self._changed()
        return self.submission(sid)

    def patch(self, sid: int, actor: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Fix story fields, focal point, pin or order. Fields apply to the newest revision."""
        with self._tx() as db:
            sub = self._submission_row(db, sid)
            rev = db.execute(
                "SELECT * FROM revisions WHERE id=?", (sub["latest_revision"],)
            ).fetchone()
            fields = json.loads(rev["fields"])
            fields.update({k: v for k, v in changes.items() if k in STORY_FIELDS})
            db.execute("UPDATE revisions SET fields=? WHERE id=?", (json.dumps(fields), rev["id"]))
            if "focal" in changes:
                x, y = changes["focal"]
                db.execute(
                    "UPDATE revisions SET focal_x=?, focal_y=? WHERE id=?", (x, y, rev["id"])
                )
            if "pinned" in changes:
                db.execute(
                    "UPDATE submissions SET pinned=? WHERE id=?", (int(changes["pinned"]), sid)
                )
            if "position" in changes:
                db.execute(
                    "UPDATE submissions SET position=? WHERE id=?",
                    (float(changes["position"]), sid),
                )
            self._audit(db, actor, "edit", sid, rev["id"], changes=changes)
            self._refresh(db, sid)
        self._changed()
        return self.submission(sid)

    # ---- reading -----------------------------------------------------------------------
    @staticmethod
    def _revision_dict(rev: sqlite3.Row | None) -> dict[str, Any] | None:
        if rev is None:
            return None
        return {
            "revision": rev["id"],
            "hash": rev["hash"],
            "status": rev["status"],
            **json.loads(rev["fields"]),
            "body": rev["body"],
            "html": rev["html"],
            "problems": json.loads(rev["problems"]),
            "text_path": rev["text_path"],
            "photo_path": rev["photo_path"],
            "image": rev["image"],
            "thumbnail": rev["thumbnail"],
            "width": rev["width"],
            "height": rev["height"],
            "focal": [rev["focal_x"], rev["focal_y"]],
            "created_at": rev["created_at"],
            "decision": {"by": rev["decided_by"], "at": rev["decided_at"], "reason": rev["reason"]}
            if rev["decided_at"]
            else None,
        }

    def _submission_dict(self, sub: sqlite3.Row) -> dict[str, Any]:
        with self._lock:
            get = self._db.execute
            latest = get("SELECT * FROM revisions WHERE id=?", (sub["latest_revision"],))
            latest_rev = self._revision_dict(latest.fetchone())
            current = None
            if sub["current_revision"] and sub["current_revision"] != sub["latest_revision"]:
                cur = get("SELECT * FROM revisions WHERE id=?", (sub["current_revision"],))
                current = self._revision_dict(cur.fetchone())
        return {
            **(latest_rev or {}),
            "revision_status": latest_rev["status"] if latest_rev else None,
            "id": sub["id"],
            "source": sub["source"],
            "status": sub["status"],
            "owner": sub["owner"],
            "pinned": bool(sub["pinned"]),
            "position": sub["position"],
            "created_at": sub["created_at"],
            "updated_at": sub["updated_at"],
            "retired_at": sub["retired_at"],
            "retired_reason": sub["retired_reason"],
            "current_revision": sub["current_revision"],
            "on_screen": current
            if current
            else (latest_rev if sub["current_revision"] == sub["latest_revision"] else None),
        }

    def submission(self, sid: int) -> dict[str, Any]:
        row = self._row("SELECT * FROM submissions WHERE id=?", sid)
        if row is None:
            raise NotFound(f"no submission {sid}")
        return self._submission_dict(row)

    def submissions(self, status: str | None = None) -> list[dict[str, Any]]:
        """Oldest first, which is the order a moderator works through a queue."""
        if status:
            rows = self._rows(
                "SELECT * FROM submissions WHERE status=? ORDER BY updated_at, id", status
            )
        else:
            rows = self._rows("SELECT * FROM submissions ORDER BY updated_at, id")
        return [self._submission_dict(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self._rows("SELECT status, COUNT(*) AS n FROM submissions GROUP BY status")
        return {s: 0 for s in STATUSES} | {r["status"]: r["n"] for r in rows}

    def on_screen(self) -> list[dict[str, Any]]:
        """The approved revision of every live submission, pinned first, then moderators' order."""
        rows = self._rows(
            "SELECT s.id AS sid, s.pinned, s.position, r.* FROM submissions s"
            " JOIN revisions r ON r.id = s.current_revision"
            " WHERE s.retired_at IS NULL ORDER BY s.pinned DESC, s.position, s.id"
        )
        return [
            {"id": r["sid"], "pinned": bool(r["pinned"]), **self._revision_dict(r)} for r in rows
        ]

    def is_public_media(self, name: str) -> bool:
        """Only renditions of revisions currently on screen may be served to anyone."""
        return (
            self._row(
                "SELECT 1 FROM submissions s JOIN revisions r ON r.id = s.current_revision"
                " WHERE s.retired_at IS NULL AND r.image=? LIMIT 1",
                name,
            )
            is not None
        )

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM audit ORDER BY id DESC LIMIT ?", limit)
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    # ---- screens -----------------------------------------------------------------------
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

    # ---- users and tokens --------------------------------------------------------------
    def add_user(self, name: str, role: str, password_hash: str, actor: str) -> None:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM users WHERE name=?", (name,)).fetchone():
                raise Refused(f"there is already a user called {name}")
            db.execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                (name, role, password_hash, self.now()),
            )
            self._audit(db, actor, "add user", user=name, role=role)

    def set_password(self, name: str, password_hash: str, actor: str) -> None:
        with self._tx() as db:
            cur = db.execute("UPDATE users SET password_hash=? WHERE name=?", (password_hash, name))
            if not cur.rowcount:
                raise NotFound(f"no user called {name}")
            self._audit(db, actor, "change password", user=name)

    def remove_user(self, name: str, actor: str) -> None:
        """Remove a user; the last admin stays, or nobody could manage users any more."""
        with self._tx() as db:
            row = db.execute("SELECT role FROM users WHERE name=?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"no user called {name}")
            admins = db.execute("SELECT COUNT(*) FROM users WHERE role='admin'").fetchone()[0]
            if row["role"] == "admin" and admins == 1:
                raise Refused(f"{name} is the last admin: make another admin first")
            db.execute("DELETE FROM users WHERE name=?", (name,))
            self._audit(db, actor, "remove user", user=name)

    def user(self, name: str) -> dict[str, Any] | None:
        """One user with their password hash, for signing in."""
        row = self._row("SELECT * FROM users WHERE name=?", name)
        return dict(row) if row else None

    def users(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT name, role, created_at FROM users ORDER BY name")
        return [dict(r) for r in rows]

    def add_token(self, name: str, token_hash: str, role: str, actor: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO tokens (name, token_hash, role, created_at) VALUES (?, ?, ?, ?)",
                (name, token_hash, role, self.now()),
            )
            self._audit(db, actor, "create token", token=name, role=role)

    def use_token(self, token_hash: str) -> dict[str, Any] | None:
        """The live token with this hash, marked as used now; None when unknown or revoked."""
        with self._tx() as db:
            row = db.execute(
                "SELECT name, role FROM tokens WHERE token_hash=? AND revoked_at IS NULL",
                (token_hash,),
            ).fetchone()
            if row is not None:
                db.execute(
                    "UPDATE tokens SET last_used_at=? WHERE token_hash=?", (self.now(), token_hash)
                )
        return dict(row) if row else None

    def tokens(self) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT name, role, created_at, last_used_at, revoked_at FROM tokens ORDER BY id"
        )
        return [dict(r) for r in rows]

    def revoke_tokens(self, name: str, actor: str) -> int:
        """Revoke every live token called `name`; returns how many."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE tokens SET revoked_at=? WHERE name=? AND revoked_at IS NULL",
                (self.now(), name),
            )
            if not cur.rowcount:
                raise NotFound(f"no live token called {name}")
            self._audit(db, actor, "revoke token", token=name)
        return cur.rowcount

    # ---- admin queue -------------------------------------------------------------------
    def submitted_at(self) -> dict[int, str]:
        """When each submission's newest revision arrived: the order of the moderators' queue."""
        rows = self._rows(
            "SELECT s.id, r.created_at FROM submissions s JOIN revisions r"
            " ON r.id = s.latest_revision"
        )
        return {r["id"]: r["created_at"] for r in rows}

    def labels(self) -> dict[int, dict[str, str]]:
        """Source file and name of each submission, for lists that mention them (audit, screens)."""
        rows = self._rows(
            "SELECT s.id, s.source, r.fields FROM submissions s LEFT JOIN revisions r"
            " ON r.id = s.latest_revision"
        )
        return {
            r["id"]: {"source": r["source"], "name": json.loads(r["fields"] or "{}").get("name")}
            for r in rows
        }
