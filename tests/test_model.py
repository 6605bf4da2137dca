"""kiosk.model is the one description of a story. Whatever lists story fields, statuses or the
focal default derives from it; these tests fail when a place forgets a field."""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from kiosk.ingest.pipeline import Limits, prepare, record
from kiosk.ingest.scan import Scanner
from kiosk.ingest.story import Story
from kiosk.library import Library
from kiosk.model import (
    EDITABLE,
    STORY_FIELDS,
    TEXT_FIELDS,
    FocalPoint,
    Kind,
    OnScreen,
    Revision,
    Status,
    StoryFields,
    Submission,
)
from kiosk.routes import admin_models, display
from kiosk.settings import Settings

from .factories import jpeg, make_tree, story
from .support import LiveServer, add_users, signed_in


class _Form(HTMLParser):
    """The form controls of a page by name, and the text of each label by its `for`."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: dict[str, dict[str, str | None]] = {}
        self.labels: dict[str, str] = {}
        self._label: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("input", "textarea") and found.get("name"):
            self.controls[str(found["name"])] = {"tag": tag, **found}
        elif tag == "label" and found.get("for"):
            self._label = str(found["for"])
            self.labels[self._label] = ""

    def handle_data(self, data: str) -> None:
        if self._label:
            self.labels[self._label] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label = None


def test_admin_page_gets_every_field_with_its_label_and_limit(server: LiveServer) -> None:
    add_users(server)
    page = signed_in(server).get("/admin").text
    config = json.loads(re.search(r'id="admin-config">(.*?)</script>', page, re.S)[1])
    keys = ("name", "label", "kind", "limit", "required", "editable", "hint")
    served = [tuple(f[k] for k in keys) for f in config["fields"]]
    assert served == [tuple(getattr(f, k) for k in keys) for f in STORY_FIELDS]


def test_submit_form_asks_for_every_field_staff_write_with_its_limit(server: LiveServer) -> None:
    form = _Form()
    form.feed(httpx.get(server.url + "/submit").text)
    expected: set[str] = set()  # the CSRF token travels in the form's address
    for f in STORY_FIELDS:
        if f.kind is Kind.TEXT:
            control = form.controls[f.name]
            assert control["maxlength"] == str(f.limit), f.name
            assert ("required" in control) == f.required, f.name
            assert form.labels[f.name].startswith(f.label), f.name
            expected.add(f.name)
        elif f.kind is Kind.BODY:  # the form calls it "story", as staff do
            assert form.controls["story"]["tag"] == "textarea"
            assert form.labels["story"].startswith(f.label)
            expected.add("story")
        elif f.kind is Kind.PHOTO:
            assert form.controls[f.name]["type"] == "file" and "required" in form.controls[f.name]
            expected.add(f.name)
        elif f.kind is Kind.BOOL:  # a checkbox whose label is the whole sentence
            assert form.controls[f.name]["type"] == "checkbox"
            expected.add(f.name)
        # Dates and tags are the moderators' to set; the reader works out flags and extras.
    assert set(form.controls) == expected


def test_what_the_library_returns_is_what_its_types_say(tmp_path: Path) -> None:
    content = make_tree(tmp_path / "content", {"ana.md": story("Ana Lima"), "ana.jpg": jpeg()})
    limits = Limits.from_settings(Settings())
    (entry,) = Scanner(content.resolve(), limits.text_bytes).scan().entries
    media = tmp_path / "media"
    media.mkdir()
    item = prepare(entry, limits, media_dir=media, content_dir=content.resolve())
    library = Library(tmp_path / "kiosk.db")
    sid = record(library, item).submission_id
    assert set(item.fields()) == StoryFields.__required_keys__
    assert set(library.submission(sid)) == Submission.__required_keys__
    approved = library.approve(sid, "mod")
    assert set(approved["on_screen"]) == Revision.__required_keys__
    assert set(library.on_screen()[0]) == OnScreen.__required_keys__
    assert approved["status"] == Status.APPROVED and approved["focal"] == [0.5, 0.3]
    assert set(library.counts()) == set(Status)


def test_typed_records_and_api_models_hold_the_model_fields() -> None:
    in_fields = {f.name for f in STORY_FIELDS if f.in_fields}
    assert StoryFields.__required_keys__ == in_fields
    assert {f.name for f in STORY_FIELDS} <= {f.name for f in dataclasses.fields(Story)}
    answered = {f.name for f in STORY_FIELDS if f.kind is not Kind.PHOTO}
    assert answered <= set(admin_models.Revision.model_fields)
    assert answered <= Revision.__required_keys__
    patchable = set(admin_models.SubmissionPatch.model_fields) - {"focal", "pinned", "position"}
    assert patchable == EDITABLE
    assert {f.name for f in TEXT_FIELDS} <= set(display.Slide.model_fields)


def test_a_text_field_needs_a_limit() -> None:
    with pytest.raises(ValueError, match="a text field needs a limit"):
        dataclasses.replace(TEXT_FIELDS[0], limit=None)


# --- FocalPoint -------------------------------------------------------------------------


def test_focal_point_defaults_to_upper_middle() -> None:
    assert FocalPoint().pair() == (0.5, 0.3)
    assert admin_models.Revision.model_fields["focal"].default == (0.5, 0.3)


@pytest.mark.parametrize("value", [[0.2, 0.8], (0, 1), [1, 0.0]])
def test_focal_point_parses_two_fractions(value: object) -> None:
    assert FocalPoint.parse(value) == FocalPoint(float(value[0]), float(value[1]))


@pytest.mark.parametrize(
    "value",
    [None, "0.5,0.3", [0.5], [0.1, 0.2, 0.3], [1.2, 0.5], [0.5, -0.1], ["0.5", "0.3"],
     [True, False], [float("nan"), 0.5], {"x": 0.5, "y": 0.3}],
)  # fmt: skip
def test_focal_point_rejects_anything_else(value: object) -> None:
    with pytest.raises(ValueError, match="focal point must be two numbers between 0 and 1"):
        FocalPoint.parse(value)
