"""Theme folders -> one Jinja2 environment (theme -> parent -> built-in) and the CSS they bring.

A theme is a folder holding `theme.toml`, `slide.html` and `style.css`. `theme.toml` may say
`extends = "default"` and lists `[variables]` that become CSS custom properties on the page, so a
child theme can change colours or type sizes without copying any CSS; `qr = true` puts a QR code
on each slide that opens the whole story on a phone (a child theme inherits it unless it says).
Folders in `themes_dir` are searched before the shipped ones (the package `kiosk.themes`, built
from the repository's top-level `themes/` folder), so a site can override a built-in theme.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .settings import Settings, SettingsError
from .themes import FOLDER

BUILTIN_TEMPLATES = Path(__file__).resolve().parent / "templates"
SHIPPED_THEMES: Path = FOLDER
# Names and values end up inside a <style> block: refuse anything that could close it.
_VARIABLE_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_UNSAFE_VALUE = re.compile(r"[<>{};\\]")
THEME_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.(css|woff2|woff|png|jpg|jpeg|svg|webp)$")


class ThemeError(SettingsError):
    """A theme is missing or broken; the message lists the installed themes."""


@dataclass(frozen=True)
class Theme:
    """A resolved theme: its folder first, then its parents' folders."""

    name: str
    chain: tuple[tuple[str, Path], ...]  # (name, folder), the theme itself first
    variables: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    qr: bool = False  # each slide shows a QR code of its story's phone page

    @property
    def stylesheets(self) -> list[str]:
        """URLs of each folder's style.css, parent first so the child's rules win."""
        return [
            f"/themes/{name}/style.css"
            for name, folder in reversed(self.chain)
            if (folder / "style.css").is_file()
        ]

    def environment(self) -> Environment:
        """One loader over the ordered folder list: a theme overrides any template it holds.

        Sandboxed: a site theme is a folder somebody edits, and a template must not be a way
        to run Python on the server (`cycler.__init__.__globals__.os`).
        """
        folders = [str(folder) for _, folder in self.chain] + [str(BUILTIN_TEMPLATES)]
        return ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(folders),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )


def installed(themes_dir: Path | None) -> dict[str, Path]:
    """Theme name -> folder; a site's `themes_dir` wins over the shipped themes."""
    found: dict[str, Path] = {}
    for root in (SHIPPED_THEMES, themes_dir):
        if root is not None and root.is_dir():
            for folder in sorted(root.iterdir()):
                if (folder / "theme.toml").is_file():
                    found[folder.name] = folder.resolve()
    return found


@lru_cache(maxsize=32)
def load_theme(name: str, themes_dir: Path | None = None) -> Theme:
    """Resolve `name` and its parents; unknown names and loops fail with the installed list."""
    available = installed(themes_dir)
    chain: list[tuple[str, Path, dict]] = []
    current: str | None = name
    while current is not None:
        if current not in available:
            wanted = f"theme {name!r}" if current == name else f"theme {name!r} extends {current!r}"
            raise ThemeError(
                f"{wanted}, which is not installed; installed themes: "
                f"{', '.join(sorted(available)) or '(none)'}"
                + (f" (looked in {themes_dir} and {SHIPPED_THEMES})" if themes_dir else "")
            )
        if any(seen == current for seen, _, _ in chain):
            raise ThemeError(f"theme {name!r}: `extends` goes in a circle through {current!r}")
        meta = _read_meta(current, available[current])
        chain.append((current, available[current], meta))
        current = meta.get("extends")
    variables: dict[str, str] = {}
    qr = False
    for theme_name, _, meta in reversed(chain):  # the parent first, so the child's word wins
        variables.update(_variables(theme_name, meta.get("variables", {})))
        qr = meta.get("qr", qr)
    return Theme(
        name=name,
        chain=tuple((n, folder) for n, folder, _ in chain),
        variables=variables,
        fingerprint=_fingerprint(folder for _, folder, _ in chain),
        qr=qr,
    )


def check_themes(settings: Settings) -> dict[str, Theme]:
    """Load every theme a screen can ask for, so a typo stops the server at start-up."""
    names = {settings.theme, *(s.theme for s in settings.screens.values() if s.theme)}
    return {n: load_theme(n, settings.themes_dir) for n in sorted(names)}


def theme_file(theme: str, name: str, themes_dir: Path | None) -> Path | None:
    """A file (CSS, font, picture) from one installed theme's own folder, or None."""
    folder = installed(themes_dir).get(theme)
    if folder is None or not THEME_FILE.match(name):
        return None
    path = folder / name
    return path if path.is_file() else None


def _read_meta(name: str, folder: Path) -> dict:
    try:
        with (folder / "theme.toml").open("rb") as fh:
            meta = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(
            f"theme {name!r}: {folder / 'theme.toml'} is not valid TOML: {exc}"
        ) from None
    extends = meta.get("extends")
    if extends is not None and not isinstance(extends, str):
        raise ThemeError(f'theme {name!r}: extends must be a theme name, like extends = "default"')
    if not isinstance(meta.get("qr", False), bool):
        raise ThemeError(f"theme {name!r}: qr must be true or false, like qr = true")
    if not isinstance(meta.get("variables", {}), dict):
        raise ThemeError(f"theme {name!r}: [variables] must be a table of name = value")
    return meta


def _variables(theme: str, table: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        text = str(value)
        if not _VARIABLE_NAME.match(key) or _UNSAFE_VALUE.search(text):
            raise ThemeError(
                f"theme {theme!r}: variable {key} = {text!r} is not allowed; names are lower-case "
                "letters, digits and dashes, values plain CSS without < > { } ; or backslashes"
            )
        out[key] = text
    return out


def _fingerprint(folders: Iterable[Path]) -> str:
    """A hash of every file in the theme's folders: screens reload when a theme changes."""
    h = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]
