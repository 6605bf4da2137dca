"""The content folder -> Entry: one candidate submission per story text or lone photo.

A scan only stats and pairs files (a story text with the photo of the same name, the folder form,
a `photo:` header); it opens nothing but the texts whose `photo:` line it must know. Litter is
skipped silently, other files are listed as ignored, and links that leave the folder are never
followed: each becomes a problem its owner can act on.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .story import IMAGE_SUFFIXES, TEXT_SUFFIXES, Entry, photo_field

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


@dataclass(frozen=True)
class Scan:
    """What one pass over the content folder found."""

    entries: list[Entry]
    ignored: list[tuple[str, str]]


def is_ignored(name: str) -> bool:
    """True for the kiosk's own files (`_*`) and litter that is never worth mentioning."""
    lower = name.lower()
    return (
        name.startswith(("_", ".", "~$"))
        or name.endswith("~")
        or lower in _JUNK_NAMES
        or lower.endswith(_JUNK_SUFFIXES)
    )


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

    def __init__(self, content_dir: Path, max_text_bytes: int) -> None:
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
            value = photo_field(text.path, self.max_text_bytes)
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
