"""Story files -> Entry (what the content folder holds) -> Story (what a screen shows).

Staff write these files by hand on Windows and Macs and drop them on a share, so everything here
expects odd encodings, forgotten header lines, stray lock files and hostile links, and turns each
into a sentence the person who dropped the file can act on.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
    | {".heic", ".heif", ".avif"}
)
TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})

NOT_A_STORY = (
    "ignored: not a story file (save stories as .md or .txt, photos as .jpg, .png or .heic)"
)

# Litter from operating systems, NAS boxes, editors and browsers; suffix rules live in is_ignored.
_JUNK_NAMES = frozenset(
    {
        "kiosk.toml",  # the config `kiosk init` puts beside the stories
        "thumbs.db",
        "ehthumbs.db",
        "desktop.ini",
        "icon\r",
        "$recycle.bin",
        "system volume information",
        "lost+found",
        "@eadir",
    }
)
_JUNK_SUFFIXES = (".tmp", ".part", ".crdownload", ".swp")

_FIELDS = frozenset(
    {
        "name",
        "role",
        "organization",
        "location",
        "quote",
        "photo",
        "photo_alt",
        "start",
        "end",
        "tags",
        "consent",
    }
)
_ALIASES = {"company": "organization", "organisation": "organization"}
_YES = frozenset({"yes", "true", "y", "1", "ja", "oui"})
_OPEN_QUOTES = "\"'“”„«‘‚"
_CLOSE_QUOTES = "\"'”“»’‘"

# A plain header line; the lookahead keeps a first line such as "https://..." in the body.
_FIELD_RE = re.compile(r"([A-Za-z][A-Za-z0-9 _-]{0,39}?)[ \t]*:(?!//)[ \t]*(.*)")
_SIMPLE_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_TOML_AT_RE = re.compile(r"(.*) \(at line (\d+), column \d+\)")

_MARKDOWN = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True)
class Entry:
    """One candidate submission found in the content folder (stat only + photo pairing)."""

    source: str
    text: Path | None
    photo: Path | None
    fingerprint: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scan:
    """What one pass over the content folder found."""

    entries: list[Entry]
    ignored: list[tuple[str, str]]

    def files(self) -> set[Path]:
        """Every file that is part of an entry."""
        return {p for e in self.entries for p in (e.text, e.photo) if p is not None}


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
    needs_story: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    text_bytes: bytes = b""


def is_ignored(name: str) -> bool:
    """True for the kiosk's own files (`_*`) and litter that is never worth mentioning."""
    lower = name.lower()
    return (
        name.startswith(("_", ".", "~$"))
        or name.endswith("~")
        or lower in _JUNK_NAMES
        or lower.endswith(_JUNK_SUFFIXES)
    )


def name_from_filename(path: Path) -> str:
    """`babette-ruiz_2.jpg` -> `Babette Ruiz`: a best guess that a moderator can correct."""
    stem = path.name
    suffix = os.path.splitext(stem)[1].lower()
    if suffix in IMAGE_SUFFIXES or suffix in TEXT_SUFFIXES:
        stem = stem[: -len(suffix)]
    # Digits are copy counters ("(2)", "_2"), not part of anybody's name.
    words = [w for w in re.split(r"[\s_.()\-]+", stem) if w and not w.isdigit()]
    if not words:
        return stem
    return " ".join(w.title() if w.islower() else w for w in words)


# ---- scanning ---------------------------------------------------------------------------------


@dataclass
class _File:
    path: Path
    rel: str
    real: str  # the resolved path: two names for one file must claim it once
    size: int
    mtime_ns: int
    escape: str = ""  # set for a link that leaves the content folder; such a file is never opened


@dataclass
class _Dir:
    rel: str
    texts: list[_File] = field(default_factory=list)
    images: list[_File] = field(default_factory=list)
    folder_form: bool = False


@dataclass
class _Draft:
    source: str
    text: _File | None
    photo: _File | None = None
    problems: list[str] = field(default_factory=list)

    def entry(self) -> Entry:
        files = [f for f in (self.text, self.photo) if f is not None]
        return Entry(
            self.source,
            _usable(self.text),
            _usable(self.photo),
            _fingerprint(files),
            tuple(self.problems),
        )


def _usable(f: _File | None) -> Path | None:
    return f.path if f is not None and not f.escape else None


def _fingerprint(files: Iterable[_File]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for f in files:
        h.update(f"{f.rel}\0{f.size}\0{f.mtime_ns}\n".encode())
    return h.hexdigest()


def _kind(name: str) -> str | None:
    suffix = os.path.splitext(name)[1].lower()
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return None


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _escape_message(rel: str, what: str) -> str:
    return (
        f"{rel} is a link to somewhere outside the stories folder; "
        f"copy the {what} into the stories folder instead of linking to it"
    )


class _Walk:
    """One pass over the folder tree: stats and names only, nothing is opened."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.dirs: list[_Dir] = []
        self.escaped: list[Entry] = []
        self.ignored: list[tuple[str, str]] = []
        self.visited = {root}  # resolved folders, so links inside the folder cannot loop

    def walk(self, path: str, rel: str, real: str) -> bool:
        """Collect `path` and everything below it; True when any of it may be a story."""
        try:
            with os.scandir(path) as it:
                children = sorted(it, key=lambda c: c.name)
        except OSError:
            return False
        here = _Dir(rel)
        below = False
        for child in children:
            if is_ignored(child.name):
                continue
            child_rel = f"{rel}/{child.name}" if rel else child.name
            try:
                below |= self._child(child, child_rel, real, here)
            except OSError:  # vanished or unreadable mid-scan: the next scan sees it again
                continue
        # The folder form ("babette-ruiz/" with a text and a photo of any names) only applies to
        # a folder with one text file, at most one image and no stories below it: anything more
        # is a folder of stories. A lone text counts, so adding the photo later keeps the source.
        here.folder_form = (
            bool(rel) and len(here.texts) == 1 and len(here.images) <= 1 and not below
        )
        if here.texts or here.images:
            self.dirs.append(here)
        return bool(here.texts or here.images or below)

    def _child(self, child: os.DirEntry[str], rel: str, parent_real: str, here: _Dir) -> bool:
        kind = _kind(child.name)
        if child.is_symlink():
            real = os.path.realpath(child.path)
            if not _inside(real, self.root):
                return self._escaped(child, rel, real, kind, here)
        else:
            real = os.path.join(parent_real, child.name)
        if child.is_dir():
            if real in self.visited:
                return False
            self.visited.add(real)
            return self.walk(child.path, rel, real)
        if not child.is_file():  # dangling links, sockets, pipes
            return False
        if kind is None:
            self.ignored.append((rel, NOT_A_STORY))
            return False
        st = child.stat()
        found = _File(Path(child.path), rel, real, st.st_size, st.st_mtime_ns)
        (here.texts if kind == "text" else here.images).append(found)
        return False

    def _escaped(
        self, child: os.DirEntry[str], rel: str, real: str, kind: str | None, here: _Dir
    ) -> bool:
        st = child.stat(follow_symlinks=False)
        link = _File(Path(child.path), rel, real, st.st_size, st.st_mtime_ns)
        if os.path.isdir(real):
            problem = _escape_message(rel, "folder")
            self.escaped.append(Entry(rel, None, None, _fingerprint([link]), (problem,)))
            return True
        if kind is None:
            self.ignored.append((rel, NOT_A_STORY))
            return False
        link.escape = _escape_message(rel, "file")
        (here.texts if kind == "text" else here.images).append(link)
        return False


class Scanner:
    """Finds candidate submissions in a content folder; cheap to call again when nothing changed.

    Paths in the entries are under `content_dir.resolve()`.
    """

    def __init__(self, content_dir: Path, max_text_bytes: int = 64 * 1024) -> None:
        self.content_dir = Path(content_dir).resolve()
        self.max_text_bytes = max_text_bytes
        # path -> (size, mtime_ns, photo field): finding `photo:` is the only reason to open a
        # text file while scanning, and rescans of an unchanged folder must cost a stat per file.
        self._photo_fields: dict[str, tuple[int, int, str]] = {}

    def scan(self) -> Scan:
        root = str(self.content_dir)
        walk = _Walk(root)
        walk.walk(root, "", root)
        photo_fields: dict[str, tuple[int, int, str]] = {}
        claimed: set[str] = set()
        paired = []
        for d in walk.dirs:
            by_stem: dict[str, list[_File]] = defaultdict(list)
            for image in d.images:
                by_stem[_stem(image.rel)].append(image)
            drafts = [self._pair(d, t, by_stem, claimed, photo_fields) for t in d.texts]
            paired.append((d, drafts))
        self._photo_fields = photo_fields  # drops files that are gone

        entries = list(walk.escaped)
        for d, drafts in paired:
            _flag_unclear_photo(d, drafts, claimed)
            entries += [draft.entry() for draft in drafts]
            entries += [_lone(image).entry() for image in d.images if image.real not in claimed]
        entries.sort(key=lambda e: e.source)
        return Scan(entries, sorted(walk.ignored))

    def _pair(
        self,
        d: _Dir,
        text: _File,
        by_stem: dict[str, list[_File]],
        claimed: set[str],
        photo_fields: dict[str, tuple[int, int, str]],
    ) -> _Draft:
        matches = d.images if d.folder_form else by_stem.get(_stem(text.rel), [])
        # The photo next to a story belongs to it even when `photo:` names another one, so an
        # old photo left behind does not turn up as a separate "needs a story" submission.
        claimed.update(m.real for m in matches)
        draft = _Draft(d.rel if d.folder_form else text.rel, text)
        if text.escape:
            draft.problems.append(text.escape)
            return draft
        value = self._photo_field(text, photo_fields)
        if value:
            draft.photo, problem = self._resolve_photo(text, value)
            if draft.photo is not None:
                claimed.add(draft.photo.real)
            if problem:
                draft.problems.append(problem)
        elif matches:
            draft.photo = matches[0]
            if matches[0].escape:
                draft.problems.append(matches[0].escape)
            if len(matches) > 1:
                names = ", ".join(m.rel for m in matches)
                draft.problems.append(
                    f"{text.rel} has {len(matches)} photos with its name ({names}); "
                    "keep one and delete or rename the others"
                )
        return draft

    def _photo_field(self, text: _File, photo_fields: dict[str, tuple[int, int, str]]) -> str:
        key = str(text.path)
        cached = self._photo_fields.get(key)
        if cached is not None and cached[:2] == (text.size, text.mtime_ns):
            value = cached[2]
        else:
            value = _read_photo_field(text.path, self.max_text_bytes)
        photo_fields[key] = (text.size, text.mtime_ns, value)
        return value

    def _resolve_photo(self, text: _File, value: str) -> tuple[_File | None, str]:
        """The file `photo:` names, relative to the story's folder or else to the content folder."""
        root = str(self.content_dir)
        wanted = value.strip().replace("\\", "/")  # people on Windows type backslashes
        near = os.path.realpath(os.path.join(os.path.dirname(text.path), wanted))
        if not _inside(near, root):
            return None, (
                f"{text.rel}: photo: {value} points outside the stories folder; "
                "put the photo in the folder and name it relative to the story"
            )
        if os.path.splitext(wanted)[1].lower() not in IMAGE_SUFFIXES:
            return None, (
                f"{text.rel} names photo {value}, which is not a photo; "
                "use a .jpg, .png or .heic file"
            )
        for real in (near, os.path.realpath(os.path.join(root, wanted))):
            if not _inside(real, root):
                continue
            try:
                st = os.stat(real)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                rel = os.path.relpath(real, root).replace(os.sep, "/")
                return _File(Path(real), rel, real, st.st_size, st.st_mtime_ns), ""
        return None, (
            f"{text.rel} names photo {value}, but there is no such file; check the spelling "
            "(capital letters count) or put the photo next to the story"
        )


def _stem(rel: str) -> str:
    return os.path.splitext(rel.rsplit("/", 1)[-1])[0].lower()


def _lone(image: _File) -> _Draft:
    return _Draft(image.rel, None, image, [image.escape] if image.escape else [])


def _flag_unclear_photo(d: _Dir, drafts: list[_Draft], claimed: set[str]) -> None:
    """Several stories and one unnamed photo in a folder: somebody meant one of them, but which?"""
    if not d.rel or len(d.texts) < 2 or len(d.images) != 1 or d.images[0].real in claimed:
        return
    image = d.images[0]
    for draft in drafts:
        if draft.photo is None and not draft.problems:
            draft.problems.append(
                f"{d.rel}/ holds more than one story and one photo ({image.rel}), so it is not "
                "clear whose photo it is; give the photo the same name as its story "
                "or put each story in its own folder"
            )


def _read_photo_field(path: Path, max_text_bytes: int) -> str:
    try:
        raw, size = _read_text_bytes(path, max_text_bytes)
    except OSError:
        return ""
    text = None if _unreadable("", raw, size, max_text_bytes) else _decode(raw)
    if text is None:
        return ""
    return _as_text(_parse(text, "").fields.get("photo"))


# ---- reading one story ------------------------------------------------------------------------


def read_story(entry: Entry, max_text_bytes: int = 64 * 1024) -> Story:
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
    return _story(entry, _parse(text, label), label, fallback, raw)


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


@dataclass
class _Parsed:
    fields: dict[str, Any]
    body: str
    problems: list[str] = field(default_factory=list)


class _NoAliasLoader(yaml.SafeLoader):
    """YAML aliases let 64 KB expand to gigabytes ("billion laughs"); no story needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "`*` cannot start a value", mark)
        return super().compose_node(parent, index)


def _key(raw: Any) -> str:
    key = re.sub(r"[\s-]+", "_", str(raw).strip().lower())
    return _ALIASES.get(key, key)


def _parse(text: str, label: str) -> _Parsed:
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    opening = lines[first].strip() if first < len(lines) else ""
    if opening in ("---", "+++"):
        return _parse_fenced(lines, first, opening, label)
    match = _FIELD_RE.fullmatch(lines[first]) if opening else None
    if match and (_key(match[1]) in _FIELDS or _SIMPLE_KEY_RE.fullmatch(match[1])):
        return _parse_plain(lines, first)
    return _Parsed({}, "\n".join(lines[first:]))


def _parse_plain(lines: list[str], first: int) -> _Parsed:
    """`Key: value` lines up to the first blank line, for people who have never seen YAML."""
    fields: dict[str, Any] = {}
    last = ""
    i = first
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            break
        match = _FIELD_RE.fullmatch(line)
        if last and line[0].isspace():  # a long value wrapped onto the next line
            fields[last] = f"{fields[last]} {line.strip()}".strip()
        elif match:
            last = _key(match[1])
            fields[last] = match[2].strip()
        else:  # the blank line was forgotten: the story starts here
            i -= 1
            break
    return _Parsed(fields, "\n".join(lines[i:]))


def _parse_fenced(lines: list[str], first: int, fence: str, label: str) -> _Parsed:
    close = next((i for i in range(first + 1, len(lines)) if lines[i].strip() == fence), None)
    if close is None:
        return _Parsed(
            {},
            "",
            [
                f"{label}: the header that starts with {fence} on line {first + 1} is never "
                f"closed; add a line with just {fence} after the last field"
            ],
        )
    block = "\n".join(lines[first + 1 : close])
    body = "\n".join(lines[close + 1 :])
    load = _load_yaml if fence == "---" else _load_toml
    data, problem = load(block, first + 2, label)
    if problem:
        return _Parsed({}, body, [problem])
    return _Parsed({_key(k): v for k, v in data.items()}, body)


def _too_deep(label: str) -> str:
    return f"{label}: the header is nested too deeply to read; keep to simple `key: value` lines"


def _load_yaml(block: str, first_line: int, label: str) -> tuple[dict[Any, Any], str]:
    try:
        data = yaml.load(block, Loader=_NoAliasLoader)  # a SafeLoader without aliases
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" on line {first_line + mark.line}" if mark else ""
        return {}, (
            f"{label}: the header has a mistake{where} ({exc.problem or exc.context}); "
            "check the colon and the quotes on that line — a value that contains a colon "
            'needs quotes around it, like quote: "Safety first: always"'
        )
    except yaml.YAMLError as exc:
        return {}, f"{label}: the header could not be read ({exc}); write it as `key: value` lines"
    except ValueError as exc:  # PyYAML's answer to an impossible date such as 2026-13-01
        return {}, (
            f"{label}: the header has a date that does not exist ({exc}); "
            "write dates as YYYY-MM-DD, for example 2026-12-01"
        )
    except RecursionError:
        return {}, _too_deep(label)
    if data is None:
        return {}, ""
    if not isinstance(data, dict):
        return {}, (
            f"{label}: the header between the --- lines should be `key: value` lines, "
            "like name: Babette Ruiz"
        )
    return data, ""


def _load_toml(block: str, first_line: int, label: str) -> tuple[dict[Any, Any], str]:
    try:
        return tomllib.loads(block), ""
    except RecursionError:
        return {}, _too_deep(label)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_AT_RE.fullmatch(message)
        if match:
            message = f"{match[1]} on line {first_line + int(match[2]) - 1}"
        return {}, (
            f"{label}: the header between the +++ lines has a mistake ({message}); "
            'TOML needs quotes around text, like name = "Babette Ruiz"'
        )


def _story(entry: Entry, parsed: _Parsed, label: str, fallback: str, raw: bytes) -> Story:
    fields = parsed.fields
    problems = [*entry.problems, *parsed.problems]
    name = _as_text(fields.get("name"))
    if not name and not parsed.problems:
        problems.append(f"{label} has no name; add a line `name: Full Name` at the top")
    start, start_at = _date_field(fields, "start", label, problems)
    end, end_at = _date_field(fields, "end", label, problems)
    if start_at and end_at and end_at < start_at:
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
        needs_story=not body,
        extra={k: _plain(v) for k, v in fields.items() if k not in _FIELDS},
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
        return {_key(k): _plain(v, depth + 1) for k, v in value.items()}
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


def _date_field(
    fields: dict[str, Any], key: str, label: str, problems: list[str]
) -> tuple[str | None, datetime | None]:
    """(normalised ISO string, the moment for comparing) — a bare end date lasts the whole day."""
    value = fields.get(key)
    if value is None or value == "":
        return None, None
    when = _when(value)
    if when is None:
        problems.append(
            f"{label}: {key}: {_as_text(value)} is not a date; write it as YYYY-MM-DD, "
            "for example 2026-12-01 (a time may follow: 2026-12-01 08:00)"
        )
        return None, None
    if isinstance(when, datetime):
        return when.isoformat(), when
    moment = datetime.combine(when, time.max if key == "end" else time.min)
    return when.isoformat(), moment


def _when(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return value
    match = _DATE_RE.fullmatch(_as_text(value))
    if not match:
        return None
    y, mo, d, h, mi, s = (int(g) if g else None for g in match.groups())
    try:
        if h is None:
            return date(y, mo, d)
        return datetime(y, mo, d, h, mi, s or 0)
    except ValueError:
        return None
