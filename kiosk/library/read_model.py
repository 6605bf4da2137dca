"""What moderators and screens read: submissions as flat dicts (the newest revision's fields,
the submission's own keys over them, and the revision on screen nested), the approved set, and
small lookups. Every read here is one query, however many submissions there are. The admin
lists read a page at a time (`page`), by keyset on an order an index holds. The two whole lists
(every submission, everything on screen) are kept in memory in their order (kept.Kept): a read
after a change reads again only the rows of the submissions that changed, so what one decision
costs does not grow with the library.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
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
from .db import Database, NotFound, Refused
from .kept import Kept, Since

_CHUNK = 400  # changed rows read by id in one query, under SQLite's 999 parameters

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


# When a moderator first approved the submission `s`: consent without a date counts from it.
# The audit log keeps it (a revision's own decision time moves when it is approved again); an
# index answers it per submission, so a page of 50 never aggregates the whole log.
_FIRST_APPROVED = (
    "(SELECT MIN(a.at) FROM audit a WHERE a.submission_id = s.id AND a.action = 'approve')"
    " AS first_approved"
)

# A submission with its newest revision (l_*), only when it differs the one on screen (c_*),
# and the decision on the newest rejected revision before the newest (p_*): a story back after a
# rejection. `submitted_at` is when the newest revision arrived: the order of the moderators' queue.
_SUBMISSIONS = (
    f"SELECT s.*, {_FIRST_APPROVED}, {_prefixed('l')}, {_prefixed('c')},"
    " p.decided_by AS p_decided_by, p.decided_at AS p_decided_at, p.reason AS p_reason"
    " FROM submissions s LEFT JOIN revisions l ON l.id = s.latest_revision"
    " LEFT JOIN revisions c ON c.id = s.current_revision AND c.id IS NOT s.latest_revision"
    " LEFT JOIN revisions p ON p.id = (SELECT r.id FROM revisions r WHERE r.submission_id = s.id"
    f" AND r.status = '{RevisionStatus.REJECTED}' AND r.id < s.latest_revision"
    " ORDER BY r.id DESC LIMIT 1)"
)

# A story a screen plays: approved, and neither retired nor withdrawn (the "On the screens" tab).
_PLAYS = "s.current_revision IS NOT NULL AND s.retired_at IS NULL"


class Order(StrEnum):
    """The orders the admin page lists submissions in, each a key an index holds."""

    ARRIVAL = "arrival"  # oldest newest-revision first: the order to work through a queue
    NEWEST = "newest"  # the other way round: what was decided lately (the Rejected tab)
    PLAYING = "playing"  # pinned first, then the moderators' order: as the screens play them


# Each order's key: (column, descending), the last one unique, so a key names one place.
_KEYS: dict[Order, tuple[tuple[str, bool], ...]] = {
    Order.ARRIVAL: (("submitted_at", False), ("id", False)),
    Order.NEWEST: (("submitted_at", True), ("id", True)),
    Order.PLAYING: (("pinned", True), ("position", False), ("id", False)),
}


def _after(order: Order, key: list[Any]) -> str:
    """SQL for "comes after `key` in `order`", as a keyset page continues."""
    columns = _KEYS[order]
    if len({desc for _, desc in columns}) == 1:  # one direction: a row value the index walks
        names = ", ".join(f"s.{c}" for c, _ in columns)
        return f"({names}) {'<' if columns[0][1] else '>'} ({', '.join('?' * len(key))})"
    ors = []
    for i, (column, desc) in enumerate(columns):
        same = [f"s.{c} = ?" for c, _ in columns[:i]]
        ors.append("(" + " AND ".join([*same, f"s.{column} {'<' if desc else '>'} ?"]) + ")")
    return "(" + " OR ".join(ors) + ")"


def _after_args(order: Order, key: list[Any]) -> list[Any]:
    if len({desc for _, desc in _KEYS[order]}) == 1:
        return list(key)
    return [v for i in range(len(key)) for v in key[: i + 1]]


def encode_cursor(order: Order, key: list[Any]) -> str:
    raw = json.dumps([order.value, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(order: Order, cursor: str) -> list[Any]:
    """The key a cursor holds; Refused when it is not one a page of this order gave."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, *key = json.loads(raw)
    except (ValueError, TypeError):
        name, key = None, []
    columns = _KEYS[order]
    if name != order.value or len(key) != len(columns):
        raise Refused("this `after` cursor is not one this list gave: start again without it")
    if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in key):
        raise Refused("this `after` cursor is not one this list gave: start again without it")
    return key


@dataclass(frozen=True)
class Page:
    submissions: list[Submission]
    next: str | None  # the cursor of the page after this one; None on the last


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
        "position": row["position"],
        "first_approved": row["first_approved"],
        **_revision(row),
    }


class ReadModel(Database):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Each whole list in its order: the queue's (arrival), and the screens' (pinned
        # first, then the moderators' order).
        self._submissions = Kept(lambda s: (s["submitted_at"], s["id"]))
        self._on_screen = Kept(lambda r: (not r["pinned"], r["position"], r["id"]))
        self._caches += [self._submissions, self._on_screen]

    def submission(self, sid: int) -> Submission:
        row = self._row(_SUBMISSIONS + " WHERE s.id=?", sid)
        if row is None:
            raise NotFound(f"no submission {sid}")
        return _submission(row)

    def submissions(self, status: Status | None = None) -> list[Submission]:
        """Oldest newest-revision first, which is the order a moderator works through a queue.
        The dicts are shared with later calls: read them, never change them."""
        every = self.submissions_since(-1).items
        return [s for s in every if s["status"] == status] if status else every

    def submissions_since(self, stamp: int) -> Since:
        """Every submission as `submissions()` lists them, and which changed since `stamp`."""
        return self._kept(self._submissions, _SUBMISSIONS + " WHERE 1", _submission, stamp)

    def submission_from(self, source: str, since: str) -> Submission | None:
        """The first submission of the file `source` seen at or after `since` (ISO UTC), or
        None: a file of that name from before, or a later one, belongs to somebody else."""
        row = self._row(
            _SUBMISSIONS + " WHERE s.source=? AND s.created_at>=? ORDER BY s.id LIMIT 1",
            source,
            since,
        )
        return None if row is None else _submission(row)

    def used_names(self) -> set[str]:
        """Every top-level file name (lower case, without its suffix) a story ever had: /submit
        never gives a new story the name of an old one, whose private link would then show it."""
        rows = self._rows("SELECT source FROM submissions WHERE instr(source, '/') = 0")
        return {r["source"].rsplit(".", 1)[0].lower() for r in rows}

    def page(
        self,
        *,
        status: Status | None = None,
        on_screen: bool = False,
        order: Order = Order.ARRIVAL,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        """One page of a list, in one statement: the keyset continues after the `after` cursor's
        row, so a submission that arrives meanwhile neither shifts nor repeats what follows."""
        where, args = [], []
        if status is not None:
            where.append("s.status = ?")
            args.append(status.value)
        if on_screen:
            where.append(_PLAYS)
        if after is not None:
            key = decode_cursor(order, after)
            where.append(_after(order, key))
            args += _after_args(order, key)
        keys = ", ".join(f"s.{c}{' DESC' if desc else ''}" for c, desc in _KEYS[order])
        sql = _SUBMISSIONS + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._rows(f"{sql} ORDER BY {keys} LIMIT ?", *args, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if more else None
        cursor = encode_cursor(order, [last[c] for c, _ in _KEYS[order]]) if last else None
        return Page([_submission(r) for r in rows], cursor)

    def counts(self) -> dict[str, int]:
        rows = self._rows("SELECT status, COUNT(*) AS n FROM submissions GROUP BY status")
        return {s.value: 0 for s in Status} | {r["status"]: r["n"] for r in rows}

    def tab_counts(self) -> dict[str, int]:
        """How many each tab of the admin page lists, in one pass over a narrow table."""
        row = self._row(
            "SELECT TOTAL(status = 'pending') AS pending, TOTAL(s.current_revision IS NOT NULL"
            " AND s.retired_at IS NULL) AS approved, TOTAL(status = 'rejected') AS rejected,"
            " TOTAL(status = 'problem') AS problem FROM submissions s"
        )
        assert row is not None  # an aggregate always answers one row
        return {k: int(row[k]) for k in row.keys()}

    def on_screen(self) -> list[OnScreen]:
        """The approved revision of every live submission, pinned first, then moderators' order.
        The dicts are shared with later calls (the same object while its submission is
        unchanged, which kiosk.playlist relies on): read them, never change them."""
        return self.on_screen_since(-1).items

    def on_screen_since(self, stamp: int) -> Since:
        """Everything on screen as `on_screen()` lists it, and which changed since `stamp`."""
        return self._kept(
            self._on_screen,
            "SELECT s.id AS sid, s.updated_at AS s_updated_at, s.pinned, s.position,"
            f" {_FIRST_APPROVED}, r.* FROM submissions s"
            " JOIN revisions r ON r.id = s.current_revision WHERE " + _PLAYS,
            _on_screen,
            stamp,
        )

    def _kept(self, kept: Kept, sql: str, make: Callable[[sqlite3.Row], Any], stamp: int) -> Since:
        """The list `kept` holds, brought up to date: the rows `sql` gives for the submissions
        that changed since the last read (all of them, the first time or after another
        process wrote), each made into its dict by `make`; with what changed since `stamp`."""
        self._look_for_others()
        with kept.reading:
            stale = kept.take_stale()
            if stale is None:
                kept.replace(list(map(make, self._rows(sql))))
            elif stale:
                ids = sorted(stale)
                for at in range(0, len(ids), _CHUNK):
                    chunk = ids[at : at + _CHUNK]
                    fresh = {d["id"]: d for d in map(make, self._rows(sql + _among(chunk), *chunk))}
                    for sid in chunk:
                        kept.put(sid, fresh.get(sid))
            return kept.since(stamp)

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
