"""The ingest pipeline: an Entry -> `prepare` (story + photo renditions) -> `record` (a revision).

`prepare` reads files and writes renditions but never touches the library, so the watcher runs it
in a thread pool and `kiosk check` runs it with no database at all. `record` is the one step that
writes to the library; the watcher calls it on its own thread, one entry at a time.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import pwd
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from ..library import Library, Recorded
from ..model import STORY_FIELDS, FocalPoint, StoryFields
from ..settings import Settings
from .images import PhotoProblem, Rendition
from .isolated import render_and_frame
from .story import Entry, Story, bare_stem, read_story

log = logging.getLogger(__name__)


class NotSettled(Exception):
    """The file looks half-written (a photo that does not decode yet); try again later."""


class StorageFull(OSError):
    """The data folder has no room for renditions: the server's problem, not the file's."""


STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


@dataclass(frozen=True)
class Limits:
    """What the pipeline accepts and makes, in bytes and pixels (Settings says KB, MB)."""

    text_bytes: int
    photo_bytes: int
    photo_pixels: int
    display_px: int  # long side of the display rendition
    thumb_px: int  # long side of the admin thumbnail
    photo_memory_bytes: int  # what one photo's decode may allocate

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            text_bytes=settings.max_text_bytes,
            photo_bytes=settings.max_photo_bytes,
            photo_pixels=settings.max_pixels,
            display_px=settings.display_max_px,
            thumb_px=settings.thumb_px,
            photo_memory_bytes=settings.photo_memory_mb * 2**20,
        )

    def render_sizes(self) -> dict[str, int]:
        """`render_photo`'s keyword arguments: the renditions' sizes and what a photo may be."""
        return {
            "max_px": self.display_px,
            "thumb_px": self.thumb_px,
            "max_bytes": self.photo_bytes,
            "max_pixels": self.photo_pixels,
        }


@dataclass
class Prepared:
    """Everything about an entry that goes into the library, computed off the watcher thread."""

    entry: Entry
    story: Story
    rendition: Rendition | None
    problems: list[str] = field(default_factory=list)
    text_path: str | None = None  # as staff see it on the share; None outside the content folder
    photo_path: str | None = None
    owner: str = ""
    # Where the face is, once the search that goes on after rendering ends (None: no face, no
    # OpenCV, or the search failed); None here: no photo. `record` stores the default framing.
    framing: Future[FocalPoint | None] | None = None

    @property
    def revision_hash(self) -> str:
        h = hashlib.sha256(self.story.text_bytes)
        h.update(b"\0" + (self.rendition.photo_hash if self.rendition else "").encode())
        return h.hexdigest()

    def fields(self) -> StoryFields:
        """The story's fields as a revision keeps them."""
        values = {f.name: getattr(self.story, f.name) for f in STORY_FIELDS if f.in_fields}
        values["tags"] = list(self.story.tags)  # a list, as JSON gives it back
        return cast(StoryFields, values)


def prepare(
    entry: Entry,
    limits: Limits,
    *,
    media_dir: Path,
    content_dir: Path,
    grace_seconds: float = 0.0,
    frame: bool = True,
) -> Prepared:
    """Read the story and render its photo (and, if `frame`, look for the face in it); bad
    input becomes problems, never an exception.

    Raises NotSettled for a photo that fails but was touched less than `grace_seconds` ago, and
    StorageFull when `media_dir` has no room. `content_dir` must be resolved, as the scanner's is.
    """
    story = read_story(entry, limits.text_bytes)
    problems = list(story.problems)
    rendition = framing = None
    if story.photo is not None:
        try:
            rendition, framing = _render(story.photo, media_dir, limits, frame)
        except PhotoProblem as exc:
            # A photo written moments ago may still be arriving; one "from the future"
            # (the clock jumped back) is treated as old, or it would wait forever.
            if grace_seconds and 0 <= _age(story.photo) < grace_seconds:
                raise NotSettled(str(exc)) from exc
            problems.append(str(exc))
    elif not problems:
        problems.append(_no_photo(entry))
    return Prepared(
        entry,
        story,
        rendition,
        problems,
        text_path=relative(entry.text, content_dir),
        photo_path=relative(story.photo, content_dir),
        owner=file_owner(entry.text or entry.photo),
        framing=framing,
    )


def _no_photo(entry: Entry) -> str:
    """Names the photo the story expects, so its owner can compare it with what they dropped."""
    text = entry.text.name if entry.text is not None else entry.source
    expected = f"{bare_stem(text)}.jpg"
    if entry.source.rsplit("/", 1)[-1] != text:  # a story folder: the photo may have any name
        return (
            f"{entry.source}/ has no photo: put one in the folder (for example {expected}) "
            "or name one in a `photo:` line"
        )
    return (
        f"{entry.source} has no photo: put a photo named {expected} next to it "
        "or name one in a `photo:` line"
    )


def record(library: Library, prepared: Prepared) -> Recorded:
    """Store a prepared entry as a revision; content the library already has adds none."""
    entry, story = prepared.entry, prepared.story
    result = library.record_revision(
        entry.source,
        prepared.revision_hash,
        prepared.fields(),
        body=story.body,
        html=story.html,
        problems=prepared.problems,
        text_path=prepared.text_path,
        photo_path=prepared.photo_path,
        rendition=prepared.rendition,
        fingerprint=entry.fingerprint,
        owner=prepared.owner,
    )
    if result.created:
        log.info(
            "%s: %s%s",
            entry.source,
            result.status,
            f" ({'; '.join(prepared.problems)})" if prepared.problems else "",
        )
    return result


def relative(path: Path | None, content_dir: Path) -> str | None:
    """The path as staff see it on the share; None for one outside the content folder."""
    if path is None:
        return None
    try:
        return path.resolve().relative_to(content_dir).as_posix()
    except ValueError:
        return None


def file_owner(path: Path | None) -> str:
    """The user who owns the file (on a Samba share: the person who dropped it), when known."""
    if path is None:
        return ""
    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except (KeyError, OSError):
        return ""


def _render(
    photo: Path, media_dir: Path, limits: Limits, frame: bool
) -> tuple[Rendition, Future[FocalPoint | None] | None]:
    try:
        return render_and_frame(photo, media_dir, limits, frame=frame)
    except OSError as exc:
        if exc.errno in STORAGE_ERRNOS:
            raise StorageFull(
                exc.errno,
                f"cannot write photo renditions to {media_dir}: "
                f"{exc.strerror}. Free some space there; the photo will be processed then",
            ) from exc
        raise


def _age(path: Path) -> float:
    try:
        return time.time() - os.stat(path).st_mtime
    except OSError:
        return 0.0
