"""What a story is, once: its fields, the statuses of a submission and a revision, the focal
point, and the records the library hands out.

Everything else derives from this module: the story reader's header keys, the library's stored
fields, the admin API's models and limits, the playlist slide, and the field table that the
admin page and the /submit form get from the server (they never keep a copy of their own).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, TypedDict


class Kind(StrEnum):
    """What a field holds, which decides how it is read, checked, stored and shown."""

    TEXT = "text"  # one line, at most `limit` characters
    BODY = "body"  # the story itself: Markdown under the header
    PHOTO = "photo"  # the header that names the photo file
    DATE = "date"  # YYYY-MM-DD, a time may follow
    TAGS = "tags"  # lower-case words; a screen with tags shows only stories with one of them
    BOOL = "bool"  # yes or no, written in the header
    FLAG = "flag"  # yes or no, worked out by the reader rather than written
    EXTRA = "extra"  # header keys the kiosk does not know, kept for themes


@dataclass(frozen=True)
class StoryField:
    name: str  # as in the file header, the JSON and the form
    label: str  # for people: the admin page and the /submit form
    kind: Kind
    limit: int | None = None  # longest value in characters (TEXT only)
    required: bool = False  # a story cannot be shown without it
    editable: bool = False  # moderators may change it (PATCH); consent only ever comes from a file
    hint: str = ""  # what to write, for the person filling it in
    example: str = ""

    def __post_init__(self) -> None:
        if (self.kind is Kind.TEXT) != (self.limit is not None):
            raise ValueError(f"{self.name}: a text field needs a limit, and only a text field")

    @property
    def in_header(self) -> bool:
        """Read from the header of a story file."""
        return self.kind not in (Kind.BODY, Kind.FLAG, Kind.EXTRA)

    @property
    def in_fields(self) -> bool:
        """Kept in a revision's `fields`; the body and the photo have columns of their own."""
        return self.kind not in (Kind.BODY, Kind.PHOTO)


# In the order people read them: the admin page's tables and the /submit form keep it.
STORY_FIELDS = (
    StoryField("name", "Name", Kind.TEXT, 120, required=True, editable=True),
    StoryField("role", "Role", Kind.TEXT, 200, editable=True, example="Swing-shift foreman"),
    StoryField("organization", "Organization", Kind.TEXT, 200, editable=True),
    StoryField("location", "Location", Kind.TEXT, 200, editable=True, example="Yakima, Washington"),
    StoryField(
        "quote",
        "Quote",
        Kind.TEXT,
        300,
        editable=True,
        hint="one sentence in their own words, shown large",
    ),
    StoryField("body", "Story", Kind.BODY, hint="three to five sentences"),
    StoryField("photo", "Photo", Kind.PHOTO, required=True, hint="JPEG, PNG, HEIC or WebP"),
    StoryField(
        "photo_alt",
        "Photo description",
        Kind.TEXT,
        300,
        editable=True,
        hint="for people who cannot see it",
        example="Smiling, in a yellow safety vest",
    ),
    StoryField("start", "Start", Kind.DATE, editable=True, hint="shown from then on"),
    StoryField("end", "End", Kind.DATE, editable=True, hint="a bare date lasts all day"),
    StoryField("tags", "Tags", Kind.TAGS, editable=True),
    StoryField("consent", "Consent", Kind.BOOL),
    StoryField("consent_date", "Consent given", Kind.DATE, hint="the day the customer agreed"),
    StoryField("consent_until", "Consent until", Kind.DATE, hint="leaves the screens after it"),
    StoryField("needs_story", "Needs a story", Kind.FLAG),
    StoryField("extra", "Other header fields", Kind.EXTRA),
)
FIELDS = {f.name: f for f in STORY_FIELDS}
TEXT_FIELDS = tuple(f for f in STORY_FIELDS if f.kind is Kind.TEXT)
# Longest text field values, for the API and the /submit form alike.
TEXT_LIMITS = {f.name: f.limit for f in TEXT_FIELDS if f.limit is not None}
HEADER_KEYS = frozenset(f.name for f in STORY_FIELDS if f.in_header)
EDITABLE = frozenset(f.name for f in STORY_FIELDS if f.editable)


def field_table() -> list[dict[str, Any]]:
    """The fields as the browser gets them (the admin page's config, the /submit form)."""
    return [asdict(f) for f in STORY_FIELDS]


class Status(StrEnum):
    """A submission's status: derived from its revisions by the library, one rule."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    PROBLEM = "problem"
    RETIRED = "retired"


class RevisionStatus(StrEnum):
    """One revision's status. A revision is superseded by a newer one that arrived while it
    waited, or by a newer approval while it was on screen."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    PROBLEM = "problem"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class FocalPoint:
    """Where `object-fit: cover` keeps the photo's subject; fractions of width and height.
    Screens crop with it (CSS `object-position`); a new photo starts at the default."""

    x: float = 0.5
    y: float = 0.3  # upper-middle: where the face is in most portraits

    def pair(self) -> tuple[float, float]:
        return (self.x, self.y)

    @classmethod
    def parse(cls, value: object) -> FocalPoint:
        """From `[x, y]` as stored in the database or sent by the admin page."""
        problem = ValueError("focal point must be two numbers between 0 and 1")
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise problem
        # bool is an int, but `[true, false]` is a client bug, not a position
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            raise problem
        x, y = (float(v) for v in value)
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):  # also rejects NaN
            raise problem
        return cls(x, y)


# ---- the records the library returns --------------------------------------------------------
# Typed dicts rather than classes: they are what SQLite rows and JSON become, and the API
# validates them into its response models. A test holds their keys to STORY_FIELDS.
class StoryFields(TypedDict):
    """A revision's `fields` (every field with `in_fields`)."""

    name: str
    role: str
    organization: str
    location: str
    quote: str
    photo_alt: str
    start: str | None
    end: str | None
    tags: list[str]
    consent: bool
    consent_date: str | None
    consent_until: str | None
    needs_story: bool
    extra: dict[str, Any]


class Decision(TypedDict):
    by: str
    at: str
    reason: str | None


class _Content(StoryFields):
    """What one revision shows, and where it came from."""

    revision: int
    hash: str
    body: str
    html: str
    problems: list[str]
    text_path: str | None
    photo_path: str | None
    image: str | None  # file names inside media_dir
    thumbnail: str | None
    width: int | None
    height: int | None
    focal: list[float]  # [x, y], see FocalPoint


class Revision(_Content):
    status: RevisionStatus
    created_at: str
    decision: Decision | None


class OnScreen(Revision):
    """An approved revision on the screens, with its submission's id, pin and first approval
    (consent without a date counts from it)."""

    id: int
    pinned: bool
    position: float  # the moderators' order
    first_approved: str | None
    updated_at: str  # the submission's: when anything about it last changed


class Submission(_Content):
    """A submission with its newest revision's content; `on_screen` is the approved revision
    playing (the newest itself, or an older one while a newer waits), None when none is."""

    id: int
    source: str
    status: Status
    revision_status: RevisionStatus  # the newest revision's
    decision: Decision | None  # of the newest revision
    submitted_at: str  # when the newest revision arrived
    created_at: str
    updated_at: str
    owner: str
    pinned: bool
    position: float
    retired_at: str | None
    retired_reason: str | None
    current_revision: int | None
    first_approved: str | None  # when a moderator first approved any of its revisions
    on_screen: Revision | None
    # the newest rejection before the newest revision: the story came back after it
    previous_rejection: Decision | None
