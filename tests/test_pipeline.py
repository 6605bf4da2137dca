"""The pipeline's two stages on their own: `prepare` needs files only, `record` a library."""

from __future__ import annotations

import dataclasses
import multiprocessing.forkserver
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kiosk.ingest import isolated
from kiosk.ingest.pipeline import Limits, NotSettled, Prepared, prepare, record
from kiosk.ingest.scan import Scanner
from kiosk.library import Library
from kiosk.settings import Settings

from .factories import avif_sequence, flat_png, jpeg, make_tree, multi_picture_jpeg, photo, story
from .support import descendants

LIMITS = Limits.from_settings(Settings())


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    root.mkdir()
    return root.resolve()


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    return folder


def prepared(content: Path, media: Path, source: str, grace_seconds: float = 0.0) -> Prepared:
    (entry,) = [e for e in Scanner(content, LIMITS.text_bytes).scan().entries if e.source == source]
    return prepare(entry, LIMITS, media_dir=media, content_dir=content, grace_seconds=grace_seconds)


def test_limits_come_from_settings_in_bytes_and_pixels() -> None:
    settings = Settings(max_text_kb=2, max_photo_mb=1.5, max_megapixels=0.5, display_max_px=800)
    assert Limits.from_settings(settings) == Limits(
        text_bytes=2048,
        photo_bytes=1_572_864,
        photo_pixels=500_000,
        display_px=800,
        thumb_px=320,
        photo_memory_bytes=512 * 2**20,
    )


def test_a_photo_that_needs_more_memory_than_allowed_is_refused_with_a_sentence(
    content: Path, media: Path
) -> None:
    """`photo_memory_mb` is enforced by the kernel on the child that decodes the photo: a
    photo over it becomes a problem that says what to do, and the next photo is decoded."""
    make_tree(content, {"big.md": story("Big Photo"), "big.jpg": jpeg(4000, 3000)})
    make_tree(content, {"ada.md": story("Ada Lovelace"), "ada.jpg": jpeg()})
    tight = dataclasses.replace(LIMITS, photo_memory_bytes=8 * 2**20)
    (big,) = [e for e in Scanner(content, LIMITS.text_bytes).scan().entries if e.source == "big.md"]
    refused = prepare(big, tight, media_dir=media, content_dir=content)
    assert refused.rendition is None
    assert refused.problems == [
        "big.jpg needs more than 8 MB of memory to decode: export it again as a JPEG of at most "
        "24 megapixels"
    ]
    assert prepared(content, media, "ada.md").rendition is not None


@pytest.mark.parametrize(("megapixels", "at_once"), [(40, 1), (12, 2)])
def test_big_photos_are_decoded_one_at_a_time(
    content: Path, media: Path, megapixels: int, at_once: int
) -> None:
    """Three photos prepared at once, as the watcher's threads do: phone photos are decoded two
    at a time, a photo over half of PIXELS_AT_ONCE (32 MP) alone, so a drop of big photos never
    holds two of them in memory. Decoders are the forkserver's children."""
    side = round((megapixels * 1e6) ** 0.5)
    for n in range(3):
        picture = flat_png(side, side, (50, 120, 200))
        make_tree(content, {f"p{n}.md": story(f"Person {n}"), f"p{n}.png": picture})
    isolated.start()
    forkserver = multiprocessing.forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    decoding: list[int] = []
    done = threading.Event()

    def count() -> None:
        while not done.wait(0.005):
            decoding.append(len(descendants(forkserver, depth=1)))

    counter = threading.Thread(target=count)
    counter.start()
    try:
        with ThreadPoolExecutor(3) as pool:
            sources = ["p0.md", "p1.md", "p2.md"]
            results = list(pool.map(lambda s: prepared(content, media, s), sources))
    finally:
        done.set()
        counter.join()
    assert [r.problems for r in results] == [[], [], []]
    assert max(decoding) == at_once


def test_prepare_reads_and_renders_without_a_library(
    tmp_path: Path, content: Path, media: Path
) -> None:
    make_tree(content, {"team/babette.md": story("Babette Ruiz"), "team/babette.jpg": jpeg()})
    item = prepared(content, media, "team")  # a folder with one story and one photo
    assert (item.story.name, item.problems) == ("Babette Ruiz", [])
    assert (item.text_path, item.photo_path) == ("team/babette.md", "team/babette.jpg")
    assert item.rendition is not None
    assert {p.name for p in media.iterdir()} == {item.rendition.image, item.rendition.thumbnail}
    assert not list(tmp_path.rglob("*.db"))


def test_a_story_without_a_photo_is_told_how_to_add_one(content: Path, media: Path) -> None:
    make_tree(content, {"ana.md": story("Ana Lima")})
    item = prepared(content, media, "ana.md")
    assert item.rendition is None and item.photo_path is None
    assert item.problems == [
        "ana.md has no photo: put a photo named ana.jpg next to it or name one in a `photo:` line"
    ]


@pytest.mark.parametrize(
    ("files", "source", "expected"),
    [
        (["team/jordan-alvarez.md", "team/ana.md"], "team/jordan-alvarez.md",
         "team/jordan-alvarez.md has no photo: put a photo named jordan-alvarez.jpg next to it"),
        (["Jordan Alvarez.txt"], "Jordan Alvarez.txt",
         "Jordan Alvarez.txt has no photo: put a photo named Jordan Alvarez.jpg next to it"),
        (["jordan-alvarez.md.txt"], "jordan-alvarez.md.txt",
         "jordan-alvarez.md.txt has no photo: put a photo named jordan-alvarez.jpg next to it"),
        (["solo/jordan-alvarez.md"], "solo",  # a story folder: any photo name will do
         "solo/ has no photo: put one in the folder (for example jordan-alvarez.jpg)"),
    ],
)  # fmt: skip
def test_the_no_photo_message_names_the_photo_it_expects(
    content: Path, media: Path, files: list[str], source: str, expected: str
) -> None:
    make_tree(content, dict.fromkeys(files, story("Jordan Alvarez")))
    (problem,) = prepared(content, media, source).problems
    assert problem == f"{expected} or name one in a `photo:` line"


def heif() -> bytes:
    return photo(400, 500, "HEIF", quality=90)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("babette.mpo", multi_picture_jpeg),  # a JPEG with a second frame
        ("babette.hif", heif),  # Canon's HEIF
        ("babette.avifs", avif_sequence),  # an AVIF image sequence
        ("babette.JPG", lambda: jpeg(400, 500)),
        ("babette.HEIC", heif),
        ("babette.Jpeg", lambda: jpeg(400, 500)),
    ],
)
def test_photo_suffixes_cameras_and_phones_write(
    content: Path, media: Path, name: str, make
) -> None:
    make_tree(content, {"babette.md": story("Babette Ruiz"), name: make()})
    item = prepared(content, media, "babette.md")
    assert (item.problems, item.photo_path) == ([], name)
    assert item.rendition is not None and (item.rendition.width, item.rendition.height) == (
        400,
        500,
    )


@pytest.mark.parametrize(
    ("other", "said"),
    [
        ("babette-ruiz.psd", "is a Photoshop file: save the photo as JPEG"),
        ("babette-ruiz.CR2", "is a camera raw file: export the photo as JPEG"),
        ("babette-ruiz.nef", "is a camera raw file: export the photo as JPEG"),
        ("babette-ruiz.dng", "is a camera raw file: export the photo as JPEG"),
        ("babette-ruiz.pdf", "is a PDF: save the photo in it as JPEG"),
        ("babette-ruiz.docx", "is a Word document: save the photo in it as JPEG"),
        ("babette-ruiz.pages", "is a Pages document: save the photo in it as JPEG"),
        ("babette-ruiz.key", "is a Keynote presentation: save the photo in it as JPEG"),
    ],
)
def test_a_story_beside_a_file_that_is_not_a_photo_says_what_to_save(
    content: Path, media: Path, other: str, said: str
) -> None:
    make_tree(content, {"babette-ruiz.md": story("Babette Ruiz"), other: b"not a photo"})
    item = prepared(content, media, "babette-ruiz.md")
    assert item.problems == [f"{other} {said}"]
    assert item.photo_path is None


def test_a_bad_photo_just_written_may_still_be_arriving(content: Path, media: Path) -> None:
    make_tree(content, {"x.md": story("Xavier"), "x.jpg": b"\xff\xd8\xff half a photo"})
    with pytest.raises(NotSettled, match="x.jpg"):
        prepared(content, media, "x.md", grace_seconds=60)
    old = time.time() - 120
    os.utime(content / "x.jpg", (old, old))
    item = prepared(content, media, "x.md", grace_seconds=60)
    assert len(item.problems) == 1 and "x.jpg" in item.problems[0]


def test_recording_the_same_content_twice_adds_one_revision(
    tmp_path: Path, content: Path, media: Path
) -> None:
    make_tree(content, {"babette.md": story("Babette Ruiz"), "babette.jpg": jpeg()})
    library = Library(tmp_path / "kiosk.db")
    try:
        first = record(library, prepared(content, media, "babette.md"))
        again = record(library, prepared(content, media, "babette.md"))
        assert (first.status, first.created) == ("pending", True)
        assert (again.revision_id, again.created) == (first.revision_id, False)
        (sub,) = library.submissions()
        assert (sub["name"], sub["photo_path"]) == ("Babette Ruiz", "babette.jpg")
    finally:
        library.close()


def test_a_photo_whose_decoder_never_finishes_is_given_up(
    content: Path, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decoder stuck in a loop is killed after `DECODE_SECONDS` (5 minutes; here less than a
    12 MP photo needs), and the photo gets a sentence; the next photo is decoded."""
    make_tree(content, {"slow.md": story("Slow Photo"), "slow.jpg": jpeg(4000, 3000)})
    make_tree(content, {"ada.md": story("Ada Lovelace"), "ada.jpg": jpeg()})
    monkeypatch.setattr(isolated, "DECODE_SECONDS", 0.01)
    given_up = prepared(content, media, "slow.md")
    assert given_up.rendition is None
    assert given_up.problems == ["slow.jpg took too long to decode: export it again as a JPEG"]
    monkeypatch.setattr(isolated, "DECODE_SECONDS", 60)
    assert prepared(content, media, "ada.md").rendition is not None
