"""Accounts: the users who sign in to /admin, their sessions and the bearer tokens of scripts.
Only hashes are stored; `kiosk.auth` makes and checks them."""

from __future__ import annotations

import sqlite3
from typing import Any

from .audit import AuditLog
from .db import NotFound, Refused


class Accounts(AuditLog):
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
            _end_sessions(db, name)  # whoever knew the old password is out
            self._audit(db, actor, "change password", user=name)

    def rehash_password(self, name: str, old_hash: str, new_hash: str) -> None:
        """The same password hashed with other costs; nothing a person did, so not audited.
        Skipped if the password changed meanwhile."""
        with self._tx() as db:
            db.execute(
                "UPDATE users SET password_hash=? WHERE name=? AND password_hash=?",
                (new_hash, name, old_hash),
            )

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
            _end_sessions(db, name)
            self._audit(db, actor, "remove user", user=name)

    def user(self, name: str) -> dict[str, Any] | None:
        """One user with their password hash, for signing in."""
        row = self._row("SELECT * FROM users WHERE name=?", name)
        return dict(row) if row else None

    def users(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT name, role, created_at FROM users ORDER BY name")
        return [dict(r) for r in rows]

    # ---- sessions (times are the Unix seconds of kiosk.auth's clock) --------------------------
    def start_session(self, sid: str, user: str, csrf_token: str, now: float, idle: float) -> None:
        """Record a new session; sessions that ended or idled out are forgotten meanwhile."""
        with self._tx() as db:
            db.execute(
                "DELETE FROM sessions WHERE ended_at IS NOT NULL OR last_seen < ?", (now - idle,)
            )
            db.execute(
                "INSERT INTO sessions (id, user, csrf_token, created_at, last_seen)"
                " VALUES (?, ?, ?, ?, ?)",
                (sid, user, csrf_token, now, now),
            )

    def session(self, sid: str) -> dict[str, Any] | None:
        """A session that has not ended, with its user's current role."""
        row = self._row(
            "SELECT s.user, s.csrf_token, s.last_seen, u.role FROM sessions s"
            " JOIN users u ON u.name = s.user WHERE s.id=? AND s.ended_at IS NULL",
            sid,
        )
        return dict(row) if row else None

    def touch_session(self, sid: str, now: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE sessions SET last_seen=? WHERE id=? AND ended_at IS NULL", (now, sid)
            )

    def end_session(self, sid: str, now: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE sessions SET ended_at=? WHERE id=? AND ended_at IS NULL", (now, sid))

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


def _end_sessions(db: sqlite3.Connection, user: str) -> None:
    db.execute(
        "UPDATE sessions SET ended_at=unixepoch() WHERE user=? AND ended_at IS NULL", (user,)
    )
