"""The admin JSON API against a real server: every route, every status code of the contract."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import fastapi.routing
import httpx
import pytest
from fastapi import FastAPI

from kiosk.schedule import utcnow

from .factories import drop, make_tree, seed_pending, story
from .support import PASSWORD, LiveServer, add_users, anonymous, make_settings, signed_in

ADMIN_ROUTES = [
    ("POST", "/api/admin/logout"),
    ("GET", "/api/admin/submissions"),
    ("GET", "/api/admin/submissions?status=pending"),
    ("POST", "/api/admin/submissions/{id}/approve"),
    ("POST", "/api/admin/submissions/{id}/reject"),
    ("POST", "/api/admin/submissions/{id}/retire"),
    ("PATCH", "/api/admin/submissions/{id}"),
    ("GET", "/api/admin/submissions/{id}/preview"),
    ("GET", "/api/admin/media/{thumbnail}"),
    ("GET", "/api/admin/audit"),
    ("GET", "/api/admin/screens"),
    ("GET", "/api/admin/users"),
    ("POST", "/api/admin/users"),
    ("DELETE", "/api/admin/users/mod"),
]


@pytest.fixture
def users(server: LiveServer) -> LiveServer:
    add_users(server)
    return server


def test_every_admin_route_needs_credentials(users: LiveServer, content: Path) -> None:
    sub = drop(users, content, "ana", "Ana Secret")
    client = anonymous(users)
    for method, path in ADMIN_ROUTES:
        url = path.format(id=sub["id"], thumbnail=sub["thumbnail"])
        answer = client.request(method, url, json={"reason": "x", "name": "y"})
        assert answer.status_code == 401, (method, path, answer.text)
        assert "Ana Secret" not in answer.text
        assert answer.headers["www-authenticate"] == "Bearer"
    client.cookies.set("kiosk_session", "eyJ1IjoiYW5uIn0.forged")
    assert client.get("/api/admin/submissions").status_code == 401


def test_unapproved_content_never_reaches_anyone_routes(users: LiveServer, content: Path) -> None:
    pending = drop(users, content, "pat", "Pending Pat", color=1, body="Patbody secret words.")
    rejected = drop(users, content, "rex", "Rejected Rex", color=2, body="Rexbody secret words.")
    users.library.reject(rejected["id"], "mod", "no")
    make_tree(content, {"pia.md": story("Problem Pia"), "pia.jpg": b"not a photo"})
    problem = users.wait_status("pia.md", "problem")
    approved = drop(users, content, "amy", "Approved Amy", color=3)
    users.library.approve(approved["id"], "mod")
    secrets = ["Pending Pat", "Patbody", "Rejected Rex", "Rexbody", "Problem Pia"]
    media = {Path(u).name for s in (pending, rejected) for u in (s["image"], s["thumbnail"]) if u}
    ids = [str(s["id"]) for s in (pending, rejected, problem)]
    client = httpx.Client(base_url=users.url, timeout=httpx.Timeout(5, read=1))
    checked = 0
    for route, methods in _routes(users.app):
        if "GET" not in methods:
            continue
        for value in ids + sorted(media) + ["default"] if "{" in route else [""]:
            path = re.sub(r"{\w+(?::\w+)?}", value, route)
            body = _first_bytes(client, path, {"screen": "default", "preview": ids[0]})
            if route.startswith("/api/admin"):
                assert body.startswith(b"401"), path
            text = body.decode("utf-8", "replace")
            assert not [s for s in secrets if s in text], path
            # A 4xx may echo the value we sent ("not a screen name"): that reveals nothing.
            echo = body[:1] == b"4"
            leaked = [m.split("-")[0] for m in media]
            assert not [h for h in leaked if h in text and not (echo and h in value)], path
            checked += 1
    assert checked > 20
    for name in media:  # the anyone-route for photos refuses them
        assert client.get(f"/media/{name}").status_code == 404


def _routes(app: FastAPI) -> list[tuple[str, set[str]]]:
    """(path, methods) of every HTTP route, including those of included routers."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)  # newer FastAPI
    routes = flatten(app.routes) if flatten else app.routes
    return [(r.path, r.methods) for r in routes if getattr(r, "methods", None)]


def _first_bytes(client: httpx.Client, path: str, params: dict[str, str]) -> bytes:
    """The status and the first 64 KB of an answer; a stream (SSE) is read until it pauses."""
    data = b""
    try:
        with client.stream("GET", path, params=params) as answer:
            data = f"{answer.status_code} ".encode()
            for chunk in answer.iter_bytes():
                data += chunk
                if len(data) > 65536:
                    break
    except httpx.ReadTimeout:
        pass  # what arrived before the pause is what counts
    return data


def test_login_cookie_csrf_and_logout(users: LiveServer) -> None:
    client = anonymous(users)
    assert client.post("/api/admin/login", json={"username": "mod"}).status_code == 422
    wrong = client.post("/api/admin/login", json={"username": "mod", "password": "nope"})
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
    answer = client.post("/api/admin/login", json={"username": "MOD", "password": PASSWORD})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert answer.json()["user"] == {"name": "mod", "role": "moderator", "created_at": None}
    assert client.get("/api/admin/submissions").status_code == 200
    assert client.post("/api/admin/logout").status_code == 403  # no CSRF token
    token = answer.json()["csrf_token"]
    old_cookie = client.cookies["kiosk_session"]
    assert client.post("/api/admin/logout", headers={"X-CSRF-Token": token}).status_code == 204
    replay = anonymous(users)  # a signed-out cookie is dead, even when replayed
    replay.cookies.set("kiosk_session", old_cookie)
    assert replay.get("/api/admin/submissions").status_code == 401


def test_csrf_is_required_on_every_unsafe_cookie_request(users: LiveServer, content: Path) -> None:
    sid = drop(users, content, "ana", "Ana")["id"]
    client = signed_in(users)
    good = client.headers.pop("X-CSRF-Token")
    calls = [
        ("POST", f"/api/admin/submissions/{sid}/approve", None),
        ("POST", f"/api/admin/submissions/{sid}/reject", {"reason": "blurred"}),
        ("POST", f"/api/admin/submissions/{sid}/retire", None),
        ("PATCH", f"/api/admin/submissions/{sid}", {"name": "Anna"}),
    ]
    for method, url, body in calls:
        assert client.request(method, url, json=body).status_code == 403
        bad = client.request(method, url, json=body, headers={"X-CSRF-Token": "forged"})
        assert bad.status_code == 403 and "CSRF" in bad.text
    assert users.library.submission(sid)["status"] == "pending"  # nothing happened
    answer = client.post(f"/api/admin/submissions/{sid}/approve", headers={"X-CSRF-Token": good})
    assert answer.status_code == 200 and answer.json()["status"] == "approved"


def test_bearer_token_works_without_csrf_until_revoked(users: LiveServer, content: Path) -> None:
    sid = drop(users, content, "ana", "Ana")["id"]
    token = users.app.state.auth.create_token("script", "moderator", "test")
    client = anonymous(users)
    client.headers["Authorization"] = f"Bearer {token}"
    assert client.get("/api/admin/submissions").status_code == 200
    approved = client.post(f"/api/admin/submissions/{sid}/approve")
    assert approved.status_code == 200 and approved.json()["decision"]["by"] == "script"
    assert client.get("/api/admin/users").status_code == 403  # a moderator token
    assert users.library.tokens()[0]["last_used_at"]
    users.library.revoke_tokens("script", "test")
    refused = client.get("/api/admin/submissions")
    assert refused.status_code == 401 and "revoked" in refused.text
    client.headers["Authorization"] = "Bearer kiosk_guessed"
    assert client.get("/api/admin/submissions").status_code == 401


def test_user_management_is_for_admins(users: LiveServer) -> None:
    moderator = signed_in(users, "mod")
    assert moderator.get("/api/admin/users").status_code == 403
    assert moderator.post("/api/admin/users", json={}).status_code == 403
    admin = signed_in(users, "ann")
    assert {u["name"] for u in admin.get("/api/admin/users").json()["users"]} >= {"mod", "ann"}
    new = {"username": "Zoe", "role": "moderator", "password": "long enough pw"}
    created = admin.post("/api/admin/users", json=new)
    assert created.status_code == 201 and created.json()["name"] == "zoe"
    assert admin.post("/api/admin/users", json=new).status_code == 422  # exists
    weak = admin.post("/api/admin/users", json={**new, "username": "y", "password": "short"})
    assert weak.status_code == 422 and "at least 10 characters" in weak.text
    assert admin.post("/api/admin/users", json={**new, "role": "root"}).status_code == 422
    assert admin.delete("/api/admin/users/zoe").status_code == 204
    assert admin.delete("/api/admin/users/zoe").status_code == 404
    assert admin.delete("/api/admin/users/ann").status_code == 422  # not yourself


def test_queue_decisions_and_audit(users: LiveServer, content: Path) -> None:
    first = drop(users, content, "ana", "Ana", color=1)
    second = drop(users, content, "bo", "Bo", color=2)
    client = signed_in(users)
    queue = client.get("/api/admin/submissions", params={"status": "pending"}).json()
    assert [s["name"] for s in queue["submissions"]] == ["Ana", "Bo"]  # oldest first
    assert queue["submissions"][0]["source"] == "ana.md"
    assert client.get("/api/admin/submissions", params={"status": "nope"}).status_code == 422
    for action in ("approve", "reject", "retire"):
        missing = client.post(f"/api/admin/submissions/9999/{action}", json={"reason": "x"})
        assert missing.status_code == 404 and "no submission 9999" in missing.text

    approved = client.post(f"/api/admin/submissions/{first['id']}/approve").json()
    assert approved["status"] == "approved" and approved["decision"]["by"] == "mod"
    listed = client.get("/api/admin/submissions").json()["submissions"]
    assert [s for s in listed if s["id"] == first["id"]] == [approved]  # the queue's own view
    assert approved["submitted_at"] == approved["on_screen"]["created_at"]
    empty = client.post(f"/api/admin/submissions/{second['id']}/reject", json={"reason": "  "})
    assert empty.status_code == 422 and "write a reason" in empty.text
    rejected = client.post(
        f"/api/admin/submissions/{second['id']}/reject", json={"reason": "Photo is blurred"}
    ).json()
    assert rejected["status"] == "rejected"
    assert rejected["decision"] == {
        "by": "mod",
        "at": rejected["decision"]["at"],
        "reason": "Photo is blurred",
    }
    assert [s["name"] for s in users.library.on_screen()] == ["Ana"]
    retired = client.post(f"/api/admin/submissions/{first['id']}/retire").json()
    assert retired["status"] == "retired" and users.library.on_screen() == []

    entries = client.get("/api/admin/audit").json()["entries"]
    assert [(e["actor"], e["action"], e["name"]) for e in entries[:3]] == [
        ("mod", "retire", "Ana"),
        ("mod", "reject", "Bo"),
        ("mod", "approve", "Ana"),
    ]
    assert entries[1]["detail"]["reason"] == "Photo is blurred"
    assert client.get("/api/admin/audit", params={"limit": 0}).status_code == 422


def test_a_resubmission_shows_the_earlier_rejection(users: LiveServer, content: Path) -> None:
    sub = drop(users, content, "ana", "Ana Mria")
    client = signed_in(users)
    assert (
        client.get("/api/admin/submissions").json()["submissions"][0]["previous_rejection"] is None
    )
    client.post(f"/api/admin/submissions/{sub['id']}/reject", json={"reason": "Name misspelt"})
    make_tree(content, {"ana.md": story("Ana Maria")})  # fixed and saved again
    users.wait_status("ana.md", "pending")

    (back,) = client.get("/api/admin/submissions", params={"status": "pending"}).json()[
        "submissions"
    ]
    assert back["name"] == "Ana Maria" and back["decision"] is None
    earlier = back["previous_rejection"]
    assert earlier == {"reason": "Name misspelt", "by": "mod", "at": earlier["at"]}
    assert earlier["at"] < back["submitted_at"]


def test_approving_a_superseded_revision_is_409(users: LiveServer, content: Path) -> None:
    sub = drop(users, content, "ana", "Ana Mria")
    make_tree(content, {"ana.md": story("Ana Maria")})  # fixed on the share meanwhile
    users.wait_until(lambda: users.library.submission(sub["id"])["name"] == "Ana Maria")
    client = signed_in(users)
    url = f"/api/admin/submissions/{sub['id']}/approve"
    stale = client.post(url, json={"revision": sub["revision"]})
    assert stale.status_code == 409 and "replaced by a newer one" in stale.text
    fresh = users.library.submission(sub["id"])["revision"]
    answer = client.post(url, json={"revision": fresh})
    assert answer.status_code == 200 and answer.json()["name"] == "Ana Maria"


def test_patch_fixes_fields_and_explains_bad_ones(users: LiveServer, content: Path) -> None:
    sid = drop(users, content, "ana", "Ana Mria")["id"]
    client = signed_in(users)
    url = f"/api/admin/submissions/{sid}"
    fixed = client.patch(
        url,
        json={
            "name": " Ana  Maria ",
            "quote": "Fast.",
            "start": "2026-03-01",
            "end": "2026-03-31T18:00",
            "tags": ["Plant", "plant", " Office "],
            "focal": [0.25, 0.75],
            "pinned": True,
            "position": 0.5,
        },
    )
    assert fixed.status_code == 200, fixed.text
    sub = fixed.json()
    assert sub["name"] == "Ana Maria" and sub["quote"] == "Fast."
    assert (sub["start"], sub["end"]) == ("2026-03-01", "2026-03-31T18:00:00")
    assert sub["tags"] == ["plant", "office"]
    assert sub["focal"] == [0.25, 0.75] and sub["pinned"] is True and sub["position"] == 0.5
    assert client.patch(url, json={"start": None}).json()["start"] is None

    def problem(body: dict) -> str:
        answer = client.patch(url, json=body)
        assert answer.status_code == 422, answer.text
        return answer.text

    assert "focal point must be two numbers between 0 and 1" in problem({"focal": [2, 0]})
    assert "focal point" in problem({"focal": [True, False]})
    assert "must be a date like 2026-12-01" in problem({"start": "next monday"})
    assert "is before start" in problem({"start": "2026-04-01"})  # end is 2026-03-31
    assert "the name cannot be empty" in problem({"name": "  "})
    assert "the name cannot be empty" in problem({"name": None})
    assert "extra" in problem({"colour": "red"})
    assert "at least one field" in problem({})
    assert "pinned" in problem({"pinned": "yes"})
    assert "under 120 characters" in problem({"name": "x" * 121})
    assert client.patch("/api/admin/submissions/9999", json={"name": "X"}).status_code == 404
    assert users.library.submission(sid)["name"] == "Ana Maria"


def test_consent_rule(tmp_path: Path) -> None:
    live = LiveServer(make_settings(tmp_path, require_consent=True)).start()
    try:
        add_users(live)
        content = live.settings.content_dir
        without = drop(live, content, "ana", "Ana", color=1)
        agreed = drop(live, content, "bo", "Bo", color=2, consent="yes")
        client = signed_in(live)
        refused = client.post(f"/api/admin/submissions/{without['id']}/approve")
        assert refused.status_code == 422 and "consent: yes" in refused.json()["detail"]
        assert client.post(f"/api/admin/submissions/{agreed['id']}/approve").status_code == 200
    finally:
        live.stop()


def test_media_and_preview_for_moderators(users: LiveServer, content: Path) -> None:
    sid = drop(users, content, "ana", "Ana", quote="Fast.", photo_alt="Ana at work")["id"]
    client = signed_in(users)
    (sub,) = client.get("/api/admin/submissions").json()["submissions"]
    assert sub["id"] == sid and sub["thumbnail"].startswith("/api/admin/media/")
    thumb = client.get(sub["thumbnail"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content[:2] == b"\xff\xd8" and "private" in thumb.headers["cache-control"]
    assert client.get(sub["image"]).status_code == 200
    for name in ("0" * 32 + "-1920.jpg", "..%2Fkiosk.db", "kiosk.db", "secret.key"):
        assert client.get(f"/api/admin/media/{name}").status_code == 404

    preview = client.get(f"/api/admin/submissions/{sub['id']}/preview").json()
    assert preview["preview"] is True and preview["quiet"] is False
    assert preview["theme"] == "default" and preview["version"]
    (slide,) = preview["slides"]
    assert set(slide) >= {"id", "revision", "name", "role", "organization", "location"}
    assert set(slide) >= {"quote", "html", "image", "photo_alt", "focal", "duration_ms"}
    assert (slide["name"], slide["quote"], slide["photo_alt"]) == ("Ana", "Fast.", "Ana at work")
    assert slide["image"] == sub["image"] and slide["image"].startswith("/api/admin/media/")
    assert client.get("/api/admin/submissions/9999/preview").status_code == 404
    assert client.get(f"/api/admin/submissions/{sub['id']}/preview?screen=../x").status_code == 422


def test_screens_and_silence(users: LiveServer, content: Path) -> None:
    client = signed_in(users)
    assert client.get("/api/admin/screens").json() == {"screens": []}
    sub = drop(users, content, "ana", "Ana")
    users.library.heartbeat("lobby", str(sub["id"]), "v1", "10.0.0.7")
    (screen,) = client.get("/api/admin/screens").json()["screens"]
    assert screen["name"] == "lobby" and screen["showing"] == "Ana" and not screen["silent"]
    users.library.clock = lambda: utcnow() + timedelta(minutes=3)
    (screen,) = client.get("/api/admin/screens").json()["screens"]
    assert screen["silent"] and screen["silent_seconds"] >= 180


def test_two_screens_with_one_name_are_told_apart(users: LiveServer) -> None:
    client = signed_in(users)
    users.library.heartbeat("lobby", None, "v1", "10.0.0.5")
    users.library.heartbeat("lobby", None, "v1", "10.0.0.5")  # the same screen again: no twin
    (screen,) = client.get("/api/admin/screens").json()["screens"]
    assert screen["other_address"] is None
    users.library.heartbeat("lobby", None, "v1", "10.0.0.7")
    (screen,) = client.get("/api/admin/screens").json()["screens"]
    assert (screen["address"], screen["other_address"]) == ("10.0.0.7", "10.0.0.5")
    # A screen that moved to a new address: once the old one has been silent long enough,
    # it is no longer reported as a second screen.
    later = utcnow() + timedelta(minutes=3)
    users.library.clock = lambda: later
    users.library.heartbeat("lobby", None, "v1", "10.0.0.7")
    (screen,) = client.get("/api/admin/screens").json()["screens"]
    assert (screen["address"], screen["other_address"]) == ("10.0.0.7", None)


def test_failed_logins_are_throttled_and_logged(
    users: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = anonymous(users)
    caplog.set_level(logging.WARNING, logger="kiosk.auth")
    for _ in range(3):
        wrong = client.post("/api/admin/login", json={"username": "mod", "password": "guess"})
        assert wrong.status_code == 401
        assert wrong.json() == {"detail": "wrong user name or password"}
    # Even the right password waits now: the next try is allowed only after a pause.
    slowed = client.post("/api/admin/login", json={"username": "mod", "password": PASSWORD})
    assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
    assert "too many failed sign-ins" in slowed.text
    logged = [r.getMessage() for r in caplog.records]
    assert any("failed sign-in as 'mod' from 127.0.0.1 (3 in a row)" in m for m in logged)
    assert any("throttled" in m for m in logged)


def test_password_change_ends_sessions(users: LiveServer) -> None:
    client = signed_in(users)
    assert client.get("/api/admin/audit").status_code == 200
    users.app.state.auth.set_password("mod", "a brand new password", "ann")
    assert client.get("/api/admin/audit").status_code == 401


def test_openapi_describes_the_admin_api(users: LiveServer) -> None:
    schema = anonymous(users).get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/admin/login",
        "/api/admin/submissions",
        "/api/admin/submissions/{sid}/approve",
        "/api/admin/submissions/{sid}",
        "/api/admin/audit",
        "/api/admin/screens",
    ):
        assert path in paths, path
    assert "409" in paths["/api/admin/submissions/{sid}/approve"]["post"]["responses"]
    assert {"HTTPBearer", "APIKeyCookie"} <= set(schema["components"]["securitySchemes"])


def test_admin_page_needs_a_session(users: LiveServer) -> None:
    page = anonymous(users).get("/admin", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/admin/login"
    signed = signed_in(users).get("/admin")
    assert (
        signed.status_code == 200
        and "frame-ancestors 'none'" in signed.headers["content-security-policy"]
    )


def test_the_bare_address_leads_to_the_admin_page(users: LiveServer) -> None:
    """Typing the Pi's address into a browser lands on sign-in, not on a 404."""
    page = httpx.get(users.url + "/", follow_redirects=True, timeout=10)
    assert page.status_code == 200 and str(page.url).endswith("/admin/login")


# ---- the lists at scale: pages, ETags, one statement a page --------------------------------
@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[LiveServer]:
    """1,000 pending stories, written before the server starts."""
    settings = make_settings(tmp_path)
    seed_pending(settings, 1000)
    live = LiveServer(settings).start()
    add_users(live)
    yield live
    live.stop()


def test_pages_list_every_story_once_while_new_ones_arrive(
    users: LiveServer, content: Path
) -> None:
    for i in range(7):
        drop(users, content, f"early{i}", f"Early {i}", color=i)
    client = signed_in(users)
    seen: list[int] = []
    after, arrived = None, 0
    while True:
        params = {"status": "pending", "limit": 3} | ({"after": after} if after else {})
        page = client.get("/api/admin/submissions", params=params).json()
        seen += [s["id"] for s in page["submissions"]]
        if arrived < 2:  # a story arrives between two pages, twice
            drop(users, content, f"late{arrived}", f"Late {arrived}", color=9 + arrived)
            arrived += 1
        if not (after := page["next"]):
            break
    assert len(seen) == len(set(seen)) == 9  # every one once, the late ones too
    assert seen == [s["id"] for s in users.library.submissions("pending")]  # oldest first
    for bad in ("nonsense", "WyJuZXdlc3QiLDFd", "x" * 600):
        answer = client.get("/api/admin/submissions", params={"after": bad})
        assert answer.status_code == 422, bad
    assert client.get("/api/admin/submissions", params={"limit": 201}).status_code == 422


def test_lists_answer_304_until_something_changes(users: LiveServer, content: Path) -> None:
    sub = drop(users, content, "ana", "Ana")
    client = signed_in(users)
    for path in ("/api/admin/submissions?status=pending", "/api/admin/counts"):
        first = client.get(path)
        etag = first.headers["etag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
        assert again.headers["cache-control"] == "no-store"
        other = client.get(path + ("&" if "?" in path else "?") + "limit=7")
        assert other.headers["etag"] != etag or path.endswith("counts")
    counts = client.get("/api/admin/counts").json()
    assert counts == {"pending": 1, "approved": 0, "rejected": 0, "problem": 0}
    etag = client.get("/api/admin/counts").headers["etag"]
    client.post(f"/api/admin/submissions/{sub['id']}/approve")
    changed = client.get("/api/admin/counts", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["approved"] == 1
    playing = client.get("/api/admin/submissions", params={"on_screen": True, "order": "playing"})
    assert [s["name"] for s in playing.json()["submissions"]] == ["Ana"]
    assert anonymous(users).get("/api/admin/counts").status_code == 401


def test_one_statement_a_page_at_a_thousand(seeded: LiveServer) -> None:
    client = signed_in(seeded)
    client.headers["X-Kiosk-Background"] = "1"  # no session refresh: reads only
    library = seeded.library
    statements: list[str] = []

    def traced(sql: str) -> None:
        # Requests run on AnyIO's worker threads; the watcher's own checks do not count here.
        if threading.current_thread().name.startswith("AnyIO worker"):
            statements.append(sql)

    for connection in (library._db, library._reader):
        connection.set_trace_callback(traced)
    try:
        after, pages, ids = None, 0, []
        for limit in (50, 200, 200):
            statements.clear()
            params = {"status": "pending", "limit": limit} | ({"after": after} if after else {})
            page = client.get("/api/admin/submissions", params=params).json()
            listed = [s for s in statements if "FROM submissions" in s]
            assert len(listed) == 1, listed  # one for the page, none per row
            assert len(statements) <= 2, statements  # and the session's own look-up
            ids += [s["id"] for s in page["submissions"]]
            after, pages = page["next"], pages + 1
        statements.clear()
        assert client.get("/api/admin/counts").json()["pending"] == 1000
        assert len([s for s in statements if "FROM submissions" in s]) == 1
    finally:
        for connection in (library._db, library._reader):
            connection.set_trace_callback(None)
    assert len(ids) == len(set(ids)) == 450
    assert ids == sorted(ids)  # seeded in order: arrival order is id order here
    big = client.get("/api/admin/submissions", params={"status": "pending"})
    assert big.headers["content-encoding"] == "gzip"
    assert len(big.json()["submissions"]) == 50
