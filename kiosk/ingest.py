"""The ingest pipeline: a settled file -> story -> photo renditions -> a revision in the library."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import pwd
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .images import PhotoProblem, Rendition, render_photo
from .library import Library, Recorded
from .settings import Settings
from .stories import Entry, Story, read_story

log = logging.getLogger(__name__)


class NotSettled(Exception):
    """The file looks half-written (a photo that does not decode yet); try again later."""


class StorageFull(OSError):
    """The data folder has no room for renditions: the server's problem, not the file's."""


STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


@dataclass
class Prepared:
    """Everything about an entry that goes into the library, computed off the event loop."""

    entry: Entry
    story: Story
    rendition: Rendition | None
    problems: list[str] = field(default_factory=list)

    @property
    def revision_hash(self) -> str:
        h = hashlib.sha256(self.story.text_bytes)
        h.update(b"\0" + (self.rendition.photo_hash if self.rendition else "").encode())
        return h.hexdigest()

    def fields(self) -> dict[str, Any]:
        s = self.story
        return {
            "name": s.name,
            "role": s.role,
            "organization": s.organization,
            "location": s.location,
            "quote": s.quote,
            "photo_alt": s.photo_alt,
            "start": s.start,
            "end": s.end,
            "tags": list(s.tags),
            "consent": s.consent,
            "needs_story": s.needs_story,
            "extra": s.extra,
        }


def file_owner(path: Path | None) -> str:
    """The user who owns the file (on a Samba share: the person who dropped it), when known."""
    if path is None:
        return ""
    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except (KeyError, OSError):
        return ""


class Ingestor:
    """Turns entries found by the scanner into revisions. Thread-safe; one bad file stays local."""

    def __init__(self, settings: Settings, library: Library) -> None:
        self.settings = settings
        self.library = library
        self.content_dir = settings.content_dir.resolve()

    def prepare(self, entry: Entry, grace_seconds: float = 0.0) -> Prepared:
        """Read and render; raises NotSettled for a photo that fails but was touched just now."""
        story = read_story(entry, self.settings.max_text_kb * 1024)
        problems = list(story.problems)
        rendition = None
        if story.photo is not None:
            try:
                rendition = render_photo(
                    story.photo,
                    self.settings.media_dir,
                    max_px=self.settings.display_max_px,
                    thumb_px=self.settings.thumb_px,
                    max_bytes=int(self.settings.max_photo_mb * 1024 * 1024),
                    max_pixels=int(self.settings.max_megapixels * 1_000_000),
                )
            except PhotoProblem as exc:
                # A photo written moments ago may still be arriving; one "from the future"
                # (the clock jumped back) is treated as old, or it would wait forever.
                if grace_seconds and 0 <= _age(story.photo) < grace_seconds:
                    raise NotSettled(str(exc)) from exc
                problems.append(str(exc))
            except OSError as exc:
                if exc.errno in STORAGE_ERRNOS:
                    raise StorageFull(
                        exc.errno,
                        f"cannot write photo renditions to {self.settings.media_dir}: "
                        f"{exc.strerror}. Free some space there; the photo will be processed then",
                    ) from exc
                raise
        elif not problems:
            problems.append(
                f"{entry.source} has no photo: put a photo with the same name next to it "
                "(for example babette-ruiz.jpg) or name one in a `photo:` line"
            )
        return Prepared(entry, story, rendition, problems)

    def record(self, prepared: Prepared) -> Recorded:
        entry, story = prepared.entry, prepared.story
        result = self.library.record_revision(
            entry.source,
            prepared.revision_hash,
            prepared.fields(),
            body=story.body,
            html=story.html,
            problems=prepared.problems,
            text_path=self.relative(entry.text),
            photo_path=self.relative(story.photo),
            rendition=prepared.rendition,
            fingerprint=entry.fingerprint,
            owner=file_owner(entry.text or entry.photo),
        )
        if result.created:
            log.info(
                "%s: %s%s",
                entry.source,
                result.status,
                f" ({'; '.join(prepared.problems)})" if prepared.problems else "",
            )
        return result

    def ingest(self, entry: Entry) -> Recorded:
        """The whole pipeline for one entry."""
        return self.record(self.prepare(entry))

    def relative(self, path: Path | None) -> str | None:
        """The path as staff see it on the share; None for one outside the content folder."""
        if path is None:
            return None
        try:
            return path.resolve().relative_to(self.content_dir).as_posix()
        except ValueError:
            return None


def _age(path: Path) -> float:
    try:
        return time.time() - os.stat(path).st_mtime
    except OSError:
        return 0.0
