"""Story files: pairing, headers, encodings, limits and hostile links, on real files in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.ingest import story as story_module
from kiosk.ingest.pipeline import Limits
from kiosk.ingest.scan import Scan, Scanner, is_ignored
from kiosk.ingest.story import Entry, Story, name_from_filename, read_story
from kiosk.settings import Settings

from .factories import jpeg, make_tree, png, story

JPEG = jpeg(40, 50)
PNG = png(40, 50)
TEXT_BYTES = Limits.from_settings(Settings()).text_bytes  # a default install's limit: 64 KB


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    root.mkdir()
    return root.resolve()


def entries(root: Path) -> dict[str, Entry]:
    return {e.source: e for e in Scanner(root, TEXT_BYTES).scan().entries}


def files(scan: Scan) -> set[Path]:
    """Every file that is part of an entry."""
    return {p for e in scan.entries for p in (e.text, e.photo) if p is not None}


def only_story(root: Path, files: dict[str, str | bytes]) -> Story:
    make_tree(root, files)
    found = Scanner(root, TEXT_BYTES).scan().entries
    assert len(found) == 1, [e.source for e in found]
    return read_story(found[0], TEXT_BYTES)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The text files the module opens, in order."""
    opened: list[Path] = []
    real = story_module._read_text_bytes

    def spy(path: Path, limit: int) -> tuple[bytes, int]:
        opened.append(path)
        return real(path, limit)

    monkeypatch.setattr(story_module, "_read_text_bytes", spy)
    return opened


# ---- pairing ----------------------------------------------------------------------------------


def test_same_stem_pairs_a_text_with_its_photo_whatever_the_case(folder: Path) -> None:
    make_tree(folder, {"babette-ruiz.md": story("Babette Ruiz"), "Babette-Ruiz.JPG": JPEG})
    found = entries(folder)
    assert list(found) == ["babette-ruiz.md"]
    entry = found["babette-ruiz.md"]
    assert entry.text == folder / "babette-ruiz.md"
    assert entry.photo == folder / "Babette-Ruiz.JPG"
    assert entry.problems == ()


def test_a_folder_with_one_text_and_one_image_is_one_story(folder: Path) -> None:
    make_tree(
        folder,
        {
            "2026/march/babette-ruiz/story.txt": story("Babette Ruiz"),
            "2026/march/babette-ruiz/IMG_0042.jpg": JPEG,
        },
    )
    entry = entries(folder)["2026/march/babette-ruiz"]
    assert entry.text == folder / "2026/march/babette-ruiz/story.txt"
    assert entry.photo == folder / "2026/march/babette-ruiz/IMG_0042.jpg"
    assert read_story(entry, TEXT_BYTES).name == "Babette Ruiz"


def test_a_story_folder_keeps_its_source_when_the_photo_arrives(folder: Path) -> None:
    make_tree(folder, {"babette-ruiz/story.md": story("Babette Ruiz")})
    before = entries(folder)
    make_tree(folder, {"babette-ruiz/portrait.png": PNG})
    after = entries(folder)
    assert list(before) == list(after) == ["babette-ruiz"]
    assert after["babette-ruiz"].photo == folder / "babette-ruiz/portrait.png"
    assert before["babette-ruiz"].fingerprint != after["babette-ruiz"].fingerprint


def test_a_folder_of_stories_pairs_by_name(folder: Path) -> None:
    make_tree(
        folder,
        {
            "team/ana.md": story("Ana"),
            "team/ana.jpg": JPEG,
            "team/bo.md": story("Bo"),
            "team/bo.png": PNG,
        },
    )
    found = entries(folder)
    assert list(found) == ["team/ana.md", "team/bo.md"]
    assert found["team/ana.md"].photo == folder / "team/ana.jpg"
    assert found["team/bo.md"].photo == folder / "team/bo.png"


def test_a_folder_with_stories_below_it_is_not_a_story_folder(folder: Path) -> None:
    make_tree(
        folder,
        {
            "events/intro.md": story("Intro"),
            "events/banner.jpg": JPEG,
            "events/bob/story.md": story("Bob"),
            "events/bob/bob.jpg": JPEG,
        },
    )
    assert list(entries(folder)) == ["events/banner.jpg", "events/bob", "events/intro.md"]


def test_two_stories_and_one_unnamed_photo_in_a_folder_asks_whose_it_is(folder: Path) -> None:
    make_tree(
        folder,
        {"team/ana.md": story("Ana"), "team/bo.md": story("Bo"), "team/group.jpg": JPEG},
    )
    found = entries(folder)
    for source in ("team/ana.md", "team/bo.md"):
        (problem,) = found[source].problems
        assert "team/group.jpg" in problem
        assert "same name as its story" in problem
    assert found["team/group.jpg"].text is None


def test_two_photos_with_the_story_name_is_a_problem(folder: Path) -> None:
    make_tree(folder, {"bob.md": story("Bob"), "bob.jpg": JPEG, "bob.png": PNG})
    found = entries(folder)
    assert list(found) == ["bob.md"]
    (problem,) = found["bob.md"].problems
    assert "bob.jpg, bob.png" in problem
    assert "keep one" in problem


def test_photo_field_wins_over_the_same_name_and_claims_its_image(folder: Path) -> None:
    make_tree(
        folder,
        {
            "bob.md": story("Bob", photo="photos/bob-2026.jpg"),
            "bob.jpg": JPEG,
            "photos/bob-2026.jpg": JPEG,
        },
    )
    found = entries(folder)
    assert list(found) == ["bob.md"]
    assert found["bob.md"].photo == folder / "photos/bob-2026.jpg"
    assert found["bob.md"].problems == ()


@pytest.mark.parametrize("named", ["photos/bob.jpg", "photos\\bob.jpg"])
def test_photo_field_may_be_relative_to_the_content_folder(folder: Path, named: str) -> None:
    make_tree(
        folder,
        {
            "stories/ana.md": story("Ana", photo="../photos/ana.jpg"),
            "stories/bob.md": story("Bob", photo=named),
            "photos/ana.jpg": JPEG,
            "photos/bob.jpg": JPEG,
        },
    )
    assert entries(folder)["stories/bob.md"].photo == folder / "photos/bob.jpg"


def test_photo_field_naming_a_missing_file_says_which(folder: Path) -> None:
    make_tree(folder, {"bob.md": story("Bob", photo="bob-portrait.jpg")})
    entry = entries(folder)["bob.md"]
    assert entry.photo is None
    (problem,) = read_story(entry, TEXT_BYTES).problems
    assert problem.startswith("bob.md names photo bob-portrait.jpg, but there is no such file")
    assert "check the spelling" in problem


def test_photo_field_naming_something_else_than_a_photo(folder: Path) -> None:
    make_tree(folder, {"bob.md": story("Bob", photo="bob.pdf"), "bob.pdf": b"%PDF"})
    (problem,) = entries(folder)["bob.md"].problems
    assert problem == "bob.md names photo bob.pdf, which is a PDF: save the photo in it as JPEG"
    make_tree(folder, {"bob.md": story("Bob", photo="bob.ppm"), "bob.ppm": b"P6"})
    (problem,) = entries(folder)["bob.md"].problems
    assert "bob.ppm, which is not a photo; use a .jpg, .png or .heic file" in problem


@pytest.mark.parametrize("named", ["../outside.jpg", "../../etc/passwd", "/etc/passwd"])
def test_photo_field_pointing_outside_is_refused(folder: Path, named: str) -> None:
    (folder.parent / "outside.jpg").write_bytes(JPEG)
    make_tree(folder, {"bob.md": story("Bob", photo=named), "bob.jpg": JPEG})
    scan = Scanner(folder, TEXT_BYTES).scan()
    (entry,) = scan.entries
    assert entry.photo is None
    assert files(scan) == {folder / "bob.md"}
    (problem,) = read_story(entry, TEXT_BYTES).problems
    assert problem == (
        f"bob.md: photo: {named} points outside the stories folder; "
        "put the photo in the folder and name it relative to the story"
    )


def test_lone_photo_is_a_submission_that_needs_a_story(folder: Path) -> None:
    make_tree(folder, {"carl-meyer_2.jpg": JPEG})
    entry = entries(folder)["carl-meyer_2.jpg"]
    assert (entry.text, entry.photo) == (None, folder / "carl-meyer_2.jpg")
    told = read_story(entry, TEXT_BYTES)
    assert (told.name, told.needs_story, told.problems) == ("Carl Meyer", True, ())
    assert told.text_bytes == b""


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("babette-ruiz_2.jpg", "Babette Ruiz"),
        ("Babette Ruiz (2).JPG", "Babette Ruiz"),
        ("jean_MARC.png", "Jean MARC"),
        ("o'neil.heic", "O'Neil"),
        ("babette-ruiz", "Babette Ruiz"),
        ("1234.jpg", "1234"),
        ("jordan-alvarez.md.txt", "Jordan Alvarez"),  # Windows hid the .txt it added
        ("babette-ruiz.jpeg.JPG", "Babette Ruiz"),
    ],
)
def test_name_from_filename(filename: str, name: str) -> None:
    assert name_from_filename(Path(filename)) == name


@pytest.mark.parametrize(
    "text", ["jordan-alvarez.md.txt", "jordan-alvarez.txt.md", "Jordan-Alvarez.MD.txt"]
)
def test_a_story_with_a_hidden_second_extension_pairs_with_its_photo(
    folder: Path, text: str
) -> None:
    make_tree(folder, {text: story("Jordan Alvarez"), "jordan-alvarez.jpg": JPEG})
    assert {e.source: e.photo for e in entries(folder).values()} == {
        text: folder / "jordan-alvarez.jpg"
    }


def test_every_text_and_photo_is_part_of_an_entry(folder: Path) -> None:
    make_tree(folder, {"bob.md": story("Bob"), "bob.jpg": JPEG, "ana.png": PNG})
    assert files(Scanner(folder, TEXT_BYTES).scan()) == {
        folder / "bob.md",
        folder / "bob.jpg",
        folder / "ana.png",
    }


def test_fingerprint_changes_with_either_file_and_only_then(folder: Path) -> None:
    make_tree(folder, {"bob.md": story("Bob"), "bob.jpg": JPEG})
    first = entries(folder)["bob.md"].fingerprint
    assert entries(folder)["bob.md"].fingerprint == first
    st = (folder / "bob.jpg").stat()
    os.utime(folder / "bob.jpg", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    second = entries(folder)["bob.md"].fingerprint
    assert second != first
    (folder / "bob.md").write_text(story("Bob", role="Foreman"))
    assert entries(folder)["bob.md"].fingerprint not in (first, second)


# ---- what is ignored --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "junk",
    [
        "_TEMPLATE.md",
        "_README.txt",
        "_status.txt",
        "_CREDITS.md",
        "_archive/old-story.md",
        "_archive/2025/old.jpg",
        ".DS_Store",
        "._babette.jpg",
        ".Trashes/501/babette.jpg",
        ".recycle/story.md",
        ".babette.md.Gx3k2a",
        "Thumbs.db",
        "desktop.ini",
        "Icon\r",
        "~$story.docx",
        ".~lock.story.odt#",
        "story.md.tmp",
        "babette.jpg.part",
        "babette.jpg.crdownload",
        ".story.md.swp",
        "story.swp",
        "story.md~",
    ],
)
def test_junk_is_ignored_silently(folder: Path, junk: str) -> None:
    make_tree(folder, {junk: b"x"})
    scan = Scanner(folder, TEXT_BYTES).scan()
    assert (scan.entries, scan.ignored) == ([], [])
    assert is_ignored(junk.split("/")[0])


def test_other_files_are_listed_once_as_not_a_story(folder: Path) -> None:
    make_tree(folder, {"bob.md": story("Bob"), "notes.docx": b"PK\x03\x04", "team/plan.pdf": b"%"})
    scan = Scanner(folder, TEXT_BYTES).scan()
    assert [e.source for e in scan.entries] == ["bob.md"]
    reason = (
        "ignored: not a story file (save stories as .md or .txt, photos as .jpg, .png or .heic)"
    )
    assert scan.ignored == [("notes.docx", reason), ("team/plan.pdf", reason)]


# ---- links that leave the folder --------------------------------------------------------------


def test_a_linked_text_file_outside_the_folder_is_never_read(
    folder: Path, reads: list[Path]
) -> None:
    secret = folder.parent / "secret.md"
    secret.write_text(story("Secret"))
    (folder / "bob.md").symlink_to(secret)
    make_tree(folder, {"bob.jpg": JPEG})
    scan = Scanner(folder, TEXT_BYTES).scan()
    (entry,) = scan.entries
    assert (entry.source, entry.text, entry.photo) == ("bob.md", None, None)
    told = read_story(entry, TEXT_BYTES)
    assert told.problems == (
        "bob.md is a link to somewhere outside the stories folder; "
        "copy the file into the stories folder instead of linking to it",
    )
    assert (told.body, told.text_bytes) == ("", b"")
    assert reads == []


def test_a_linked_photo_outside_the_folder_is_a_problem_of_its_story(folder: Path) -> None:
    outside = folder.parent / "elsewhere.jpg"
    outside.write_bytes(JPEG)
    make_tree(folder, {"bob.md": story("Bob")})
    (folder / "bob.jpg").symlink_to(outside)
    scan = Scanner(folder, TEXT_BYTES).scan()
    (entry,) = scan.entries
    assert entry.photo is None
    assert "bob.jpg is a link to somewhere outside the stories folder" in entry.problems[0]
    assert outside not in files(scan)


def test_a_linked_folder_outside_is_not_walked(folder: Path, reads: list[Path]) -> None:
    elsewhere = make_tree(folder.parent / "elsewhere", {"ana.md": story("Ana"), "ana.jpg": JPEG})
    (folder / "shared").symlink_to(elsewhere, target_is_directory=True)
    scan = Scanner(folder, TEXT_BYTES).scan()
    (entry,) = scan.entries
    assert (entry.source, entry.text, entry.photo) == ("shared", None, None)
    assert entry.problems == (
        "shared is a link to somewhere outside the stories folder; "
        "copy the folder into the stories folder instead of linking to it",
    )
    assert reads == []


def test_links_inside_the_folder_are_followed_once(folder: Path) -> None:
    make_tree(folder, {"a/bob.md": story("Bob"), "a/bob.jpg": JPEG, "photos/ana.jpg": JPEG})
    (folder / "a" / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "ana.jpg").symlink_to(folder / "photos" / "ana.jpg")
    make_tree(folder, {"ana.md": story("Ana")})
    found = entries(folder)
    assert sorted(found) == ["a", "ana.md"]
    assert found["ana.md"].photo == folder / "ana.jpg"  # so photos/ana.jpg is not a lone photo


# ---- headers ----------------------------------------------------------------------------------


def test_yaml_header(folder: Path) -> None:
    told = only_story(
        folder,
        {
            "babette-ruiz.md": (
                "---\n"
                "Name: Babette Ruiz\n"
                "ROLE: Swing-shift foreman\n"
                "Company: Ruiz Tooling\n"
                "location: Halle 3\n"
                "quote: “We never stop the line.”\n"
                "Photo Alt: Babette at the press\n"
                "start: 2026-12-01\n"
                "end: 2026-12-24 18:00\n"
                "tags: [Night Shift, press]\n"
                "consent: yes\n"
                "Years-Here: 12\n"
                "Languages: [de, es]\n"
                "---\n"
                "\n"
                "She **keeps** the line running.\n"
            ),
            "babette-ruiz.jpg": JPEG,
        },
    )
    assert told.problems == ()
    assert told.name == "Babette Ruiz"
    assert told.role == "Swing-shift foreman"
    assert told.organization == "Ruiz Tooling"
    assert told.location == "Halle 3"
    assert told.quote == "We never stop the line."
    assert told.photo_alt == "Babette at the press"
    assert (told.start, told.end) == ("2026-12-01", "2026-12-24T18:00:00")
    assert told.tags == ("night shift", "press")
    assert told.consent is True
    assert told.extra == {"years_here": 12, "languages": ["de", "es"]}
    assert told.body == "She **keeps** the line running."
    assert told.html == "<p>She <strong>keeps</strong> the line running.</p>\n"
    assert told.photo == folder / "babette-ruiz.jpg"
    assert told.needs_story is False
    assert told.text_bytes == (folder / "babette-ruiz.md").read_bytes()


def test_toml_header(folder: Path) -> None:
    told = only_story(
        folder,
        {
            "ana.md": (
                '+++\nname = "Ana Lind"\nCompany = "Lind AB"\ntags = ["Office", "Sweden"]\n'
                "start = 2026-12-01\nend = 2026-12-02T08:00:00\nconsent = true\n"
                'shift = "early"\n+++\nAna runs the front desk.\n'
            )
        },
    )
    assert told.problems == ()
    assert (told.name, told.organization, told.tags) == (
        "Ana Lind",
        "Lind AB",
        ("office", "sweden"),
    )
    assert (told.start, told.end, told.consent) == ("2026-12-01", "2026-12-02T08:00:00", True)
    assert told.extra == {"shift": "early"}
    assert told.body == "Ana runs the front desk."


def test_plain_header_for_people_who_never_saw_yaml(folder: Path) -> None:
    told = only_story(
        folder,
        {
            "zoe.txt": (
                "Name: Zoë Martin\n"
                "company: Martin & Söhne\n"
                "Photo-alt: Zoë at her desk\n"
                'Quote: "Ask twice,\n'
                '  cut once."\n'
                "Tags: Office, Night shift\n"
                "Consent: ja\n"
                "Favourite tool: the 10 mm spanner\n"
                "\n"
                "Zoë has run purchasing since 2009.\n"
                "Note: she also bakes.\n"
            )
        },
    )
    assert told.problems == ()
    assert (told.name, told.organization) == ("Zoë Martin", "Martin & Söhne")
    assert told.photo_alt == "Zoë at her desk"
    assert told.quote == "Ask twice, cut once."
    assert told.tags == ("office", "night shift")
    assert told.consent is True
    assert told.extra == {"favourite_tool": "the 10 mm spanner"}
    assert told.body == "Zoë has run purchasing since 2009.\nNote: she also bakes."


def test_plain_header_without_the_blank_line_still_finds_the_story(folder: Path) -> None:
    told = only_story(folder, {"bo.txt": "Name: Bo\nRole: Driver\nBo drives the night route.\n"})
    assert (told.name, told.role, told.body) == ("Bo", "Driver", "Bo drives the night route.")


@pytest.mark.parametrize(
    "text",
    [
        "---\nname:\u00a0Jordan Alvarez\nro\u00adle: Driver\u00a0lead\n"
        "quote: “Safety first: always”\n---\nBody.\n",
        "Name:\u00a0Jordan Alvarez\nRo\u00adle: Driver\u00a0lead\n"
        "Quote: “Safety first: always”\n\nBody.\n",
        "Name\u00a0: Jordan Alvarez\nRo\u00adle:\u00a0Driver\u00a0lead\n"
        "Quote:\u00a0„Safety first: always“\n\nBody.\n",
        '+++\nname\u00a0= “Jordan Alvarez”\nro\u00adle = "Driver\u00a0lead"\n'
        "quote = “Safety first: always”\n+++\nBody.\n",
        "---\nname: ‘Jordan Alvarez’\nrole: Driver lead\n"
        "quote: “Safety first: “always””\n---\nBody.\n",
    ],
    ids=["yaml", "plain", "plain-spaced", "toml", "single-quotes"],
)
def test_word_smart_quotes_and_invisible_characters_in_headers(folder: Path, text: str) -> None:
    told = only_story(folder, {"jordan.md": text})
    assert told.problems == ()
    assert (told.name, told.role) == ("Jordan Alvarez", "Driver lead")
    assert told.quote.startswith("Safety first: ")
    assert told.body == "Body."


@pytest.mark.parametrize(
    "text",
    [
        "Babette Ruiz joined us in 1998: a story.\n\nShe runs the line.\n",
        "https://example.com/babette\n\nShe runs the line.\n",
        "# Babette Ruiz\n\nShe runs the line.\n",
    ],
)
def test_a_file_without_a_header_asks_for_a_name(folder: Path, text: str) -> None:
    told = only_story(folder, {"babette.md": text})
    assert told.problems == ("babette.md has no name; add a line `name: Full Name` at the top",)
    assert told.name == "Babette"  # from the file name, so the admin list still reads well
    assert "She runs the line." in told.body


def test_missing_name_in_a_yaml_header(folder: Path) -> None:
    told = only_story(folder, {"team/bob.md": "---\nrole: Driver\n---\nBody\n"})
    assert told.problems == ("team/bob.md has no name; add a line `name: Full Name` at the top",)


def test_yaml_mistake_names_the_line(folder: Path) -> None:
    told = only_story(
        folder, {"bob.md": "---\nname: Bob\nquote: Safety first: always\n---\nBody\n"}
    )
    (problem,) = told.problems
    assert problem.startswith("bob.md: the header has a mistake on line 3 (")
    assert "needs quotes around it" in problem


def test_toml_mistake_names_the_line(folder: Path) -> None:
    told = only_story(folder, {"bob.md": '\n+++\nname = "Bob"\nrole = Driver\n+++\nBody\n'})
    (problem,) = told.problems
    assert problem.startswith("bob.md: the header between the +++ lines has a mistake (")
    assert "on line 4)" in problem


def test_unclosed_header(folder: Path) -> None:
    told = only_story(folder, {"bob.md": "---\nname: Bob\n\nBody\n"})
    assert told.problems == (
        "bob.md: the header that starts with --- on line 1 is never closed; "
        "add a line with just --- after the last field",
    )


@pytest.mark.parametrize(
    "text",
    [
        "---\n- name\n- Bob\n---\n",
        "---\nname: &n Bob\nrole: *n\n---\n",
        "---\nname: [" + "[" * 5000 + "\n---\n",
        "---\nstart: 2026-13-45\n---\n",
        "+++\nname = " + "[" * 5000 + "\n+++\n",
        "---\n---\n",
    ],
)
def test_strange_headers_become_problems_not_errors(folder: Path, text: str) -> None:
    told = only_story(folder, {"bob.md": text})
    assert told.problems
    assert all(p.startswith("bob.md") for p in told.problems)
    assert not any("recursion" in p for p in told.problems)


def test_empty_body_needs_a_story(folder: Path) -> None:
    told = only_story(folder, {"bob.md": story("Bob", body=""), "bob.jpg": JPEG})
    assert (told.needs_story, told.problems, told.html) == (True, (), "")


# ---- fields -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("2026-12-01", "2026-12-01"),
        ("2026-12-1", "2026-12-01"),
        ("2026-12-01 08:00", "2026-12-01T08:00:00"),
        ("2026-12-01T08:00", "2026-12-01T08:00:00"),
        ("2026-12-01 08:00:30", "2026-12-01T08:00:30"),
    ],
)
@pytest.mark.parametrize("style", ["plain", "yaml"])
def test_dates_are_normalised(folder: Path, written: str, normalised: str, style: str) -> None:
    text = f"name: Bob\nstart: {written}\n\nBody\n"
    if style == "yaml":
        text = f"---\nname: Bob\nstart: {written}\n---\nBody\n"
    told = only_story(folder, {"bob.md": text})
    assert (told.start, told.problems) == (normalised, ())


@pytest.mark.parametrize("written", ["next week", "01.12.2026", "2026-13-01", "2026-12-01 25:00"])
def test_a_date_that_is_not_a_date(folder: Path, written: str) -> None:
    told = only_story(folder, {"bob.md": f"name: Bob\nend: {written}\n\nBody\n"})
    assert told.end is None
    assert told.problems == (
        f"bob.md: end: {written} is not a date; write it as YYYY-MM-DD, for example 2026-12-01 "
        "(a time may follow: 2026-12-01 08:00)",
    )


def test_end_before_start(folder: Path) -> None:
    told = only_story(folder, {"bob.md": story("Bob", start="2026-12-24", end="2026-12-01")})
    (problem,) = told.problems
    assert problem.startswith("bob.md: end (2026-12-01) is before start (2026-12-24)")
    # A bare end date lasts until midnight: a start at that midnight leaves no time at all.
    told = only_story(folder, {"bob.md": story("Bob", start="2026-12-25 00:00", end="2026-12-24")})
    (problem,) = told.problems
    assert problem.startswith("bob.md: end (2026-12-24) is before start (2026-12-25T00:00:00)")


def test_a_single_day_is_a_valid_window(folder: Path) -> None:
    told = only_story(folder, {"bob.md": story("Bob", start="2026-12-24 08:00", end="2026-12-24")})
    assert told.problems == ()


@pytest.mark.parametrize(
    ("written", "agreed"),
    [("yes", True), ("Yes", True), ("true", True), ("y", True), ("1", True), ("ja", True)]
    + [("oui", True), ("no", False), ("", False), ("maybe", False)],
)
def test_consent(folder: Path, written: str, agreed: bool) -> None:
    told = only_story(folder, {"bob.md": f"name: Bob\nconsent: {written}\n\nBody\n"})
    assert told.consent is agreed


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("“Never stop the line.”", "Never stop the line."),
        ('"Never stop the line."', "Never stop the line."),
        ("'Never stop the line.'", "Never stop the line."),
        ("Never stop the line.", "Never stop the line."),
        ("It's the workers'", "It's the workers'"),
    ],
)
def test_quote_loses_its_quotation_marks(folder: Path, written: str, shown: str) -> None:
    told = only_story(folder, {"bob.md": f"name: Bob\nquote: {written}\n\nBody\n"})
    assert told.quote == shown


def test_markdown_shows_raw_html_as_text_and_drops_javascript_links(folder: Path) -> None:
    body = (
        "<script>alert(1)</script>\n\n"
        "[click](javascript:alert(1)) or [our site](https://example.com)\n\n"
        '<img src=x onerror="alert(1)">\n'
    )
    told = only_story(folder, {"bob.md": story("Bob", body=body)})
    assert "<script>" not in told.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in told.html
    assert "<img" not in told.html
    assert 'href="javascript' not in told.html
    assert '<a href="https://example.com">our site</a>' in told.html


# ---- encodings and limits ---------------------------------------------------------------------

HEADER = "---\nname: Zoë – café\n---\nLine one\nLine two\n"


@pytest.mark.parametrize(
    "raw",
    [
        HEADER.encode("utf-8"),
        b"\xef\xbb\xbf" + HEADER.encode("utf-8"),
        ("\ufeff" + HEADER.replace("\n", "\r\n")).encode("utf-16-le"),
        ("\ufeff" + HEADER).encode("utf-16-be"),
        HEADER.replace("\n", "\r\n").encode("utf-16-le"),
        HEADER.replace("\n", "\r\n").encode("cp1252"),
        HEADER.replace("\n", "\r").encode("utf-8"),
    ],
    ids=[
        "utf-8",
        "utf-8-bom",
        "utf-16-le-bom-crlf",
        "utf-16-be-bom",
        "utf-16-no-bom",
        "cp1252",
        "cr",
    ],
)
def test_encodings_and_line_endings(folder: Path, raw: bytes) -> None:
    told = only_story(folder, {"zoe.md": raw})
    assert told.problems == ()
    assert told.name == "Zoë – café"
    assert told.body == "Line one\nLine two"
    assert told.text_bytes == raw


@pytest.mark.parametrize(
    "raw",
    [b"name: Bob\n\n\x00\x01\x02\x03 PK junk", b"\x00" * 512, JPEG],
    ids=["junk", "zeros", "jpeg"],
)
def test_binary_data_in_a_text_file(folder: Path, raw: bytes) -> None:
    told = only_story(folder, {"bob.txt": raw})
    assert told.problems == (
        "bob.txt does not look like text (it holds binary data); "
        "save it as plain text (.md or .txt)",
    )


def test_a_text_over_the_limit_is_a_problem_and_is_not_read_further(folder: Path) -> None:
    told = only_story(
        folder, {"story.md": story("Bob", body="x" * (120 * 1024 - 30)).ljust(120 * 1024)}
    )
    assert told.problems == ("story.md is 120 KB; stories must be under 64 KB — shorten it",)
    assert len(told.text_bytes) == 64 * 1024 + 1


def test_the_limit_can_be_changed(folder: Path) -> None:
    make_tree(folder, {"bob.md": story("Bob", body="x" * 2100)})
    (entry,) = Scanner(folder, max_text_bytes=1024).scan().entries
    assert read_story(entry, max_text_bytes=1024).problems == (
        "bob.md is 3 KB; stories must be under 1 KB — shorten it",
    )
    assert read_story(entry, TEXT_BYTES).problems == ()


def test_an_empty_text_file(folder: Path) -> None:
    told = only_story(folder, {"babette-ruiz/story.md": "", "babette-ruiz/photo.jpg": JPEG})
    assert told.problems == (
        "babette-ruiz/story.md is empty; write the story in it (starting with `name: Full Name`) "
        "or delete it",
    )
    assert told.name == "Babette Ruiz"


# ---- many files -------------------------------------------------------------------------------


def test_rescanning_3000_files_only_reads_what_changed(folder: Path, reads: list[Path]) -> None:
    files: dict[str, str | bytes] = {}
    for n in range(1500):
        files[f"batch{n % 10}/person-{n}.md"] = story(f"Person {n}")
        files[f"batch{n % 10}/person-{n}.jpg"] = JPEG
    make_tree(folder, files)
    scanner = Scanner(folder, TEXT_BYTES)

    first = scanner.scan()
    assert len(first.entries) == 1500
    assert all(e.photo is not None and not e.problems for e in first.entries)
    assert len(reads) == 1500

    reads.clear()
    second = scanner.scan()
    assert second.entries == first.entries
    assert reads == []

    changed = folder / "batch7/person-7.md"
    changed.write_text(story("Person 7", role="Welder"))
    third = {e.source: e.fingerprint for e in scanner.scan().entries}
    assert reads == [changed]
    before = {e.source: e.fingerprint for e in first.entries}
    assert {s for s in before if before[s] != third[s]} == {"batch7/person-7.md"}
