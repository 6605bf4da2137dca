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

from .story import IMAGE_SUFFIXES, TEXT_SUFFIXES, Entry, bare_stem, photo_field

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

# Files people drop where the photo should be: what each is and what to save instead.
_RAW = ("a camera raw file", "export the photo as JPEG")
_HOLDS_PHOTO = "save the photo in it as JPEG"
_NOT_PHOTOS = {
    ".psd": ("a Photoshop file", "save the photo as JPEG"),
    ".psb": ("a Photoshop file", "save the photo as JPEG"),
    ".xcf": ("a GIMP file", "export the photo as JPEG"),
    ".ai": ("an Illustrator file", "export the picture as PNG"),
    ".svg": ("a drawing (SVG)", "export it as PNG"),
    ".jxl": ("a JPEG XL file", "save the photo as JPEG"),
    ".jp2": ("a JPEG 2000 file", "save the photo as JPEG"),
    ".pdf": ("a PDF", _HOLDS_PHOTO),
    ".doc": ("a Word document", _HOLDS_PHOTO),
    ".docx": ("a Word document", _HOLDS_PHOTO),
    ".odt": ("a LibreOffice document", _HOLDS_PHOTO),
    ".rtf": ("a rich-text document", _HOLDS_PHOTO),
    ".pages": ("a Pages document", _HOLDS_PHOTO),
    ".key": ("a Keynote presentation", _HOLDS_PHOTO),
    ".ppt": ("a PowerPoint presentation", _HOLDS_PHOTO),
    ".pptx": ("a PowerPoint presentation", _HOLDS_PHOTO),
    ".mov": ("a video", "save one frame of it as JPEG"),
    ".mp4": ("a video", "save one frame of it as JPEG"),
} | dict.fromkeys(
    (".raw", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".orf")
    + (".rw2", ".raf", ".pef", ".srw", ".x3f", ".3fr", ".erf", ".kdc", ".mrw", ".iiq"),
    _RAW,
)


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
    not_photos: list[_File] = field(default_factory=list)  # a .psd or .docx: see _NOT_PHOTOS
    folder_form: bool = False
    parent: _Dir | None = None
    below: bool = False  # a story or a problem was found in a folder inside this one


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


def _decodable(name: str) -> bool:
    """False for a name whose bytes are not UTF-8 (os hands those over as lone surrogates)."""
    try:
        name.encode()
    except UnicodeEncodeError:
        return False
    return True


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _escape_message(rel: str, what: str) -> str:
    return (
        f"{rel} is a link to somewhere outside the stories folder; "
        f"copy the {what} into the stories folder instead of linking to it"
    )


MAX_DEPTH = 32  # folders below the content folder; nobody files stories deeper than this


def _name_problem(rel: str) -> str:
    return (
        f"{rel}: the name has characters that are not valid text (it was probably made on an "
        "old computer or copied from a disk); rename it using ordinary letters"
    )


def _shown(rel: str) -> str:
    """`rel` as text that can be stored and shown: undecodable bytes become `\\xe9`."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


class _Walk:
    """One pass over the folder tree: stats and names only, nothing is opened.

    The walk keeps its own stack instead of recursing, so a folder tree made hundreds of levels
    deep over the share cannot exhaust Python's recursion limit; it stops at MAX_DEPTH.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.dirs: list[_Dir] = []
        self.escaped: list[Entry] = []
        self.ignored: list[tuple[str, str]] = []
        self.visited = {root}  # resolved folders, so links inside the folder cannot loop

    def walk(self) -> None:
        """Collect everything below the root, each folder after the folders inside it."""
        # A folder to list is (path, resolved path, depth, its _Dir); a bare _Dir is one whose
        # subfolders have all been listed, so whether it is a folder-form story is known.
        todo: list[tuple[str, str, int, _Dir] | _Dir] = [(self.root, self.root, 0, _Dir(""))]
        while todo:
            item = todo.pop()
            if isinstance(item, _Dir):
                self._finish(item)
                continue
            path, real, depth, here = item
            todo.append(here)
            todo.extend(reversed(self._list(path, real, depth, here)))  # popped in name order

    def _finish(self, here: _Dir) -> None:
        # The folder form ("babette-ruiz/" with a text and a photo of any names) only applies to
        # a folder with one text file, at most one image and no stories below it: anything more
        # is a folder of stories. A lone text counts, so adding the photo later keeps the source.
        here.folder_form = (
            bool(here.rel) and len(here.texts) == 1 and len(here.images) <= 1 and not here.below
        )
        if here.texts or here.images or here.not_photos:
            self.dirs.append(here)
        if here.parent is not None and (here.texts or here.images or here.below):
            here.parent.below = True

    def _list(
        self, path: str, real: str, depth: int, here: _Dir
    ) -> list[tuple[str, str, int, _Dir]]:
        """Record the files in `here`; the subfolders still to list."""
        try:
            with os.scandir(path) as it:
                children = sorted(it, key=lambda c: c.name)
        except OSError:
            return []
        subdirs = []
        for child in children:
            if is_ignored(child.name):
                continue
            rel = f"{here.rel}/{child.name}" if here.rel else child.name
            if not _decodable(child.name):
                self._problem(here, rel, _name_problem(_shown(rel)))
                continue
            try:
                sub_real = self._child(child, rel, real, here)
            except OSError:  # vanished or unreadable mid-scan: the next scan sees it again
                continue
            if sub_real is None:
                continue
            if depth >= MAX_DEPTH:
                self._problem(
                    here,
                    rel,
                    f"{rel} is more than {MAX_DEPTH} folders deep; "
                    "move the stories in it nearer the top of the stories folder",
                )
                continue
            subdirs.append((child.path, sub_real, depth + 1, _Dir(rel, parent=here)))
        return subdirs

    def _problem(self, here: _Dir, rel: str, problem: str) -> None:
        """`rel` cannot be read as a story: it becomes a problem its owner can fix."""
        fingerprint = hashlib.blake2b(_shown(rel).encode(), digest_size=16).hexdigest()
        self.escaped.append(Entry(_shown(rel), None, None, fingerprint, (problem,)))
        here.below = True

    def _child(self, child: os.DirEntry[str], rel: str, parent_real: str, here: _Dir) -> str | None:
        """Record a file in `here`; for a folder not seen yet, its resolved path to walk."""
        kind = _kind(child.name)
        if child.is_symlink():
            real = os.path.realpath(child.path)
            if not _inside(real, self.root):
                self._escaped(child, rel, real, kind, here)
                return None
        else:
            real = os.path.join(parent_real, child.name)
        if child.is_dir():
            if real in self.visited:
                return None
            self.visited.add(real)
            return real
        if not child.is_file():  # dangling links, sockets, pipes
            return None
        if kind is None and _not_a_photo(child.name) is None:
            self.ignored.append((rel, NOT_A_STORY))
            return None
        st = child.stat()
        found = _File(Path(child.path), rel, real, st.st_size, st.st_mtime_ns)
        {"text": here.texts, "image": here.images, None: here.not_photos}[kind].append(found)
        return None

    def _escaped(
        self, child: os.DirEntry[str], rel: str, real: str, kind: str | None, here: _Dir
    ) -> None:
        st = child.stat(follow_symlinks=False)
        link = _File(Path(child.path), rel, real, st.st_size, st.st_mtime_ns)
        if os.path.isdir(real):
            problem = _escape_message(rel, "folder")
            self.escaped.append(Entry(rel, None, None, _fingerprint([link]), (problem,)))
            here.below = True
            return
        if kind is None:
            self.ignored.append((rel, NOT_A_STORY))
            return
        link.escape = _escape_message(rel, "file")
        (here.texts if kind == "text" else here.images).append(link)


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
        walk.walk()
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
            _flag_not_a_photo(d, drafts, claimed)
            walk.ignored += [(f.rel, NOT_A_STORY) for f in d.not_photos if f.real not in claimed]
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
        try:
            near = os.path.realpath(os.path.join(os.path.dirname(text.path), wanted))
        except ValueError:  # a NUL or a lone surrogate: no file can have that name
            return None, (
                f"{text.rel}: photo: {_shown(value)} is not a file name; "
                "write the photo's file name, like photo: babette.jpg"
            )
        if not _inside(near, root):
            return None, (
                f"{text.rel}: photo: {value} points outside the stories folder; "
                "put the photo in the folder and name it relative to the story"
            )
        if os.path.splitext(wanted)[1].lower() not in IMAGE_SUFFIXES:
            known = _not_a_photo(wanted)
            if known:
                return None, f"{text.rel} names photo {value}, which is {known[0]}: {known[1]}"
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
    return bare_stem(rel.rsplit("/", 1)[-1]).lower()


def _not_a_photo(name: str) -> tuple[str, str] | None:
    """What a file is and what to save instead, for files people mistake for photos."""
    return _NOT_PHOTOS.get(os.path.splitext(name)[1].lower())


def _flag_not_a_photo(d: _Dir, drafts: list[_Draft], claimed: set[str]) -> None:
    """A story with no photo but a .psd or .docx of its name: say what that file is, rather
    than "no photo", so its owner knows what to save."""
    for draft in drafts:
        if draft.photo is not None or draft.problems or draft.text is None:
            continue
        stem = _stem(draft.text.rel)
        for other in d.not_photos:
            same_name = _stem(os.path.splitext(other.rel)[0]) == stem
            if other.real in claimed or not (d.folder_form or same_name):
                continue
            claimed.add(other.real)
            what, advice = _not_a_photo(other.rel) or ("", "")
            draft.problems.append(f"{other.rel} is {what}: {advice}")
            break


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
