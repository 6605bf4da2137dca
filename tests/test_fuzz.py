"""The HTTP API fuzzed from its own OpenAPI schema with schemathesis: never a 500, with and without
credentials, against a real server holding real stories."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.auth import Auth

from .factories import jpeg, make_tree, story
from .support import LONG_TESTS, LiveServer

EXAMPLES = "200" if LONG_TESTS else "25"


@pytest.mark.timeout(1200)  # the KIOSK_LONG_TESTS variant runs for minutes
@pytest.mark.parametrize("credentials", ["token", "anonymous"])
def test_no_server_errors(
    server: LiveServer, content: Path, credentials: str, tmp_path: Path
) -> None:
    make_tree(
        content, {"a.md": story("Ana"), "a.jpg": jpeg(), "b.md": story("Bo"), "b.jpg": jpeg()}
    )
    server.library.approve(server.wait_status("a.md", "pending")["id"], "mod")
    server.wait_status("b.md", "pending")
    headers = []
    if credentials == "token":
        token = Auth(server.settings, server.library).create_token("fuzz", "admin", "test")
        headers = ["-H", f"Authorization: Bearer {token}"]
    cmd = [
        str(Path(sys.executable).with_name("schemathesis")), "run",
        f"{server.url}/openapi.json", "--checks", "not_a_server_error",
        "--max-examples", EXAMPLES, "--seed", "1", *headers,
        # SSE never ends; logging in and out would end the token's session mid-run.
        "--exclude-path", "/api/events", "--exclude-path", "/api/admin/events",
        "--exclude-path", "/api/admin/logout",
    ]  # fmt: skip
    # cwd: schemathesis keeps a cache folder where it runs; not in the repository.
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
