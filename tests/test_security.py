"""What a stray web page, a hostile colleague or a flood can do to a real running server."""

from __future__ import annotations

from .conftest import LiveServer


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
