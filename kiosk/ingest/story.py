"""Entry (the files of one submission) -> Story (what a screen shows).

Staff write these files by hand on Windows and Macs and drop them on a share, so everything here
expects odd encodings and forgotten header lines (YAML, TOML or plain `key: value`), and turns each
into a sentence the person who dropped the file can act on.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from ..model import HEADER_KEYS
from ..schedule import ends_before_start
from .header import Header, field_key, parse_header

# A submission is a story text, a photo or both; the suffix tells which a file is (in any case:
# cameras write .JPG). .mpo is a JPEG with a second frame, .hif Canon's HEIF, .avifs an AVIF
# sequence: the first picture of each is the photo.
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".mpo", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
    | {".heic", ".heif", ".hif", ".avif", ".avifs"}
)
TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
_STORY_SUFFIXES = IMAGE_SUFFIXES | TEXT_SUFFIXES

_YES = frozenset({"yes", "true", "y", "1", "ja", "oui"})
_OPEN_QUOTES = "\"'“”„«‘‚"
_CLOSE_QUOTES = "\"'”“»’‘"

# A plain header line; the lookahead keeps a first line such as "https://..." in the body.
_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")

_MARKDOWN = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True)
class Entry:
    """One candidate submission found in the content folder (stat only + photo pairing).

    `scan.Scanner` makes these and `read_story` reads them; it is defined here, beside its reader,
    so that the scanner can ask this module about `photo:` headers without an import circle.
    """

    source: str
    text: Path | None
    photo: Path | None
    fingerprint: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Story:
    """One submission as its files tell it: what screens and the admin page show."""

    source: str
    name: str
    role: str = ""
    organization: str = ""
    location: str = ""
    quote: str = ""
    photo_alt: str = ""
    body: str = ""
    html: str = ""
    photo: Path | None = None
    start: str | None = None
    end: str | None = None
    tags: tuple[str, ...] = ()
    consent: bool = False
    consent_date: str | None = None
    consent_until: str | None = None
    needs_story: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    text_bytes: bytes = b""


def bare_stem(name: str) -> str:
    """`jordan-alvarez.md.txt` -> `jordan-alvarez`: every story or photo suffix comes off, since
    Windows and macOS hide the one they add and people then type their own in front of it."""
    stem, suffix = os.path.splitext(name)
    while stem and suffix.lower() in _STORY_SUFFIXES:
        name = stem
        stem, suffix = os.path.splitext(name)
    return name


def name_from_filename(path: Path) -> str:
    """`babette-ruiz_2.jpg` -> `Babette Ruiz`: a best guess that a moderator can correct."""
    stem = bare_stem(path.name)
    # Digits are copy counters ("(2)", "_2"), not part of anybody's name.
    words = [w for w in re.split(r"[\s_.()\-]+", stem) if w and not w.isdigit()]
    if not words:
        return stem
    return " ".join(w.title() if w.islower() else w for w in words)


def photo_field(path: Path, max_text_bytes: int) -> str:
    """The `photo:` header of the story text at `path` ("" when there is none or it is unreadable).

    The scanner needs it to pair the photo; everything else in the file is read_story's job.
    """
    try:
        raw, size = _read_text_bytes(path, max_text_bytes)
    except OSError:
        return ""
    text = None if _unreadable("", raw, size, max_text_bytes) else _decode(raw)
    if text is None:
        return ""
    return _as_text(parse_header(text, "").fields.get("photo"))


def read_story(entry: Entry, max_text_bytes: int) -> Story:
    """Everything a screen and the admin page need from one entry; bad input becomes problems."""
    fallback = name_from_filename(Path(entry.source))
    if entry.text is None:
        return Story(
            entry.source,
            fallback,
            photo=entry.photo,
            needs_story=entry.photo is not None,
            problems=entry.problems,
        )
    label = _text_label(entry)
    try:
        raw, size = _read_text_bytes(entry.text, max_text_bytes)
    except OSError as exc:
        problem = (
            f"{label} could not be read ({exc.strerror or exc}); check that it is not still "
            "being copied or open in another program"
        )
        return Story(entry.source, fallback, photo=entry.photo, problems=(*entry.problems, problem))
    problem = _unreadable(label, raw, size, max_text_bytes)
    text = None if problem else _decode(raw)
    if text is None:
        problem = problem or (
            f"{label} does not look like text (it holds binary data); "
            "save it as plain text (.md or .txt)"
        )
        return Story(
            entry.source,
            fallback,
            photo=entry.photo,
            problems=(*entry.problems, problem),
            text_bytes=raw,
        )
    return _story(entry, parse_header(text, label), label, fallback, raw)


def _text_label(entry: Entry) -> str:
    """The text file's path as staff see it in the share, for problem messages."""
    assert entry.text is not None
    if entry.source.rsplit("/", 1)[-1] == entry.text.name:
        return entry.source
    return f"{entry.source}/{entry.text.name}"


def _read_text_bytes(path: Path, max_text_bytes: int) -> tuple[bytes, int]:
    """The first max_text_bytes + 1 bytes (enough to tell "too long") and the file's size."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        return fh.read(max_text_bytes + 1), size


def _kb(n: int) -> str:
    return f"{-(-n // 1024)} KB"


def _unreadable(label: str, raw: bytes, size: int, max_text_bytes: int) -> str:
    if len(raw) > max_text_bytes:
        return (
            f"{label} is {_kb(max(size, len(raw)))}; "
            f"stories must be under {_kb(max_text_bytes)} — shorten it"
        )
    if not raw:
        return (
            f"{label} is empty; write the story in it (starting with `name: Full Name`) "
            "or delete it"
        )
    return ""


def _decode(raw: bytes) -> str | None:
    """Text with \\n line endings, or None when no encoding a desktop editor writes fits."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # Notepad's "Unicode"; the codec reads the BOM for the byte order
    elif raw.count(0) > len(raw) // 4:
        # UTF-16 without a BOM: half the bytes of Latin text are NUL, on the high-byte side.
        encoding = "utf-16-le" if raw[1::2].count(0) >= raw[0::2].count(0) else "utf-16-be"
    elif 0 in raw:
        return None
    else:
        encoding = "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8-sig":
            return None
        # Not UTF-8, so an older Windows editor; replacing its five undefined bytes beats
        # refusing the story.
        text = raw.decode("cp1252", errors="replace")
    if "\0" in text:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _story(entry: Entry, parsed: Header, label: str, fallback: str, raw: bytes) -> Story:
    fields = parsed.fields
    problems = [*entry.problems, *parsed.problems]
    name = _as_text(fields.get("name"))
    if not name and not parsed.problems:
        problems.append(f"{label} has no name; add a line `name: Full Name` at the top")
    start = _date_field(fields, "start", label, problems)
    end = _date_field(fields, "end", label, problems)
    if start and end and ends_before_start(start, end):
        problems.append(
            f"{label}: end ({end}) is before start ({start}); fix the dates so the story "
            "has days to be shown"
        )
    # A blank line after the header is a separator, not part of the story.
    body = re.sub(r"\A(?:[ \t]*\n)+", "", parsed.body).rstrip()
    return Story(
        source=entry.source,
        name=name or fallback,
        role=_as_text(fields.get("role")),
        organization=_as_text(fields.get("organization")),
        location=_as_text(fields.get("location")),
        quote=_unquote(_as_text(fields.get("quote"))),
        photo_alt=_as_text(fields.get("photo_alt")),
        body=body,
        html=_MARKDOWN.render(body) if body else "",
        photo=entry.photo,
        start=start,
        end=end,
        tags=_tags(fields.get("tags")),
        consent=_as_bool(fields.get("consent")),
        consent_date=_date_field(fields, "consent_date", label, problems),
        consent_until=_date_field(fields, "consent_until", label, problems),
        needs_story=not body,
        extra={k: _plain(v) for k, v in fields.items() if k not in HEADER_KEYS},
        problems=tuple(problems),
        text_bytes=raw,
    )


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date | time):
        return _plain(value)
    if isinstance(value, list | tuple):
        return ", ".join(t for t in (_as_text(v) for v in value) if t)
    return str(value).strip()


def _plain(value: Any, depth: int = 0) -> Any:
    """A JSON-friendly copy for themes; nesting is capped because nobody needs it deep."""
    if isinstance(value, datetime):
        # Story times are wall-clock times where the screens hang; an offset would only confuse.
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if depth > 8:
        return None
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {field_key(k): _plain(v, depth + 1) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def _unquote(quote: str) -> str:
    if len(quote) >= 2 and quote[0] in _OPEN_QUOTES and quote[-1] in _CLOSE_QUOTES:
        return quote[1:-1].strip()
    return quote


def _tags(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else _as_text(value).split(",")
    tags: list[str] = []
    for item in items:
        tag = _as_text(item).lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _as_text(value).lower() in _YES


def _date_field(fields: dict[str, Any], key: str, label: str, problems: list[str]) -> str | None:
    """The date as stored (ISO, as `schedule.story_date` writes it), or None with a problem."""
    value = fields.get(key)
    if value is None or value == "":
        return None
    when = _when(value)
    if when is None:
        problems.append(
            f"{label}: {key}: {_as_text(value)} is not a date; write it as YYYY-MM-DD, "
            "for example 2026-12-01 (a time may follow: 2026-12-01 08:00)"
        )
        return None
    return when.isoformat()


def _when(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return value
    match = _DATE_RE.fullmatch(_as_text(value))
    if not match:
        return None
    y, mo, d, h, mi, s = match.groups()  # the regex makes minutes part of any time
    try:
        if h is None:
            return date(int(y), int(mo), int(d))
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
    except ValueError:
        return None
