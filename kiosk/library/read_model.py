"""What moderators and screens read: submissions as flat dicts (the newest revision's fields,
the submission's own keys over them, and the revision on screen nested), the approved set, and
small lookups. Every read here is one query, however many submissions there are; the two whole
lists (every submission, everything on screen) read again only the rows of submissions that
changed since they were last read (db.RowCache), plus one narrow query for the order.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any, cast

from ..model import (
    Decision,
    OnScreen,
    Revision,
    RevisionStatus,
    Status,
    StoryFields,
    Submission,
)
from .db import Database, NotFound, RowCache

_CHUNK = 400  # changed rows read by id; twice in one query, under SQLite's 999 parameters

_REVISION_COLUMNS = (
    "id",
    "hash",
    "status",
    "fields",
    "body",
    "html",
    "problems",
    "text_path",
    "photo_path",
    "image",
    "thumbnail",
    "width",
    "height",
    "focal_x",
    "focal_y",
    "created_at",
    "decided_by",
    "decided_at",
    "reason",
)


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{c} AS {alias}_{c}" for c in _REVISION_COLUMNS)


# When a moderator first approved each submission: consent without a date counts from it. The
# audit log keeps it (a revision's own decision time moves when it is approved again).
def _first_approved(where: str = "") -> str:
    return (
        " LEFT JOIN (SELECT submission_id, MIN(at) AS first_approved FROM audit"
        f" WHERE action='approve'{where} GROUP BY submission_id) fa ON fa.submission_id = s.id"
    )


_FIRST_APPROVED = _first_approved()

# A submission with its newest revision (l_*), only when it differs the one on screen (c_*),
# and the decision on the newest rejected revision before the newest (p_*): a story back after a
# rejection. `submitted_at` is when the newest revision arrived: the order of the moderators' queue.
_SUBMISSIONS = (
    "SELECT s.*, COALESCE(l.created_at, s.created_at) AS submitted_at, fa.first_approved,"
    f" {_prefixed('l')}, {_prefixed('c')},"
    " p.decided_by AS p_decided_by, p.decided_at AS p_decided_at, p.reason AS p_reason"
    " FROM submissions s LEFT JOIN revisions l ON l.id = s.latest_revision"
    " LEFT JOIN revisions c ON c.id = s.current_revision AND c.id IS NOT s.latest_revision"
    " LEFT JOIN revisions p ON p.id = (SELECT r.id FROM revisions r WHERE r.submission_id = s.id"
    f" AND r.status = '{RevisionStatus.REJECTED}' AND r.id < s.latest_revision"
    " ORDER BY r.id DESC LIMIT 1)" + _FIRST_APPROVED
)


def _decision(row: sqlite3.Row, prefix: str) -> Decision | None:
    if not row[prefix + "decided_at"]:
        return None
    return {
        "by": row[prefix + "decided_by"],
        "at": row[prefix + "decided_at"],
        "reason": row[prefix + "reason"],
    }


def _revision(row: sqlite3.Row, prefix: str = "") -> Revision:
    fields = cast(StoryFields, json.loads(row[prefix + "fields"]))
    return {
        "revision": row[prefix + "id"],
        "hash": row[prefix + "hash"],
        "status": RevisionStatus(row[prefix + "status"]),
        **fields,
        "body": row[prefix + "body"],
        "html": row[prefix + "html"],
        "problems": json.loads(row[prefix + "problems"]),
        "text_path": row[prefix + "text_path"],
        "photo_path": row[prefix + "photo_path"],
        "image": row[prefix + "image"],
        "thumbnail": row[prefix + "thumbnail"],
        "width": row[prefix + "width"],
        "height": row[prefix + "height"],
        "focal": [row[prefix + "focal_x"], row[prefix + "focal_y"]],
        "created_at": row[prefix + "created_at"],
        "decision": _decision(row, prefix),
    }


def _submission(row: sqlite3.Row) -> Submission:
    latest = _revision(row, "l_")  # a submission is recorded with its first revision
    on_screen = None
    if row["current_revision"]:
        same = row["current_revision"] == row["latest_revision"]
        on_screen = latest if same else _revision(row, "c_")
    return {
        **latest,
        # The submission's keys win over the revision's, so these two keep the revision's.
        "revision_status": latest["status"],
        "submitted_at": row["submitted_at"],
        "id": row["id"],
        "source": row["source"],
        "status": Status(row["status"]),
        "owner": row["owner"],
        "pinned": bool(row["pinned"]),
        "position": row["position"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "retired_at": row["retired_at"],
        "retired_reason": row["retired_reason"],
        "current_revision": row["current_revision"],
        "first_approved": row["first_approved"],
        "on_screen": on_screen,
        "previous_rejection": _decision(row, "p_"),
    }


def _among(ids: list[int], column: str = "s.id") -> str:
    return f" AND {column} IN ({','.join('?' * len(ids))})" if ids else ""


def _on_screen(row: sqlite3.Row) -> OnScreen:
    return {
        "id": row["sid"],
        "updated_at": row["s_updated_at"],
        "pinned": bool(row["pinned"]),
        "first_approved": row["first_approved"],
        **_revision(row),
    }


class ReadModel(Database):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._submissions, self._on_screen = RowCache(), RowCache()
        self._caches += [self._submissions, self._on_screen]

    def submission(self, sid: int) -> Submission:
        row = self._row(_SUBMISSIONS + " WHERE s.id=?", sid)
        if row is None:
            raise NotFound(f"no submission {sid}")
        return _submission(row)

    def submissions(self, status: Status | None = None) -> list[Submission]:
        """Oldest newest-revision first, which is the order a moderator works through a queue.
        The dicts are shared with later calls: read them, never change them."""
        where, args = (" WHERE s.status=?", [status]) if status else (" WHERE 1", [])

        def rows(ids: list[int]) -> tuple[str, list[Any]]:
            sql = _SUBMISSIONS + where + _among(ids) + " ORDER BY submitted_at, s.id"
            return sql, [*args, *ids]

        with self._submissions.reading:
            return self._cached(
                self._submissions,
                "SELECT s.id, s.updated_at FROM submissions s"
                " LEFT JOIN revisions l ON l.id = s.latest_revision"
                + where
                + " ORDER BY COALESCE(l.created_at, s.created_at), s.id",
                args,
                rows,
                _submission,
            )

    def counts(self) -> dict[str, int]:
        rows = self._rows("SELECT status, COUNT(*) AS n FROM submissions GROUP BY status")
        return {s.value: 0 for s in Status} | {r["status"]: r["n"] for r in rows}

    def on_screen(self) -> list[OnScreen]:
        """The approved revision of every live submission, pinned first, then moderators' order.
        The dicts are shared with later calls (the same object while its submission is
        unchanged, which kiosk.playlist relies on): read them, never change them."""
        live = " WHERE s.retired_at IS NULL AND s.current_revision IS NOT NULL"
        order = " ORDER BY s.pinned DESC, s.position, s.id"

        def rows(ids: list[int]) -> tuple[str, list[Any]]:
            sql = (
                "SELECT s.id AS sid, s.updated_at AS s_updated_at, s.pinned, s.position,"
                " fa.first_approved, r.* FROM submissions s"
                " JOIN revisions r ON r.id = s.current_revision"
                + _first_approved(_among(ids, "submission_id"))
                + live
                + _among(ids)
                + order
            )
            return sql, [*ids, *ids]

        with self._on_screen.reading:
            return self._cached(
                self._on_screen,
                "SELECT s.id, s.updated_at FROM submissions s" + live + order,
                [],
                rows,
                _on_screen,
            )

    def _cached(
        self,
        cache: RowCache,
        order_sql: str,
        args: list[Any],
        rows: Callable[[list[int]], tuple[str, list[Any]]],
        make: Callable[[sqlite3.Row], Any],
    ) -> list[Any]:
        """The submissions `order_sql` lists (id, updated_at), each made by `make` from a row of
        the query `rows(ids)` gives (all of them for no ids), taken from `cache` unless the
        submission changed: then read again, the changed ones alone when they are few, or
        everything in one query."""
        stale = cache.take_stale()
        known = cache.rows
        if stale is not None:
            order = self._rows(order_sql, *args)
            # updated_at too: a writer in another process (the CLI) tells nobody here.
            wanted = [
                r["id"]
                for r in order
                if r["id"] in stale or r["updated_at"] != known.get(r["id"], {}).get("updated_at")
            ]
            if len(wanted) <= _CHUNK:
                if wanted:
                    sql, params = rows(wanted)
                    known.update((d["id"], d) for d in map(make, self._rows(sql, *params)))
                return [known[r["id"]] for r in order if r["id"] in known]
        sql, params = rows([])
        fresh = [make(r) for r in self._rows(sql, *params)]
        if not args:
            known.clear()  # the whole list: forget submissions no longer in it
        known.update((d["id"], d) for d in fresh)
        return fresh

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
