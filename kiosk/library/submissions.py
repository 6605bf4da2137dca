"""Submissions and their revisions: what the watcher records (new content, renames, deletions)
and what moderators decide (approve, reject, retire, fix). The state machine of DESIGN lives here,
its one rule for a submission's status in `_refresh`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..model import EDITABLE, STORY_FIELDS, FocalPoint, Kind, RevisionStatus, Status, Submission
from ..schedule import ConsentTerms, consent_words, iso_utc
from .audit import AuditLog
from .db import Conflict, NotFound, Refused
from .read_model import ReadModel


class RetiredReason(StrEnum):
    """Why a submission left the screens, as stored and shown (status file, admin page)."""

    SOURCE_DELETED = "source deleted"  # the file is gone; its content may be back under a new name
    BY_MODERATOR = "retired by a moderator"
    CONSENT_ENDED = "consent ended"  # its consent_until (or consent_months) passed


@dataclass(frozen=True)
class Recorded:
    """What `record_revision` did."""

    submission_id: int
    revision_id: int
    status: Status
    created: bool  # False when the content was already known (no new revision)


def _refresh(db: sqlite3.Connection, submission_id: int, now: str) -> Status:
    """Derive a submission's status from its revisions (one rule, kept in one place)."""
    sub = db.execute("SELECT * FROM submissions WHERE id=?", (submission_id,)).fetchone()
    latest = db.execute(
        "SELECT status FROM revisions WHERE id=?", (sub["latest_revision"],)
    ).fetchone()
    if sub["retired_at"]:
        status = Status.RETIRED
    elif latest and latest["status"] in (RevisionStatus.PENDING, RevisionStatus.PROBLEM):
        status = Status(latest["status"])
    elif sub["current_revision"]:
        status = Status.APPROVED
    else:
        # a newest revision that is neither waiting nor on screen was rejected
        status = Status(latest["status"]) if latest else Status.PROBLEM
    db.execute(
        "UPDATE submissions SET status=?, updated_at=? WHERE id=?",
        (status, now, submission_id),
    )
    return status


# What a withdrawn story's fields become: its words go, the yes/no facts a decision rested on
# (consent, needs a story) stay.
_BLANK: dict[Kind, Any] = {Kind.TEXT: "", Kind.DATE: None, Kind.TAGS: [], Kind.EXTRA: {}}
_WITHDRAWN_FIELDS = json.dumps({f.name: _BLANK[f.kind] for f in STORY_FIELDS if f.kind in _BLANK})


def _check_consent(
    db: sqlite3.Connection,
    sid: int,
    fields: Mapping[str, Any],
    terms: ConsentTerms,
    now: datetime,
) -> None:
    first = db.execute(
        "SELECT MIN(at) FROM audit WHERE submission_id=? AND action='approve'", (sid,)
    ).fetchone()[0]
    end = terms.end(fields, first or iso_utc(now))
    if end is not None and end <= now:
        last = terms.last(fields, first)
        assert last is not None  # there is an end, so there is a last day
        raise Refused(
            consent_words(fields.get("name") or "this story", last, ended=True)
            + ": ask the person again and update consent_until in the file"
        )


def _submission_row(db: sqlite3.Connection, sid: int) -> sqlite3.Row:
    row = db.execute("SELECT * FROM submissions WHERE id=?", (sid,)).fetchone()
    if row is None:
        raise NotFound(f"no submission {sid}")
    return row


class Submissions(ReadModel, AuditLog):
    """Every change answers with `submission()`, the same dict the queue lists."""

    def fingerprints(self) -> dict[str, str]:
        """Source -> fingerprint of every submission still backed by a file. One a moderator
        retired is in too: the same file stays retired, a changed one comes back for review."""
        rows = self._rows(
            "SELECT source, fingerprint FROM submissions"
            " WHERE retired_at IS NULL OR (retired_reason IS NOT ? AND fingerprint <> '')",
            RetiredReason.SOURCE_DELETED,
        )
        return {r["source"]: r["fingerprint"] for r in rows}

    def record_revision(
        self,
        source: str,
        revision_hash: str,
        fields: Mapping[str, Any],
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
        """Store what a file now holds. Known content (same hash) adds no revision.

        A photo new to this submission gets the default focal point until `frame` says where
        the face is; for the same photo the previous revision's point (perhaps a moderator's)
        is kept."""
        status = RevisionStatus.PROBLEM if problems else RevisionStatus.PENDING
        with self._tx() as db:
            now = self.now()
            sub = db.execute("SELECT * FROM submissions WHERE source=?", (source,)).fetchone()
            if sub is None:
                position = db.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM submissions")
                cur = db.execute(
                    "INSERT INTO submissions (source, status, owner, position, created_at,"
                    " updated_at, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (source, status, owner, position.fetchone()[0], now, now, now),
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
                return Recorded(sid, latest["id"], Status(sub["status"]), created=False)
            point = FocalPoint().pair()
            if latest is not None and rendition is not None:
                if latest["photo_hash"] == rendition.photo_hash:
                    point = (latest["focal_x"], latest["focal_y"])  # keep a moderator's choice
            if latest is not None and latest["status"] in (
                RevisionStatus.PENDING,
                RevisionStatus.PROBLEM,
            ):
                db.execute(
                    "UPDATE revisions SET status=? WHERE id=?",
                    (RevisionStatus.SUPERSEDED, latest["id"]),
                )
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
                    *point,
                    now,
                ),
            )
            rid = cur.lastrowid
            assert rid is not None  # set by every INSERT
            if revived:
                db.execute(
                    "UPDATE submissions SET retired_at=NULL, retired_reason=NULL,"
                    " current_revision=NULL WHERE id=?",
                    (sid,),
                )
            db.execute(
                "UPDATE submissions SET latest_revision=?, submitted_at=?, fingerprint=?,"
                " owner=COALESCE(NULLIF(?, ''), owner) WHERE id=?",
                (rid, now, fingerprint, owner, sid),
            )
            self._audit(db, "watcher", status, sid, rid, source=source, problems=list(problems))
            result = Recorded(sid, rid, _refresh(db, sid, self.now()), created=True)
        self._changed(sid)
        return result

    def frame(self, revision_id: int, focal: FocalPoint) -> bool:
        """Where ingest found the face, which it knows only after the revision was recorded:
        taken while the revision still has the default point, so a moderator's click (or the
        point an earlier revision of the same photo had) wins. True when it was taken."""
        default = FocalPoint().pair()
        with self._tx() as db:
            row = db.execute(
                "SELECT submission_id FROM revisions WHERE id=? AND focal_x=? AND focal_y=?",
                (revision_id, *default),
            ).fetchone()
            if row is not None:
                db.execute(
                    "UPDATE revisions SET focal_x=?, focal_y=? WHERE id=?",
                    (*focal.pair(), revision_id),
                )
        if row is None:
            return False
        self._changed(row["submission_id"])
        return True

    def find_moved(
        self, revision_hash: str, vanished: set[str], window_seconds: float
    ) -> int | None:
        """A submission whose newest content matches and whose file has just gone: in this
        pass (`vanished`), or retired for that within the last `window_seconds`. A rename."""
        since = self.now(ago=window_seconds)
        rows = self._rows(
            "SELECT s.id, s.source, s.retired_at, s.retired_reason FROM submissions s"
            " JOIN revisions r ON r.id = s.latest_revision WHERE r.hash=?",
            revision_hash,
        )
        for row in rows:
            if row["source"] in vanished and row["retired_at"] is None:
                return row["id"]
            if row["retired_reason"] == RetiredReason.SOURCE_DELETED and row["retired_at"] >= since:
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
            _refresh(db, submission_id, self.now())
        self._changed(submission_id)

    def source_deleted(self, source: str) -> int | None:
        """The file is gone: off every screen at once (this is how consent is withdrawn)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT id, retired_at FROM submissions WHERE source=? AND (retired_at IS NULL"
                " OR (retired_reason IS NOT ? AND fingerprint <> ''))",
                (source, RetiredReason.SOURCE_DELETED),
            ).fetchone()
            if row is None:
                return None
            if row["retired_at"]:
                # Retired by a moderator, and now the file is gone too: withdrawn all the same
                # (purged after the window), and no longer a file the watcher looks for.
                db.execute("UPDATE submissions SET fingerprint='' WHERE id=?", (row["id"],))
                self._audit(db, "watcher", "source deleted", row["id"], None)
                return None
            self._retire(db, row["id"], "watcher", RetiredReason.SOURCE_DELETED)
        self._changed(row["id"])
        return row["id"]

    def purge_withdrawn(self, older_than_seconds: float) -> list[str]:
        """Forget what stories whose file was deleted more than `older_than_seconds` ago said
        and showed (a rename can no longer bring them back): the text and fields of every
        revision, and the names of their renditions. The submission (its source) and the
        audit log (who, when) stay. Returns the rendition names no revision uses any more,
        for the caller to delete from the media folder."""
        since = self.now(ago=older_than_seconds)
        with self._tx() as db:
            rows = db.execute(
                "SELECT r.id, r.image, r.thumbnail FROM revisions r"
                " JOIN submissions s ON s.id = r.submission_id"
                " WHERE (s.retired_reason=? OR s.fingerprint='') AND s.retired_at < ?"
                " AND (r.image IS NOT NULL OR r.thumbnail IS NOT NULL OR r.body <> ''"
                " OR r.html <> '' OR r.fields <> ?)",
                (RetiredReason.SOURCE_DELETED, since, _WITHDRAWN_FIELDS),
            ).fetchall()
            if not rows:
                return []
            names = {n for r in rows for n in (r["image"], r["thumbnail"]) if n}
            db.executemany(
                "UPDATE revisions SET fields=?, body='', html='', problems='[]', image=NULL,"
                " thumbnail=NULL WHERE id=?",
                [(_WITHDRAWN_FIELDS, r["id"]) for r in rows],
            )
            # The same photo under another story keeps its renditions (names are content hashes).
            used = {
                n
                for (image, thumbnail) in db.execute(
                    "SELECT image, thumbnail FROM revisions WHERE image IS NOT NULL"
                    " OR thumbnail IS NOT NULL"
                )
                for n in (image, thumbnail)
            }
            # A moderator's edits may have quoted the story: keep which fields, not the words.
            ids = sorted({r["id"] for r in rows})
            marks = ",".join("?" * len(ids))
            for entry in db.execute(
                f"SELECT id, detail FROM audit WHERE action='edit' AND revision_id IN ({marks})",
                ids,
            ).fetchall():
                changed = sorted(json.loads(entry["detail"]).get("changes", {}))
                db.execute(
                    "UPDATE audit SET detail=? WHERE id=?",
                    (json.dumps({"changes": changed}), entry["id"]),
                )
        self._changed()
        return sorted(names - used)

    def _retire(self, db: sqlite3.Connection, sid: int, actor: str, reason: str) -> None:
        db.execute(
            "UPDATE submissions SET retired_at=?, retired_reason=? WHERE id=?",
            (self.now(), reason, sid),
        )
        self._audit(db, actor, "retire", sid, None, reason=reason)
        _refresh(db, sid, self.now())

    def approve(
        self,
        sid: int,
        actor: str,
        revision: int | None = None,
        require_consent: bool = False,
        consent: ConsentTerms | None = None,
    ) -> Submission:
        """Approve the newest revision; it replaces whatever was playing. With `consent`, a
        revision whose consent has already ended is refused (it would leave the screens at once).
        """
        with self._tx() as db:
            sub = _submission_row(db, sid)
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
            if rev["status"] == RevisionStatus.PROBLEM:
                raise Refused("this story has a problem and cannot be shown: " + rev["problems"])
            if require_consent and not json.loads(rev["fields"]).get("consent"):
                raise Refused(
                    "this story has no `consent: yes`: ask the person, then add it to the file"
                )
            if consent is not None:
                _check_consent(db, sid, json.loads(rev["fields"]), consent, self.clock())
            now = self.now()
            if sub["current_revision"] and sub["current_revision"] != rev["id"]:
                db.execute(
                    "UPDATE revisions SET status=? WHERE id=?",
                    (RevisionStatus.SUPERSEDED, sub["current_revision"]),
                )
            db.execute(
                "UPDATE revisions SET status=?, decided_by=?, decided_at=?, reason=NULL WHERE id=?",
                (RevisionStatus.APPROVED, actor, now, rev["id"]),
            )
            db.execute("UPDATE submissions SET current_revision=? WHERE id=?", (rev["id"], sid))
            self._audit(db, actor, "approve", sid, rev["id"])
            _refresh(db, sid, self.now())
        self._changed(sid)
        return self.submission(sid)

    def end_consent(self, sid: int, revision: int, until: str) -> bool:
        """Consent for the revision on screen ran out: it leaves the screens. The submission is
        retired, unless a newer version waits for a moderator (it may renew consent). False
        when that revision is no longer on screen (a moderator acted first)."""
        with self._tx() as db:
            sub = _submission_row(db, sid)
            if sub["current_revision"] != revision or sub["retired_at"]:
                return False
            db.execute("UPDATE submissions SET current_revision=NULL WHERE id=?", (sid,))
            if sub["latest_revision"] == revision:
                db.execute(
                    "UPDATE submissions SET retired_at=?, retired_reason=? WHERE id=?",
                    (self.now(), RetiredReason.CONSENT_ENDED, sid),
                )
            self._audit(db, "kiosk", "consent ended", sid, revision, until=until)
            _refresh(db, sid, self.now())
        self._changed(sid)
        return True

    def reject(self, sid: int, actor: str, reason: str) -> Submission:
        """Reject the newest revision; an approved older one keeps playing."""
        with self._tx() as db:
            sub = _submission_row(db, sid)
            rev_id = sub["latest_revision"]
            if sub["current_revision"] == rev_id:
                # Rejecting what is on screen takes it off.
                db.execute("UPDATE submissions SET current_revision=NULL WHERE id=?", (sid,))
            db.execute(
                "UPDATE revisions SET status=?, decided_by=?, decided_at=?, reason=? WHERE id=?",
                (RevisionStatus.REJECTED, actor, self.now(), reason, rev_id),
            )
            self._audit(db, actor, "reject", sid, rev_id, reason=reason)
            _refresh(db, sid, self.now())
        self._changed(sid)
        return self.submission(sid)

    def retire(self, sid: int, actor: str, reason: str = RetiredReason.BY_MODERATOR) -> Submission:
        with self._tx() as db:
            _submission_row(db, sid)
            db.execute("UPDATE submissions SET current_revision=NULL WHERE id=?", (sid,))
            self._retire(db, sid, actor, reason)
        self._changed(sid)
        return self.submission(sid)

    def patch(self, sid: int, actor: str, changes: Mapping[str, Any]) -> Submission:
        """Fix story fields, focal point, pin or order. Fields apply to the newest revision."""
        with self._tx() as db:
            sub = _submission_row(db, sid)
            rev = db.execute(
                "SELECT * FROM revisions WHERE id=?", (sub["latest_revision"],)
            ).fetchone()
            fields = json.loads(rev["fields"])
            fields.update({k: v for k, v in changes.items() if k in EDITABLE})
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
            _refresh(db, sid, self.now())
        self._changed(sid)
        return self.submission(sid)
