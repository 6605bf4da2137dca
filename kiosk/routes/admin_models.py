"""The admin API's request and response models: what `/api/admin/...` reads and answers.

The story fields come from kiosk.model (the one model of a story), so a new field reaches the
schema, the validation and the OpenAPI document without being written here again.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from ..model import FIELDS, STORY_FIELDS, TEXT_LIMITS, FocalPoint, Kind, StoryField
from ..schedule import SILENT_SECONDS, story_date


class Problem(BaseModel):
    detail: str


class LoginIn(BaseModel):
    # Bounded, so a megabyte "user name" is refused before it is hashed or logged.
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class UserOut(BaseModel):
    name: str
    role: str
    created_at: str | None = None


class LoginOut(BaseModel):
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every unsafe request.")
    user: UserOut


class Decision(BaseModel):
    by: str | None = None
    at: str | None = None
    reason: str | None = None


def _description(f: StoryField) -> str | None:
    if f.kind is Kind.DATE:
        return f"YYYY-MM-DD[THH:MM]; {f.hint}" if f.hint else "YYYY-MM-DD[THH:MM]"
    return f.hint or None


# Each kind of story field as the API answers it, with the value a revision recorded before the
# field existed gets. The photo is not among them: a revision has its `photo_path` instead.
_ANSWERED: dict[Kind, tuple[Any, Any]] = {
    Kind.TEXT: (str, ""),
    Kind.BODY: (str, ""),
    Kind.DATE: (str | None, None),
    Kind.TAGS: (list[str], []),
    Kind.BOOL: (bool, False),
    Kind.FLAG: (bool, False),
    Kind.EXTRA: (dict[str, Any], {}),
}
_answered: dict[str, Any] = {
    f.name: (_ANSWERED[f.kind][0], Field(_ANSWERED[f.kind][1], description=_description(f)))
    for f in STORY_FIELDS
    if f.kind in _ANSWERED
}
StoryOut = create_model("StoryOut", **_answered)


class Revision(StoryOut):  # type: ignore[misc, valid-type]  # fields from kiosk.model
    """One version of a story, with media as URLs a moderator's browser can load."""

    revision: int
    hash: str
    status: str
    html: str = ""
    problems: list[str] = []
    text_path: str | None = None
    photo_path: str | None = None
    image: str | None = Field(None, description="URL of the display rendition")
    thumbnail: str | None = Field(None, description="URL of the small admin thumbnail")
    width: int | None = None
    height: int | None = None
    focal: tuple[float, float] = FocalPoint().pair()
    created_at: str
    decision: Decision | None = None


class PlayPeriod(BaseModel):
    plays: int = Field(description="How often its first page came on a screen")
    screens: int = Field(description="On how many screens")
    hours: float = Field(description="Hours on the wall, every page counted")


class PlayStats(BaseModel):
    """Proof of play, from the screens' reports: counts only."""

    week: PlayPeriod = Field(description="Since Monday, in the configured time zone")
    month: PlayPeriod = Field(description="Since the 1st")
    total: PlayPeriod
    first_day: str | None = Field(description="The first day it was counted, YYYY-MM-DD")


class Submission(Revision):
    """A submission with its newest revision's fields; `on_screen` is the approved revision
    that keeps playing while a newer one waits for a decision."""

    id: int
    source: str
    revision_status: str | None = None
    owner: str = ""
    pinned: bool = False
    position: float = 0
    submitted_at: str = Field(description="when the newest revision arrived")
    updated_at: str
    retired_at: str | None = None
    retired_reason: str | None = None
    current_revision: int | None = None
    on_screen: Revision | None = None
    consent_ends: str | None = Field(
        None, description="the last day (or time) of consent; the story leaves the screens after"
    )
    consent_notice: str | None = Field(
        None, description="in the last 30 days of consent for a story on the screens: what to do"
    )
    previous_rejection: Decision | None = Field(
        None, description="a resubmission: the decision on the revision rejected before it"
    )
    plays: PlayStats | None = Field(
        None, description="in the list: how often screens showed it; null if never"
    )


class SubmissionList(BaseModel):
    submissions: list[Submission]
    next: str | None = Field(
        None, description="pass it as `after` for the next page; null on the last page"
    )


class Counts(BaseModel):
    """How many stories each tab of the admin page lists."""

    pending: int
    approved: int = Field(description="stories a screen plays, a newer version pending or not")
    rejected: int
    problem: int


class ApproveIn(BaseModel):
    revision: int | None = Field(
        None, description="the revision the moderator looked at; 409 if a newer one exists"
    )


class RejectIn(BaseModel):
    reason: str

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("write a reason, so the person who dropped the file knows what to fix")
        if len(value) > 500:
            raise ValueError("keep the reason under 500 characters")
        return value


def one_line(value: str) -> str:
    """A header value is one line: a newline in a story file would start a field of its own."""
    return " ".join(value.split())


def _iso_date(value: str, key: str) -> str:
    try:
        return story_date(value)
    except ValueError:
        raise ValueError(
            f"{key} must be a date like 2026-12-01 (a time may follow: 2026-12-01T08:00)"
        ) from None


# What a moderator may send for each kind of editable story field (see StoryField.editable).
_EDITED: dict[Kind, Any] = {
    Kind.TEXT: str | None,
    Kind.DATE: str | None,
    Kind.TAGS: list[str] | None,
}


def _editable(kind: Kind) -> tuple[str, ...]:
    return tuple(f.name for f in STORY_FIELDS if f.editable and f.kind is kind)


_edited: dict[str, Any] = {
    f.name: (_EDITED[f.kind], Field(None, description=_description(f)))
    for f in STORY_FIELDS
    if f.editable
}
StoryPatch = create_model("StoryPatch", __config__=ConfigDict(extra="forbid"), **_edited)


class SubmissionPatch(StoryPatch):  # type: ignore[misc, valid-type]  # fields from kiosk.model
    """Only the fields sent change; `null` clears an optional text or date. Text fields, dates
    and tags change the newest revision; `pinned` and `position` the whole submission."""

    focal: list[Any] | None = Field(None, description="[x, y], fractions 0..1 of the photo")
    pinned: StrictBool | None = None
    position: float | None = Field(None, allow_inf_nan=False, description="lower plays first")

    @field_validator(*_editable(Kind.TEXT))
    @classmethod
    def _text(cls, value: str | None, info: ValidationInfo) -> str:
        text = one_line(value or "")
        field = FIELDS[str(info.field_name)]
        if field.required and not text:
            raise ValueError(f"the {field.label.lower()} cannot be empty")
        limit = TEXT_LIMITS[field.name]
        if len(text) > limit:
            raise ValueError(f"keep it under {limit} characters")
        return text

    @field_validator(*_editable(Kind.DATE))
    @classmethod
    def _date(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _iso_date(value.strip(), str(info.field_name)) if value and value.strip() else None

    @field_validator(*_editable(Kind.TAGS))
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str]:
        return list(dict.fromkeys(t for t in (one_line(v).lower() for v in value or ()) if t))

    @field_validator("focal")
    @classmethod
    def _focal(cls, value: list[Any] | None) -> list[float]:
        return list(FocalPoint.parse(value).pair())

    @field_validator("pinned", "position")
    @classmethod
    def _required(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null")
        return value

    @model_validator(mode="after")
    def _something(self) -> SubmissionPatch:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    submission_id: int | None = None
    revision_id: int | None = None
    source: str | None = None
    name: str | None = None
    detail: dict[str, Any] = {}


class AuditList(BaseModel):
    entries: list[AuditEntry]


class Screen(BaseModel):
    name: str
    last_seen: str
    silent_seconds: float
    silent: bool = Field(description=f"no heartbeat for more than {SILENT_SECONDS} s")
    slide: str | None = None
    showing: str | None = Field(None, description="the name on the slide it last showed")
    version: str | None = None
    address: str | None = None
    accepted: bool = Field(
        description="named in [screens.NAME] or accepted by a moderator; others may be invented"
    )
    other_address: str | None = Field(
        None,
        description=f"another address that sent this name in the last {SILENT_SECONDS} s: "
        "two screens are using the same name",
    )


class ScreenList(BaseModel):
    screens: list[Screen]


class Preview(BaseModel):
    """Shaped like /api/playlist, with one slide: the player shows it as on the wall."""

    version: str
    quiet: bool = False
    preview: bool = True
    theme: str
    slides: list[dict[str, Any]]


class UserIn(BaseModel):
    username: str
    role: Literal["moderator", "admin"] = "moderator"
    password: str


class UserList(BaseModel):
    users: list[UserOut]


# ---- helpers -----------------------------------------------------------------------------
