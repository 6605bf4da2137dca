"""The `kiosk` command line, run as a user would: a real subprocess."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from kiosk.cli import main

from .factories import STORIES, jpeg, make_tree, story
from .support import free_port, wait_for

REPO = Path(__file__).resolve().parent.parent


def kiosk(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )


def test_help_explains_every_command() -> None:
    out = kiosk("--help").stdout
    for command in ("serve", "init", "check"):
        assert command in out
    assert "content folder" in out
    assert "--json" in kiosk("check", "--help").stdout


def test_check_example_content_is_clean() -> None:
    result = kiosk("check", str(REPO / "content"), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    stories = [r for r in report if r["status"] == "pending"]
    assert len(stories) >= 6
    assert {r["status"] for r in report} <= {"pending", "ignored"}
    assert all(r["photo"] for r in stories)
    assert all(set(r) == {"source", "status", "name", "photo", "problems"} for r in report)


def test_check_reports_problems_and_exits_1(tmp_path: Path) -> None:
    make_tree(tmp_path, {
        "good.md": story("Good Person"), "good.jpg": jpeg(),
        "escape.md": story("Escaper", photo="../../etc/passwd"),
        "broken.md": story("Broken"), "broken.jpg": b"\xff\xd8\xff\xe0 not really",
        "notes.docx": b"PK\x03\x04",
        ".DS_Store": b"\0\0",
    })  # fmt: skip
    result = kiosk("check", str(tmp_path))
    assert result.returncode == 1
    out = result.stdout
    assert "pending  good.md  (Good Person)" in out
    assert "problem  escape.md" in out and "outside" in out
    assert "problem  broken.md" in out
    assert "ignored  notes.docx" in out
    assert ".DS_Store" not in out
    assert "3 stories: 1 would be pending, 2 with problems, 1 files ignored" in out


def test_check_missing_folder_says_what_to_do(tmp_path: Path) -> None:
    result = kiosk("check", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert "does not exist: create it" in result.stderr


def test_init_makes_a_content_folder_that_checks_clean(tmp_path: Path) -> None:
    target = tmp_path / "stories"
    result = kiosk("init", str(target))
    assert result.returncode == 0
    assert {p.name for p in target.iterdir()} == {"_TEMPLATE.md", "_README.txt"}
    # Settings choose where templates come from: staff who write stories must not edit them.
    assert (tmp_path / "kiosk.toml").is_file()
    assert f"kiosk serve --config {tmp_path / 'kiosk.toml'}" in result.stdout
    # The starter files are the kiosk's own: nothing to moderate, nothing ignored.
    report = json.loads(kiosk("check", str(target), "--json").stdout)
    assert report == []
    again = kiosk("init", str(target))
    assert "kept" in again.stdout


def test_user_commands_never_start_an_empty_database_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    monkeypatch.setattr("kiosk.settings.SYSTEM_CONFIG", tmp_path / "etc" / "kiosk.toml")
    assert main(["user", "add", "ann", "--password-stdin"]) == 2
    err = capsys.readouterr().err
    assert f"no kiosk database at {tmp_path / 'data' / 'kiosk.db'}" in err
    assert "--config" in err and not (tmp_path / "data").exists()


def test_commands_find_the_installed_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a Pi, `kiosk user …` reads /etc/kiosk/kiosk.toml without --config."""
    installed = tmp_path / "etc" / "kiosk.toml"
    installed.parent.mkdir()
    (tmp_path / "stories").mkdir()
    installed.write_text(
        f'content_dir = "{tmp_path / "stories"}"\ndata_dir = "{tmp_path / "lib"}"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    monkeypatch.setattr("kiosk.settings.SYSTEM_CONFIG", installed)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["user", "add", "ann", "--password-stdin"]) == 0
    assert (tmp_path / "lib" / "kiosk.db").is_file() and not (tmp_path / "data").exists()


def test_serve_refuses_a_config_inside_the_content_folder(tmp_path: Path) -> None:
    content = tmp_path / "stories"
    content.mkdir()
    (content / "kiosk.toml").write_text('content_dir = "."\ndata_dir = "../data"\n')
    result = kiosk("serve", "--config", str(content / "kiosk.toml"))
    assert result.returncode == 2
    assert "is inside content_dir" in result.stderr and "move it" in result.stderr


def test_init_config_names_the_content_folder(tmp_path: Path) -> None:
    kiosk("init", str(tmp_path / "Our Stories"))
    make_tree(tmp_path / "Our Stories", {"ana.md": story("Ana"), "ana.jpg": jpeg()})
    result = kiosk("check", "--config", str(tmp_path / "kiosk.toml"), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [r["source"] for r in json.loads(result.stdout)] == ["ana.md"]


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["user", "--help"]])
def test_quick_commands_do_not_import_the_server(argv: list[str]) -> None:
    """`kiosk --help` and each command's help start in a blink: they load neither the web stack
    nor the settings and model a command needs only once it runs. bench/cli.py measures the
    time; this pins down why it stays short."""
    heavy = ["fastapi", "starlette", "uvicorn", "jinja2", "PIL", "watchdog", "argon2", "yaml"]
    heavy += ["kiosk.settings", "kiosk.model", "dataclasses", "logging", "importlib.resources"]
    code = (
        "import sys, kiosk.cli\n"
        "from contextlib import redirect_stdout\nimport io\n"
        "with redirect_stdout(io.StringIO()):\n"
        f"    try: kiosk.cli.main({argv!r})\n"
        "    except SystemExit: pass\n"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("access_log", [False, True], ids=["default", "access_log"])
def test_serve_logs_no_line_per_screen_request_unless_asked(
    tmp_path: Path, access_log: bool
) -> None:
    """A Pi's SD card: heartbeats, event streams and photos are not one journal line each."""
    (tmp_path / "content").mkdir()
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "KIOSK_PORT": str(port)}
    if access_log:
        env["KIOSK_ACCESS_LOG"] = "true"
    args = ["--content-dir", str(tmp_path / "content"), "--data-dir", str(tmp_path / "data")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url + "/healthz"), timeout=30)
        for _ in range(5):
            httpx.post(url + "/api/screens/default/heartbeat", json={"slide": None}, timeout=5)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=15)[0]
    lines = [line for line in out.splitlines() if "/heartbeat" in line]
    assert len(lines) == (5 if access_log else 0), out


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_check_pages_says_which_story_needs_more_than_one_page(tmp_path: Path) -> None:
    """Twice the template's length plays on two pages upright; the template itself on one."""
    files: dict[str, str | bytes] = {}
    for stem, key in (("marta", "en-double"), ("kenji", "en-template")):
        fields = dict(STORIES[key])
        files[f"{stem}.md"] = story(fields.pop("name"), fields.pop("body"), **fields)
        files[f"{stem}.jpg"] = jpeg()
    content = make_tree(tmp_path / "stories", files)
    config = tmp_path / "kiosk.toml"
    config.write_text('[screens.lobby]\ntheme = "portrait"\norientation = "portrait"\n')
    result = kiosk("check", str(content), "--config", str(config), "--pages", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    pages = {r["source"]: r["pages"] for r in json.loads(result.stdout)}
    shapes = {"1920×1080 (default)", "1080×1920 (default)", "lobby (upright)"}
    assert set(pages["kenji.md"]) == set(pages["marta.md"]) == shapes
    assert set(pages["kenji.md"].values()) == {1}
    assert pages["marta.md"]["lobby (upright)"] == 2
    assert pages["marta.md"]["1080×1920 (default)"] == 2

    text = kiosk("check", str(content), "--config", str(config), "--pages").stdout
    assert "marta.md: needs 2 pages on lobby (upright)" in text
    assert "kenji.md: needs" not in text


def test_check_pages_without_playwright_says_so_and_checks_the_rest(tmp_path: Path) -> None:
    make_tree(tmp_path, {"good.md": story("Good Person"), "good.jpg": jpeg()})
    # As on a machine without the `pages` extra: the import of playwright fails.
    script = (
        "import sys; sys.modules['playwright'] = None; from kiosk.cli import main; "
        f"sys.exit(main(['check', {str(tmp_path)!r}, '--pages']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pending  good.md  (Good Person)" in result.stdout
    assert "1 stories: 1 would be pending" in result.stdout
    assert result.stderr.strip() == (
        "could not measure pages: install chromium and the `pages` extra"
    )
