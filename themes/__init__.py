"""The shipped slide themes, installed as the package `kiosk.themes` (see pyproject.toml).

This folder stays at the top of the repository, where the project's layout puts it; the build maps
it into the package so an installed copy finds its themes here.
"""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def shipped() -> list[str]:
    """The shipped themes' names (for `kiosk serve --help`: no Jinja2, no settings)."""
    return sorted(f.name for f in FOLDER.iterdir() if (f / "theme.toml").is_file())
