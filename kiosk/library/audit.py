"""The audit log: who decided or changed what, written in the same transaction as the change."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .db import Database


class AuditLog(Database):
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

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest `limit` entries, newest first."""
        rows = self._rows("SELECT * FROM audit ORDER BY id DESC LIMIT ?", limit)
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]
