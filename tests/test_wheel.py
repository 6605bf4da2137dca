"""The installed program, not the checkout: build the wheel, install it outside the repository and
serve every shipped theme and static file from there (what install.sh and pipx give a user)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .support import REPO, free_port, install_wheel, wait_for

SHIPPED_THEMES = sorted(p.parent.name for p in (REPO / "themes").glob("*/theme.toml"))
STATIC_FILES = sorted(
    p.relative_to(REPO / "kiosk" / "static").as_posix()
    for p in (REPO / "kiosk" / "static").rglob("*")
    if p.is_file()
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv outside the checkout with the built wheel in it; returns the venv folder.

    Its dependencies come from the test environment's site-packages (a .pth line) so the test does
    not download them again; the program itself comes only from the wheel."""
    return install_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def served(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kiosk serve` from the installed venv, one screen per shipped theme; yields its URL."""
    root = tmp_path_factory.mktemp("site")
    (root / "content").mkdir()
    screens = "".join(f'[screens.{t}]\ntheme = "{t}"\n' for t in SHIPPED_THEMES)
    (root / "kiosk.toml").write_text(
        f'content_dir = "content"\ndata_dir = "data"\nport = {free_port()}\n{screens}'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "PYTHON"))}
    log = (root / "serve.log").open("w+")
    proc = subprocess.Popen(
        [installed / "bin/kiosk", "serve", "--config", "kiosk.toml"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    port = (root / "kiosk.toml").read_text().split("port = ")[1].split()[0]
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"kiosk serve exited:\n{(root / 'serve.log').read_text()}")
        try:
            return httpx.get(url + "/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(up, timeout=30)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def test_the_wheel_holds_every_theme_and_static_file(installed: Path) -> None:
    site = next(installed.glob("lib/python*/site-packages"))
    for theme in SHIPPED_THEMES:
        assert (site / "kiosk/themes" / theme / "theme.toml").is_file(), theme
    for rel in STATIC_FILES:
        assert (site / "kiosk/static" / rel).is_file(), rel


def test_the_installed_program_runs_from_the_venv_not_the_checkout(installed: Path) -> None:
    where = subprocess.run(
        [installed / "bin/python", "-c", "import kiosk.theme as t; print(t.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed,
        env={"PATH": os.environ["PATH"]},
    ).stdout
    assert str(installed) in where and str(REPO) not in where


@pytest.mark.parametrize("theme", SHIPPED_THEMES)
def test_installed_server_shows_every_shipped_theme(served: str, theme: str) -> None:
    page = httpx.get(f"{served}/display", params={"screen": theme}, timeout=10)
    assert page.status_code == 200
    css = f"/themes/{theme}/style.css"
    assert css in page.text
    assert httpx.get(served + css, timeout=10).status_code == 200


def test_installed_server_serves_every_static_file(served: str) -> None:
    for rel in STATIC_FILES:
        assert httpx.get(f"{served}/static/{rel}", timeout=10).status_code == 200, rel
    assert httpx.get(f"{served}/admin", timeout=10, follow_redirects=True).status_code == 200
