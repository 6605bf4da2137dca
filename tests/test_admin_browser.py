"""The admin page in real Chromium: a moderator's whole job, on a laptop and on a phone.

With KIOSK_UPDATE_SCREENSHOTS=1 the screenshots go to docs/screenshots/ (for the moderators'
guide); otherwise to a temp folder, so a test run leaves the repository as it was.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, Route, expect

from kiosk.assets import code_version
from kiosk.auth import SESSION_COOKIE
from kiosk.settings import Settings

from .factories import jpeg, make_tree, seed_pending, story
from .support import (
    PASSWORD,
    LiveServer,
    add_users,
    first_screenful,
    make_settings,
    signed_in,
)

REPO = Path(__file__).resolve().parent.parent
# A preview has faded in: its player showed the slide and the crossfade is over.
PREVIEW_SHOWN = """(frame) => {
    const doc = frame.contentDocument;
    const layer = doc && doc.querySelector('.is-active');
    return Boolean(layer) && doc.getAnimations().length === 0;
}"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The page polls every 0.3 s instead of 3 s: what arrives by polling shows up sooner.
    return make_settings(tmp_path, admin_poll_seconds=0.3)


@pytest.fixture
def page(browser: Any, server: LiveServer) -> Iterator[Page]:
    add_users(server)
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], "the admin page threw JavaScript errors"


def sign_in(page: Page, server: LiveServer, name: str = "mod") -> None:
    page.goto(server.url + "/admin")
    expect(page).to_have_url(re.compile("/admin/login$"))  # no session yet
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("tab", name=re.compile("^Pending"))).to_have_attribute(
        "aria-selected", "true"
    )
    # The page's modules run (the tab is in the address): until then the tabs only look ready.
    expect(page).to_have_url(re.compile("/admin#pending$"))


def card(page: Page, name: str) -> Any:
    return page.locator("article.card", has_text=name)


def show_preview(page: Page, story: Any) -> Any:
    """Open a card's slide preview (drawn on demand) and wait until its player shows the slide;
    the preview's frame."""
    opener = story.locator("details[data-part=preview]")
    if opener.get_attribute("open") is None:
        opener.locator("summary").click()
    frame = story.locator(".preview iframe")
    frame.scroll_into_view_if_needed()
    page.wait_for_function(PREVIEW_SHOWN, arg=frame.element_handle())
    return frame


def test_a_reject_without_a_reason_is_explained_on_its_card(
    page: Page, server: LiveServer, content: Path
) -> None:
    # Enough stories that the last card is far below the status line at the top of the page.
    names = [f"Person {n:02}" for n in range(8)]
    make_tree(content, {f"p{n}.md": story(name) for n, name in enumerate(names)})
    make_tree(content, {f"p{n}.jpg": jpeg() for n in range(len(names))})
    sign_in(page, server)
    last = card(page, names[-1])
    expect(last).to_be_visible()
    last.scroll_into_view_if_needed()
    field = last.get_by_label("Reason for rejecting")
    error = last.get_by_role("alert")

    last.get_by_role("button", name="Reject").click()
    expect(error).to_have_text(re.compile("^Write a reason"))
    expect(error).to_be_in_viewport()
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    assert server.wait_status("p7.md", "pending")["decision"] is None

    field.fill("x" * 501)  # the server's own limit comes back to the same place
    last.get_by_role("button", name="Reject").click()
    expect(error).to_have_text(re.compile("under 500 characters"))
    expect(error).to_be_in_viewport()
    expect(page.locator("#failure")).to_have_text("")

    field.fill("The photo is blurred")
    expect(error).to_be_hidden()
    last.get_by_role("button", name="Reject").click()
    expect(last).to_have_count(0)
    assert server.wait_status("p7.md", "rejected")["decision"]["reason"] == "The photo is blurred"


def test_moderator_approves_rejects_and_sets_the_focal_point(
    page: Page, server: LiveServer, content: Path
) -> None:
    sign_in(page, server)
    expect(page.get_by_text("Nothing is waiting.")).to_be_visible()
    page.evaluate("window.sameDocument = true")

    make_tree(content, {"ana.md": story("Ana Alvarez", role="Foreman"), "ana.jpg": jpeg()})
    ana = card(page, "Ana Alvarez")
    expect(ana).to_be_visible()  # arrives by server-sent event: no reload
    assert page.evaluate("window.sameDocument") is True
    expect(ana.locator("iframe")).to_have_count(0)  # a whole player: only when asked for
    expect(show_preview(page, ana)).to_have_attribute("src", re.compile(r"preview=\d+"))
    expect(ana).to_contain_text("ana.md + ana.jpg")
    expect(page.get_by_role("tab", name=re.compile("^Pending"))).to_contain_text("1")
    ana.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved: Ana Alvarez")
    expect(ana).to_have_count(0)
    approved = server.wait_status("ana.md", "approved")
    assert approved["decision"]["by"] == "mod"

    make_tree(content, {"bo.md": story("Bo Berg"), "bo.jpg": jpeg(color=(20, 90, 200))})
    bo = card(page, "Bo Berg")
    bo.get_by_label("Reason for rejecting").fill("The photo is blurred")
    bo.get_by_role("button", name="Reject").click()
    expect(bo).to_have_count(0)
    rejected = server.wait_status("bo.md", "rejected")
    assert rejected["decision"]["reason"] == "The photo is blurred"
    page.get_by_role("tab", name=re.compile("^Rejected")).click()
    expect(page.locator("#panel-rejected")).to_contain_text("The photo is blurred")

    page.get_by_role("tab", name=re.compile("^Pending")).click()
    make_tree(content, {"bo.jpg": jpeg(color=(20, 200, 90))})  # a sharper photo, saved again
    bo = card(page, "Bo Berg")
    expect(bo.locator(".badges")).to_contain_text("Back after a rejection")
    earlier = bo.locator("[data-part=earlier-rejection]")
    expect(earlier).to_contain_text("Rejected before by mod")
    expect(earlier).to_contain_text("The photo is blurred")

    make_tree(content, {"cy.md": story("Cy Chen"), "cy.jpg": jpeg(800, 1000, color=(90, 20, 60))})
    photo = card(page, "Cy Chen").locator(".focal img")
    box = photo.bounding_box()
    photo.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.75})
    expect(page.get_by_role("status")).to_contain_text("Focal point of Cy Chen saved")
    focal = server.wait_until(lambda: server.wait_status("cy.md", "pending")["focal"])
    assert focal == pytest.approx([0.25, 0.75], abs=0.02)
    marker = card(page, "Cy Chen").locator(".focal .marker")
    expect(marker).to_have_css("left", re.compile(r"^\d+(\.\d+)?px$"))
    assert page.evaluate("window.sameDocument") is True

    page.get_by_role("tab", name="Audit log").click()
    audit = page.locator("#panel-audit")
    expect(audit).to_contain_text("approved")
    first_row = audit.locator("tbody tr").first
    expect(first_row).to_contain_text("edited")  # newest first: the focal point
    expect(first_row).to_contain_text("Cy Chen")
    expect(audit.locator("tr", has_text="approved")).to_contain_text("Ana Alvarez")
    expect(audit.locator("tr", has_text="rejected")).to_contain_text("The photo is blurred")


def test_keyboard_tabs_edit_form_and_sign_out(
    page: Page, server: LiveServer, content: Path
) -> None:
    make_tree(content, {"ana.md": story("Ana Mria"), "ana.jpg": jpeg()})
    server.wait_status("ana.md", "pending")
    sign_in(page, server)
    pending = page.get_by_role("tab", name=re.compile("^Pending"))
    pending.focus()
    page.keyboard.press("ArrowRight")
    on_screens = page.get_by_role("tab", name=re.compile("^On the screens"))
    expect(on_screens).to_be_focused()
    expect(on_screens).to_have_attribute("aria-selected", "true")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("ArrowLeft")
    expect(pending).to_be_focused()

    ana = card(page, "Ana Mria")
    ana.get_by_text("Edit details, dates, pin").click()
    ana.get_by_label("Name").fill("Ana Maria")
    ana.get_by_label("Show until (including)").fill("2030-12-31")
    ana.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Saved the changes to Ana Maria")
    sub = server.wait_status("ana.md", "pending")
    assert (sub["name"], sub["end"]) == ("Ana Maria", "2030-12-31")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile("/admin/login$"))
    page.goto(server.url + "/admin")
    expect(page).to_have_url(re.compile("/admin/login$"))


def test_a_tab_clicked_before_the_modules_run_is_the_tab_shown(
    page: Page, server: LiveServer
) -> None:
    """On a Raspberry Pi over Wi-Fi the page's modules can take a second or more to arrive: a
    moderator's click on a tab meanwhile is not lost. Here main.js (which wires the tabs) is held
    back until after the click."""
    session = signed_in(server).cookies[SESSION_COOKIE]
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": session, "url": server.url}])
    held: list[Route] = []
    main_js = re.compile(r"/admin/js/[^/]+/main\.js$")
    page.route(main_js, lambda route: held.append(route))
    with page.expect_request(main_js):
        page.goto(server.url + "/admin", wait_until="commit")

    page.get_by_role("tab", name=re.compile("^On the screens")).click()
    assert len(held) == 1, "main.js should still be held back"
    expect(page.locator("#panel-pending")).to_be_visible()  # nothing has run yet
    held[0].continue_()

    expect(page.locator("#panel-approved")).to_be_visible()
    expect(page.locator("#panel-pending")).to_be_hidden()
    on_screens = page.get_by_role("tab", name=re.compile("^On the screens"))
    expect(on_screens).to_have_attribute("aria-selected", "true")
    expect(on_screens).to_have_attribute("tabindex", "0")
    expect(page).to_have_url(re.compile("/admin#approved$"))
    expect(page.get_by_text("No story is approved yet.")).to_be_visible()

    page.get_by_role("tab", name=re.compile("^Rejected")).click()  # the modules have run now
    expect(page.locator("#panel-rejected")).to_be_visible()
    page.go_back()  # the address says which tab: Back goes back a tab
    expect(page.locator("#panel-approved")).to_be_visible()
    expect(on_screens).to_have_attribute("aria-selected", "true")


def example_content(server: LiveServer, content: Path) -> None:
    """The repository's example stories in every state a moderator meets."""
    for path in (REPO / "content").iterdir():
        if not path.name.startswith("_"):
            copy = shutil.copytree if path.is_dir() else shutil.copyfile
            copy(path, content / path.name)
    make_tree(content, {"lena-fischer.md": story("Lena Fischer"), "lena-fischer.jpg": b"oops"})
    library = server.library
    ids = {
        s: server.wait_status(s, "pending")["id"] for s in ("babette-ruiz.md", "kenji-arakawa.md")
    }
    ids["tomasz"] = server.wait_status("tomasz-wisniewski.md", "pending")["id"]
    library.approve(ids["babette-ruiz.md"], "ann")
    library.approve(ids["kenji-arakawa.md"], "ann")
    library.reject(ids["tomasz"], "ann", "Please send a photo where his face is visible")
    server.wait_status("lena-fischer.md", "problem")
    kenji = content / "kenji-arakawa.md"
    kenji.write_text(kenji.read_text().replace("Bookkeeper", "Head bookkeeper"))
    server.wait_status("kenji-arakawa.md", "pending")
    library.heartbeat("lobby", str(ids["babette-ruiz.md"]), "v1", "10.0.0.21")


def test_queue_on_a_laptop_and_a_phone(
    page: Page, server: LiveServer, content: Path, shots: Path
) -> None:
    example_content(server, content)
    sign_in(page, server, "ann")
    expect(page.locator("article.card")).to_have_count(4)
    kenji = card(page, "Kenji Arakawa")
    expect(kenji.locator("table.diff")).to_contain_text("Head bookkeeper")
    expect(kenji.locator("table.diff td.old")).to_have_text(["Bookkeeper"])
    show_preview(page, kenji)
    kenji.screenshot(path=shots / "admin-changed-version-1366.png")
    show_preview(page, page.locator("article.card").first)
    page.screenshot(path=shots / "admin-queue-1366.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366

    for tab, name in (("On the screens", "on-screens"), ("Problems", "problems")):
        page.get_by_role("tab", name=re.compile(f"^{tab}")).click()
        page.mouse.move(1, 1)  # no hover highlight in the pictures
        page.screenshot(path=shots / f"admin-{name}-1366.png")
    expect(page.locator("#panel-problem")).to_contain_text("lena-fischer.jpg is not a photo")
    page.get_by_role("tab", name="Screens", exact=True).click()
    expect(page.locator("#panel-screens")).to_contain_text("Babette Ruiz")

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("tab", name=re.compile("^Pending")).click()
    show_preview(page, page.locator("article.card").first)
    page.screenshot(path=shots / "admin-queue-390.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    for name in ("admin-queue-1366.png", "admin-queue-390.png", "admin-on-screens-1366.png"):
        assert (shots / name).stat().st_size > 10_000


def test_screens_tab_tells_two_screens_apart_and_accepts_one(
    page: Page, server: LiveServer, shots: Path
) -> None:
    library = server.library
    library.heartbeat("default", None, "v1", "10.0.0.21", accepted=True)
    library.heartbeat("lobby", None, "v1", "10.0.0.5")
    library.heartbeat("lobby", None, "v1", "10.0.0.7")  # another screen, the same name
    sign_in(page, server)
    page.get_by_role("tab", name="Screens", exact=True).click()
    lobby = page.locator("#panel-screens tr", has_text="lobby")
    expect(lobby).to_contain_text(
        "Two screens call themselves lobby: 10.0.0.5 and 10.0.0.7 — give one another name"
    )
    expect(page.locator("#panel-screens tr", has_text="default")).to_contain_text("Accepted")
    page.mouse.move(1, 1)
    page.screenshot(path=shots / "admin-screens-1366.png")
    lobby.get_by_role("button", name="Accept screen lobby").click()
    expect(page.get_by_role("status")).to_contain_text("Accepted screen lobby")
    expect(lobby.get_by_role("button")).to_have_count(0)
    expect(lobby).to_contain_text("Accepted")
    assert [s["accepted"] for s in library.screens() if s["name"] == "lobby"] == [True]


def test_a_story_too_long_for_one_screen_says_on_how_many_pages(
    browser: Any, tmp_path: Path, shots: Path
) -> None:
    upright = {"theme": "portrait", "orientation": "portrait"}
    settings = make_settings(tmp_path, admin_poll_seconds=0.3, screens={"lobby": upright})
    server = LiveServer(settings).start()
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        add_users(server)
        content = settings.content_dir
        example_content(server, content)
        long = " ".join(
            f"Sentence number {i} about the night shift at the dock." for i in range(40)
        )
        make_tree(content, {"ana.md": story("Ana Alvarez", long), "ana.jpg": jpeg()})
        server.wait_status("ana.md", "pending")
        page = context.new_page()
        sign_in(page, server)
        page.select_option("#preview-screen", "lobby")
        ana, kenji = card(page, "Ana Alvarez"), card(page, "Kenji Arakawa")
        frame = show_preview(page, ana).element_handle()
        count = page.wait_for_function("(f) => f.contentWindow.kiosk.page", arg=frame)
        pages = count.json_value()["count"]
        assert pages > 1
        lobby = ana.locator(".pages", has_text="lobby")
        expect(lobby).to_have_text(f"Needs {pages} pages on lobby (upright)")
        # The screens not previewed are measured too, out of sight, listed in screen order.
        default = ana.locator(".pages", has_text="default")
        expect(default).to_have_text(re.compile(r"^Needs \d+ pages on default \(landscape\)$"))
        expect(ana.locator(".pages").first).to_contain_text("default")
        said = default.inner_text()
        show_preview(page, kenji)
        expect(kenji.locator(".pages")).to_have_count(0)  # one page everywhere: nothing to say
        expect(page.locator("iframe.measure")).to_have_count(0, timeout=30000)  # all done
        ana.scroll_into_view_if_needed()
        page.mouse.move(1, 1)
        page.screenshot(path=shots / "admin-pages-1366.png")
        # What the hidden frame counted is what the visible preview of that screen counts.
        page.select_option("#preview-screen", "default")
        frame = show_preview(page, ana).element_handle()  # still open: drawn for this screen
        count = page.wait_for_function("(f) => f.contentWindow.kiosk.page", arg=frame)
        assert said == f"Needs {count.json_value()['count']} pages on default (landscape)"
        expect(ana.locator(".pages", has_text="lobby")).to_have_text(
            f"Needs {pages} pages on lobby (upright)"
        )
    finally:
        context.close()
        server.stop()


def test_pages_load_their_modules_without_console_errors(
    page: Page, server: LiveServer, content: Path
) -> None:
    """A module that fails to load (missing, wrong type, a missing export) says so only here."""
    errors: list[str] = []

    def record(message: Any) -> None:
        if message.type == "error":
            errors.append(f"{message.text} ({message.location['url']})")

    page.on("console", record)
    make_tree(content, {"ana.md": story("Ana Alvarez"), "ana.jpg": jpeg()})
    server.wait_status("ana.md", "pending")
    page.goto(server.url + "/admin/login")
    page.get_by_label("User name").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    assert errors == [], "the sign-in page logged errors"
    page.get_by_role("button", name="Sign in").click()  # login.js sends it: no form post
    expect(page).to_have_url(re.compile("/admin#pending$"))
    expect(card(page, "Ana Alvarez")).to_be_visible()
    config = page.evaluate("JSON.parse(document.getElementById('admin-config').textContent)")
    assert config["poll_ms"] == 300
    tabs = [
        ("On the screens", "approved", "No story is approved yet."),
        ("Audit log", "audit", "arrived, waiting for a decision"),
        ("Screens", "screens", "No screens yet."),
        ("Users", "users", "moderator"),
    ]
    for label, panel, text in tabs:
        page.get_by_role("tab", name=re.compile(f"^{label}")).click()
        expect(page.locator(f"#panel-{panel}")).to_contain_text(text)
    assert errors == [], "the admin page logged errors"


def test_modules_are_served_under_the_code_version(server: LiveServer) -> None:
    """Modules import each other by relative URL: the version in the path reaches every one."""
    login = server.get("/admin/login").text
    src = f"/admin/js/{code_version()}/login.js"
    assert f'<script type="module" src="{src}">' in login
    module = server.get(src)
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")
    assert 'from "./api.js"' in module.text
    assert server.get(src.replace(code_version(), "0123456789abcdef")).status_code == 404
    assert server.get(f"/admin/js/{code_version()}/nothing.js").status_code == 404
    assert server.get(f"/admin/js/{code_version()}/..%2Fadmin.css").status_code == 404


def test_order_pin_retire_focal_keys_and_users(
    page: Page, server: LiveServer, content: Path
) -> None:
    files = {"ana.md": story("Ana Alvarez"), "bo.md": story("Bo Berg"), "cy.md": story("Cy Chen")}
    ids = {}
    for name, text in files.items():  # one after the other: the queue lists them as they came
        make_tree(content, {name: text, name.replace(".md", ".jpg"): jpeg()})
        ids[name] = server.wait_status(name, "pending")["id"]
    server.library.approve(ids["ana.md"], "ann")
    server.library.approve(ids["bo.md"], "ann")
    sign_in(page, server, "ann")

    cy = card(page, "Cy Chen").locator(".focal")
    cy.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    expect(page.get_by_role("status")).to_contain_text("Focal point of Cy Chen saved")
    focal = server.wait_status("cy.md", "pending")["focal"]
    assert focal == pytest.approx([0.55, 0.31], abs=0.001)  # one save for both keys

    page.get_by_role("tab", name=re.compile("^On the screens")).click()
    rows = page.locator("#panel-approved article h3")
    expect(rows).to_have_text(["Ana Alvarez", "Bo Berg"])
    page.get_by_role("button", name="Move Ana Alvarez down").click()
    expect(page.get_by_role("status")).to_have_text("Moved Ana Alvarez down.")
    expect(rows).to_have_text(["Bo Berg", "Ana Alvarez"])
    page.get_by_role("article", name="Ana Alvarez").get_by_label("Pinned", exact=True).check()
    expect(page.get_by_role("status")).to_have_text("Pinned Ana Alvarez.")
    expect(rows).to_have_text(["Ana Alvarez", "Bo Berg"])  # pinned stories play first
    bo = page.get_by_role("article", name="Bo Berg")
    retire = bo.get_by_role("button", name=re.compile("^(Retire|Really)"))  # asks once more
    retire.click()
    expect(retire).to_have_text("Really take it off every screen?")
    retire.click()
    expect(page.get_by_role("status")).to_have_text("Retired: Bo Berg is off the screens.")
    expect(rows).to_have_text(["Ana Alvarez"])
    server.wait_status("bo.md", "retired")

    page.get_by_role("tab", name="Users").click()
    page.get_by_label("User name").fill("zed")
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_have_text("Added zed (moderator).")
    page.get_by_role("button", name="Remove zed").click()
    expect(page.get_by_role("status")).to_have_text("Removed zed.")
    expect(page.locator("#panel-users")).not_to_contain_text("zed")
    expect(page.get_by_role("button", name="Remove ann")).to_be_disabled()  # the one signed in


def test_a_story_whose_consent_ends_soon_is_flagged_on_the_screens_tab(
    page: Page, server: LiveServer, content: Path
) -> None:
    soon = datetime.now(server.settings.zone).date() + timedelta(days=20)
    files = {"babette.md": story("Babette Ruiz", consent="yes", consent_until=soon.isoformat())}
    make_tree(content, files | {"babette.jpg": jpeg(400, 500)})
    sub = server.wait_status("babette.md", "pending")
    server.library.approve(sub["id"], "mod")
    sign_in(page, server)
    page.get_by_role("tab", name=re.compile("^On the screens")).click()
    row = page.locator("article.row-card", has_text="Babette Ruiz")
    expect(row.locator(".badge.consent-ends")).to_have_text(
        f"consent for Babette Ruiz ends on {soon.day} {soon:%B %Y}: ask again and update "
        "consent_until, or the story leaves the screens then"
    )


def test_a_big_drop_shows_how_far_ingest_has_got(page: Page, server: LiveServer) -> None:
    """Between a drop and the last story in the queue, the page says how far it has got."""
    sign_in(page, server)
    noise = Image.frombytes("RGB", (3000, 3000), os.urandom(3000 * 3000 * 3))
    big = io.BytesIO()
    noise.save(big, "PNG", compress_level=0)  # a second or so to read: the backlog is visible
    files: dict[str, str | bytes] = {}
    for i in range(3):
        files[f"big-{i}.md"], files[f"big-{i}.png"] = story(f"Big {i}"), big.getvalue()
    for i in range(12):
        files[f"small-{i}.md"], files[f"small-{i}.jpg"] = story(f"Small {i}"), jpeg(300, 400)
    make_tree(server.settings.content_dir, files)
    banner = page.locator("#ingesting")
    expect(banner).to_contain_text(re.compile(r"Reading new stories: \d+ of \d+…"), timeout=30_000)
    server.wait_status("big-2.md", "pending", timeout=60)
    expect(banner).to_be_hidden(timeout=10_000)


def test_an_open_page_follows_events_and_does_not_poll(
    page: Page, server: LiveServer, content: Path
) -> None:
    """The page polls every 0.3 s only when the event stream is cut: while it is open, a list
    is asked for when something changed, and then only the open tab's."""
    lists: list[str] = []
    page.on("request", lambda r: "/api/admin/submissions?" in r.url and lists.append(r.url))
    sign_in(page, server)
    expect(page.get_by_text("Nothing is waiting.")).to_be_visible()
    page.evaluate("window.sameDocument = true")
    settled = len(lists)
    page.wait_for_timeout(3000)  # ten polling periods of the fallback
    assert lists[settled:] == []  # an idle open page asks for nothing

    make_tree(content, {"ana.md": story("Ana Alvarez"), "ana.jpg": jpeg()})
    expect(card(page, "Ana Alvarez")).to_be_visible()  # by event: no reload, no poll
    assert page.evaluate("window.sameDocument") is True
    expect(page.get_by_role("tab", name=re.compile("^Pending"))).to_contain_text("1")
    arrived = lists[settled:]
    assert 1 <= len(arrived) <= 4 and all("status=pending" in u for u in arrived), arrived


def test_first_screenful_at_a_thousand_pending(browser: Any, tmp_path: Path) -> None:
    """1,000 stories wait: the page shows the first page of them, loads the photos in sight
    only, and stays within the first screenful's budget (DESIGN: 100 KB)."""
    settings = make_settings(tmp_path)
    seed_pending(settings, 1000)
    server = LiveServer(settings).start()
    try:
        add_users(server)
        session = signed_in(server).cookies["kiosk_session"]
        seen = first_screenful(browser, server.url, session)
    finally:
        server.stop()
    assert seen["bytes"] <= 100_000, seen
    assert seen["photos"] <= 12, seen  # lazily: the photos in sight, not a thousand
    assert seen["requests"] <= 30, seen
