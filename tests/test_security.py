"""What a stray web page, a hostile colleague or a flood can do to a real running server."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from kiosk.library.screens import UNKNOWN_SCREENS
from kiosk.schedule import utcnow
from kiosk.settings import SettingsError, check_folders

from .factories import drop
from .support import PASSWORD, LiveServer, add_users, free_port, make_settings, signed_in, wait_for


def test_pages_refuse_framing_and_sniffing(server: LiveServer) -> None:
    display = server.get("/display")
    policy = display.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert "frame-ancestors 'self'" in policy  # the admin page previews screens in a frame
    for path in ("/display", "/admin/login", "/submit", "/api/playlist", "/static/player.js"):
        assert server.get(path).headers["x-content-type-options"] == "nosniff", path
    assert "frame-ancestors 'none'" in server.get("/admin/login").headers["content-security-policy"]


def test_api_docs_that_load_cdn_scripts_are_off(server: LiveServer) -> None:
    assert server.get("/docs").status_code == 404
    assert server.get("/redoc").status_code == 404
    assert server.get("/openapi.json").json()["info"]["title"] == "Hallway Kiosk"


def test_moderator_media_are_never_cached(server: LiveServer, content: Path) -> None:
    """Thumbnails of pending stories stay off disk caches; public renditions may stay a year."""
    add_users(server)
    sid = drop(server, content, "ana", "Ana")["id"]
    client = signed_in(server)
    (sub,) = client.get("/api/admin/submissions").json()["submissions"]
    for url in (sub["thumbnail"], sub["image"]):
        cache = client.get(url).headers["cache-control"]
        assert "no-store" in cache and "immutable" not in cache and "max-age=3" not in cache
    assert client.post(f"/api/admin/submissions/{sid}/approve").status_code == 200
    (slide,) = server.shown()
    assert "immutable" in server.get(slide["image"]).headers["cache-control"]


def test_a_new_data_folder_is_private(tmp_path: Path) -> None:
    """Other accounts on the machine must not read the database (sessions, password hashes)."""
    umask = os.umask(0o022)  # the usual default, which makes files world-readable
    live = LiveServer(make_settings(tmp_path, data_dir=tmp_path / "state" / "data")).start()
    try:
        data = live.settings.data_dir
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        db_files = [p for p in data.iterdir() if p.name.startswith("kiosk.db")]
        assert {p.name for p in db_files} >= {"kiosk.db", "kiosk.db-wal"}
        for path in db_files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    finally:
        live.stop()
        os.umask(umask)


def test_only_this_machines_names_are_answered(tmp_path: Path) -> None:
    """DNS rebinding: a page on evil.example whose name now points here sends Host: evil.example."""
    live = LiveServer(make_settings(tmp_path, allowed_hosts=["kiosk.example.org"])).start()
    try:
        me = socket.gethostname()
        for host in (
            "localhost",
            "127.0.0.1:8000",
            "[::1]:80",
            f"{me}.local",
            me.upper(),
            "192.168.1.20",
            "kiosk.example.org:8000",
        ):
            assert live.get("/healthz", headers={"Host": host}).status_code == 200, host
        for host in ("evil.example", "evil.example:8000", "localhost.evil.example", ""):
            answer = live.get("/submit", headers={"Host": host})
            assert answer.status_code == 400, host
    finally:
        live.stop()
    live = LiveServer(make_settings(tmp_path, allowed_hosts="*")).start()
    try:
        assert live.get("/healthz", headers={"Host": "anything.example"}).status_code == 200
    finally:
        live.stop()


def test_invented_screen_names_are_capped_and_never_healthy(tmp_path: Path) -> None:
    live = LiveServer(make_settings(tmp_path, screens={"lobby": {"theme": "portrait"}})).start()
    try:
        add_users(live)
        beats = httpx.Client(base_url=live.url, timeout=10)
        answers = [
            beats.post(f"/api/screens/fake-{i}/heartbeat", json={}).status_code for i in range(80)
        ]
        assert answers.count(204) == UNKNOWN_SCREENS and set(answers[UNKNOWN_SCREENS:]) == {429}
        assert len(live.library.screens()) == UNKNOWN_SCREENS
        # configured screens, and `default` (a screen without a name), are always heard
        for name in ("lobby", "default"):
            assert beats.post(f"/api/screens/{name}/heartbeat", json={}).status_code == 204
        client = signed_in(live)
        listed = {s["name"]: s for s in client.get("/api/admin/screens").json()["screens"]}
        assert listed["lobby"]["accepted"] and listed["default"]["accepted"]
        assert not listed["fake-0"]["accepted"]
        # a moderator accepts a screen that was set up without a [screens.NAME] table
        assert client.post("/api/admin/screens/fake-7/accept").status_code == 204
        assert client.post("/api/admin/screens/nobody/accept").status_code == 404
        listed = {s["name"]: s for s in client.get("/api/admin/screens").json()["screens"]}
        assert listed["fake-7"]["accepted"]
        # unknown names expire: an hour later there is room again, and only they went
        live.library.clock = lambda: utcnow() + timedelta(hours=1)
        assert beats.post("/api/screens/newcomer/heartbeat", json={}).status_code == 204
        names = {s["name"] for s in live.library.screens()}
        assert names == {"lobby", "default", "fake-7", "newcomer"}
    finally:
        live.stop()


def _open_stream(port: int) -> tuple[socket.socket, str]:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    return s, s.recv(64).split(b" ", 2)[1].decode()


def test_one_client_cannot_hold_every_connection(server: LiveServer, caplog) -> None:
    """2,024 event streams from one address made /healthz time out; now one address gets a few."""
    held: list[socket.socket] = []
    try:
        statuses = []
        for _ in range(server.settings.screens_per_address + 40):
            s, status = _open_stream(server.settings.port)
            held.append(s)
            statuses.append(status)
        assert statuses.count("200") == server.settings.screens_per_address
        assert set(statuses[server.settings.screens_per_address :]) == {"429"}
        assert server.get("/healthz").status_code == 200
        refusals = [r for r in caplog.records if "event streams" in r.getMessage()]
        assert len(refusals) == 1  # said once, not once per connection
    finally:
        for s in held:
            s.close()
    # closed streams give their places back
    wait_for(lambda: _open_stream(server.settings.port)[1] == "200")


def test_moderators_can_sign_in_over_https(tmp_path: Path) -> None:
    """With tls_certfile/tls_keyfile, `kiosk serve` answers HTTPS only and its session cookie
    is Secure: a password never crosses the LAN in clear."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    (tmp_path / "content").mkdir()
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "KIOSK_CONTENT_DIR": str(tmp_path / "content"),
        "KIOSK_DATA_DIR": str(tmp_path / "data"),
        "KIOSK_PORT": str(port),
        "KIOSK_TLS_CERTFILE": str(cert),
        "KIOSK_TLS_KEYFILE": str(key),
    }
    kiosk = [sys.executable, "-m", "kiosk.cli"]
    proc = subprocess.Popen([*kiosk, "serve"], env=env, stdout=subprocess.DEVNULL)
    try:
        url = f"https://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(url + "/healthz", verify=False, timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, timeout=30)
        add = [*kiosk, "user", "add", "mod", "--password-stdin"]
        subprocess.run(add, env=env, input=PASSWORD, text=True, check=True, capture_output=True)
        with httpx.Client(base_url=url, verify=False, timeout=10) as client:
            answer = client.post("/api/admin/login", json={"username": "mod", "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            cookie = answer.headers["set-cookie"]
            assert "secure" in cookie.lower() and "httponly" in cookie.lower()
        with pytest.raises(httpx.TransportError):  # plain HTTP is not answered at all
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_tls_settings_come_in_pairs_and_never_from_the_share(tmp_path: Path) -> None:
    cert = tmp_path / "content" / "cert.pem"
    (tmp_path / "content").mkdir()
    cert.write_text("not checked here")
    with pytest.raises(SettingsError, match="go together"):
        make_settings(tmp_path, tls_certfile=cert)
    settings = make_settings(tmp_path, tls_certfile=cert, tls_keyfile=cert)
    with pytest.raises(SettingsError, match="anyone on the share could copy it"):
        check_folders(settings)
