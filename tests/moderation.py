"""Helpers for the moderation tests: users, signed-in API clients, dropped stories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from kiosk import auth

from .conftest import LiveServer
from .factories import jpeg, make_tree, story

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2, with test-sized costs: the defaults spend ~0.3 s per hash on purpose.
    Modules import this fixture to use it; being autouse, it runs before `server`."""
    monkeypatch.setattr(
        auth, "PasswordHasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def add_users(server: LiveServer) -> None:
    """`mod` (moderator) and `ann` (admin), both with PASSWORD."""
    auth = server.app.state.auth
    auth.add_user("mod", "moderator", PASSWORD, "test")
    auth.add_user("ann", "admin", PASSWORD, "test")


def anonymous(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=10)


def signed_in(server: LiveServer, name: str = "mod") -> httpx.Client:
    """A client with the session cookie, sending the CSRF token on every request."""
    client = anonymous(server)
    answer = client.post("/api/admin/login", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def drop(
    server: LiveServer, content: Path, stem: str, name: str, color: int = 0, **fields: str
) -> dict[str, Any]:
    """A story and its photo dropped on the share, waited for until it is pending."""
    body = fields.pop("body", f"{name} keeps the line running.")
    photo = jpeg(color=(40 + color * 37 % 200, 120, 80 + color * 53 % 170))
    make_tree(content, {f"{stem}.md": story(name, body, **fields), f"{stem}.jpg": photo})
    return server.wait_status(f"{stem}.md", "pending")
