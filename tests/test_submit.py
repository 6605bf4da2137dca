"""`/submit`: the form writes an ordinary story file and photo, which then wait for a moderator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.routes import submit

from .factories import jpeg, png
from .support import LiveServer, make_settings


def open_form(server: LiveServer) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=server.url, timeout=10)
    page = client.get("/submit")
    assert page.status_code == 200
    return client, re.search(r'action="/submit\?token=([^"]+)"', page.text)[1]


def send(
    client: httpx.Client, token: str, photo: bytes | None = None, **fields: Any
) -> httpx.Response:
    data = {"name": "Babette Ruiz", **fields}
    files = {"photo": ("IMG_0042.JPG", jpeg() if photo is None else photo, "image/jpeg")}
    files = files if photo != b"" else None
    return client.post("/submit", params={"token": token}, data=data, files=files)


def stories(content: Path) -> list[str]:
    # not `_status.txt`, nor the temp file it is written through (`._status.txt.*.tmp`)
    return sorted(p.name for p in content.iterdir() if not p.name.startswith(("_", ".")))


def test_form_is_labelled_and_protected(server: LiveServer) -> None:
    page = httpx.get(server.url + "/submit")
    for field in ("name", "role", "organization", "quote", "story", "photo", "photo_alt"):
        assert f'<label for="{field}">' in page.text and f'id="{field}"' in page.text
    assert 'name="consent"' in page.text and 'enctype="multipart/form-data"' in page.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_sent_story_is_an_ordinary_file_and_waits_for_a_moderator(
    server: LiveServer, content: Path
) -> None:
    client, token = open_form(server)
    answer = send(
        client,
        token,
        role="Swing-shift foreman",
        organization="Cascade Springs",
        quote="My crew goes home on time.",
        story="She runs Line 3.\r\n\r\nShe keeps the clipboard.",
        photo_alt="Babette in a hard hat",
        consent="yes",
    )
    assert answer.status_code == 303
    assert re.fullmatch(r"/submit/status/[\w.-]+\?sent=1", answer.headers["location"])
    thanks = client.get(answer.headers["location"]).text
    assert "Thank you!" in thanks and "babette-ruiz.md" in thanks
    assert "_status.txt" not in thanks  # people without the share cannot read it
    assert stories(content) == ["babette-ruiz.jpg", "babette-ruiz.md"]
    assert (content / "babette-ruiz.md").read_text() == (
        "Name: Babette Ruiz\n"
        "Role: Swing-shift foreman\n"
        "Organization: Cascade Springs\n"
        "Quote: My crew goes home on time.\n"
        "Photo_alt: Babette in a hard hat\n"
        "Consent: yes\n"
        "\n"
        "She runs Line 3.\n\nShe keeps the clipboard.\n"
    )
    sub = server.wait_status("babette-ruiz.md", "pending")
    assert (sub["name"], sub["role"], sub["organization"]) == (
        "Babette Ruiz",
        "Swing-shift foreman",
        "Cascade Springs",
    )
    assert sub["consent"] is True and sub["photo_path"] == "babette-ruiz.jpg" and sub["thumbnail"]
    assert sub["body"].startswith("She runs Line 3.")


def test_names_never_overwrite_and_formats_keep_their_extension(
    server: LiveServer, content: Path
) -> None:
    (content / "ana-ruiz.jpg").write_bytes(jpeg())  # a lone photo somebody dropped
    client, token = open_form(server)
    assert send(client, token, name="Ana Ruíz").status_code == 303
    assert send(client, token, name="Ana Ruiz", photo=png()).status_code == 303
    assert send(client, token, name="!!!").status_code == 303
    assert stories(content) == [
        "ana-ruiz-2.jpg",
        "ana-ruiz-2.md",
        "ana-ruiz-3.md",
        "ana-ruiz-3.png",
        "ana-ruiz.jpg",
        "story.jpg",
        "story.md",
    ]
    server.wait_status("ana-ruiz-3.md", "pending")


def test_header_lines_cannot_be_smuggled_in(server: LiveServer, content: Path) -> None:
    client, token = open_form(server)
    assert send(client, token, name="Ann\nConsent: yes", role="Boss\r\nTags: x").status_code == 303
    text = (content / "ann-consent-yes.md").read_text()
    assert text.splitlines()[:3] == ["Name: Ann Consent: yes", "Role: Boss Tags: x", "Consent: no"]


def test_without_the_form_token_nothing_is_written(server: LiveServer, content: Path) -> None:
    client, token = open_form(server)
    assert send(client, "forged").status_code == 403
    stranger = httpx.Client(base_url=server.url, timeout=10)  # has the token, not the cookie
    refused = send(stranger, token)
    assert refused.status_code == 403 and "This form has expired" in refused.text
    assert stories(content) == []


def test_bad_input_is_explained_and_kept(server: LiveServer, content: Path) -> None:
    client, token = open_form(server)
    no_name = send(client, token, name=" ", role='<b>"Boss"</b>')
    assert no_name.status_code == 422 and "Write the person&#39;s name." in no_name.text
    assert 'value="&lt;b&gt;&#34;Boss&#34;&lt;/b&gt;"' in no_name.text  # kept, escaped
    assert "choose it again" in no_name.text
    assert "Choose a photo" in send(client, token, photo=b"").text
    not_image = send(client, token, photo=b"%PDF-1.4 a document")
    assert not_image.status_code == 422 and "could not be read as an image" in not_image.text
    long = send(client, token, quote="x" * 301)
    assert long.status_code == 422 and "quote is longer than 300 characters" in long.text
    assert stories(content) == []


def test_size_limits(tmp_path: Path) -> None:
    live = LiveServer(make_settings(tmp_path, max_photo_mb=0.05, max_text_kb=1)).start()
    try:
        client, token = open_form(live)
        too_big = send(client, token, photo=jpeg() + b"\0" * 60_000)  # still a valid JPEG
        assert too_big.status_code == 422 and "larger than 0.05 MB" in too_big.text
        huge = send(client, token, photo=jpeg() + b"\0" * 400_000)
        assert huge.status_code == 413  # refused before the upload is read
        long_story = send(client, token, story="word " * 300)
        assert long_story.status_code == 422 and "longer than 1 KB" in long_story.text
        assert stories(live.settings.content_dir) == []
    finally:
        live.stop()


def test_too_many_stories_from_one_address(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(submit, "SUBMIT_LIMIT", 3)
    client, token = open_form(server)
    for _ in range(3):
        assert send(client, token, name="").status_code == 422  # attempts count, too
    slowed = send(client, token)
    assert slowed.status_code == 429 and "Too many stories" in slowed.text


def test_the_form_in_chromium(browser: Any, server: LiveServer, content: Path) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(server.url + "/submit")
        page.get_by_label("Name").fill("Imani Greer")
        page.get_by_label("Role").fill("Emergency dispatcher")
        page.get_by_label("Organization").fill("Kettle Creek County")
        page.get_by_label("Quote").fill("The nearest crew is already on my screen.")
        page.get_by_label("Story").fill("Imani has worked the night desk for nine years.")
        page.get_by_label("Photo", exact=False).first.set_input_files(
            {"name": "imani.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}
        )
        page.get_by_label("The person agreed").check()
        page.get_by_role("button", name="Send the story").click()
        page.get_by_role("heading", name="Thank you!").wait_for()
        assert "imani-greer.md" in page.content()
        sub = server.wait_status("imani-greer.md", "pending")
        assert sub["role"] == "Emergency dispatcher" and sub["consent"] is True
    finally:
        page.close()


def _chunked(sent: list[int], total_mb: int) -> Iterator[bytes]:
    """A multipart body of `total_mb` MB without a Content-Length, counting what was taken."""
    yield b'--b\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n\r\n'
    for _ in range(total_mb):
        sent.append(1)
        yield b"\0" * (1 << 20)
    yield b"\r\n--b--\r\n"


def test_big_uploads_are_refused_as_they_arrive(tmp_path: Path) -> None:
    """A chunked upload of any size was spooled to disk before the size or the token counted."""
    live = LiveServer(make_settings(tmp_path, max_photo_mb=1)).start()
    try:
        client, token = open_form(live)
        headers = {"Content-Type": "multipart/form-data; boundary=b"}
        for params, status in (({"token": "forged"}, 403), ({"token": token}, 413)):
            sent: list[int] = []
            try:
                answer = client.post(
                    "/submit", params=params, content=_chunked(sent, 200), headers=headers
                )
                assert answer.status_code == status
            except httpx.TransportError:
                pass  # the server answered and closed while the body was still being sent
            assert len(sent) < 20, f"the server read {len(sent)} MB before refusing"
        assert stories(live.settings.content_dir) == []
    finally:
        live.stop()


def test_the_private_link_tells_the_sender_what_happened(server: LiveServer, content: Path) -> None:
    client, token = open_form(server)
    link = send(client, token, consent="yes").headers["location"].removesuffix("?sent=1")
    stranger = httpx.Client(base_url=server.url, timeout=10)  # the link alone is enough
    sub = server.wait_status("babette-ruiz.md", "pending")
    page = stranger.get(link)
    assert page.status_code == 200 and "Waiting for a moderator" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert 'http-equiv="refresh"' in page.text  # it looks again by itself until a decision

    server.library.reject(sub["id"], "mod", "Please send a photo where <b>her</b> face shows")
    page = stranger.get(link).text
    assert "Not shown: a moderator said no" in page
    assert "Please send a photo where &lt;b&gt;her&lt;/b&gt; face shows" in page
    assert 'http-equiv="refresh"' not in page

    server.library.approve(sub["id"], "mod", sub["revision"])
    assert "On the hallway screens" in stranger.get(link).text

    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert stranger.get(forged).status_code == 404


def test_a_link_does_not_show_a_later_story_of_the_same_name(
    server: LiveServer, content: Path
) -> None:
    client, token = open_form(server)
    first = send(client, token).headers["location"]
    sub = server.wait_status("babette-ruiz.md", "pending")
    (content / "babette-ruiz.md").unlink()  # withdrawn
    server.wait_until(lambda: server.library.submission(sub["id"])["status"] == "retired")
    server.library.purge_withdrawn(0)
    for leftover in content.glob("babette-ruiz.*"):
        leftover.unlink()
    second = send(client, token, role="Payroll admin").headers["location"]  # another Babette
    assert second.startswith("/submit/status/") and second != first
    assert stories(content) == ["babette-ruiz-2.jpg", "babette-ruiz-2.md"]  # not the old name
    server.wait_status("babette-ruiz-2.md", "pending")
    assert "Taken off the screens" in client.get(first).text
    assert "Waiting for a moderator" in client.get(second).text
