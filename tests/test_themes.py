"""Themes: folders that inherit, fail with the installed list, and keep AAA contrast."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.app import create_app
from kiosk.theme import ThemeError, installed, load_theme

from .conftest import LiveServer, make_settings


def write_theme(root: Path, name: str, toml: str, **files: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "theme.toml").write_text(toml)
    for file, text in files.items():
        (folder / file.replace("_", ".")).write_text(text)
    return folder


def test_shipped_themes_resolve_to_parent_then_builtin() -> None:
    assert {"default", "portrait", "high-contrast"} <= set(installed(None))
    portrait = load_theme("portrait")
    assert [name for name, _ in portrait.chain] == ["portrait", "default"]
    # the parent's CSS first, so the child's rules win
    assert portrait.stylesheets == ["/themes/default/style.css", "/themes/portrait/style.css"]
    assert portrait.variables["background"] == "#f5f0e6"  # its own
    assert portrait.variables["body-min"] == "3.5vh"  # inherited from default
    env = portrait.environment()
    assert 'data-field="name"' in env.get_template("slide.html").render()
    assert env.get_template("display.html").filename.endswith("kiosk/templates/display.html")


def test_unknown_theme_fails_listing_installed_ones(tmp_path: Path) -> None:
    with pytest.raises(ThemeError, match="default, high-contrast, portrait"):
        load_theme("fancy")
    with pytest.raises(ThemeError, match="'fancy'.*installed themes: default, high-contrast"):
        create_app(make_settings(tmp_path, screens={"lobby": {"theme": "fancy"}}))


def test_unknown_parent_and_loops_fail(tmp_path: Path) -> None:
    write_theme(tmp_path, "orphan", 'extends = "nowhere"')
    write_theme(tmp_path, "ping", 'extends = "pong"')
    write_theme(tmp_path, "pong", 'extends = "ping"')
    with pytest.raises(ThemeError, match="'orphan' extends 'nowhere', which is not installed"):
        load_theme("orphan", tmp_path)
    with pytest.raises(ThemeError, match="circle"):
        load_theme("ping", tmp_path)


def test_variables_cannot_escape_the_style_block(tmp_path: Path) -> None:
    write_theme(tmp_path, "evil", '[variables]\naccent = "red;}</style><script>alert(1)</script>"')
    with pytest.raises(ThemeError, match="accent"):
        load_theme("evil", tmp_path)


def test_a_site_theme_overrides_blocks_and_variables(tmp_path: Path) -> None:
    themes = tmp_path / "themes"
    write_theme(
        themes,
        "acme",
        'extends = "portrait"\n[variables]\naccent = "#0a7d3c"\n',
        slide_html='{% extends "slide-base.html" %}{% block quote %}'
        '<p class="acme-quote" data-field="quote"></p>{% endblock %}',
        style_css=".acme-quote { font-style: italic; }",
    )
    server = LiveServer(make_settings(tmp_path, theme="acme", themes_dir=themes)).start()
    try:
        page = server.get("/display").text
        assert page.count('class="acme-quote" data-field="quote"') == 2  # two slide layers
        assert "--accent: #0a7d3c;" in page and "--background: #f5f0e6;" in page
        sheets = [
            "/themes/default/style.css",
            "/themes/portrait/style.css",
            "/themes/acme/style.css",
        ]
        positions = [page.index(href) for href in sheets]
        assert positions == sorted(positions)
        assert server.get("/themes/acme/style.css").text.startswith(".acme-quote")
        assert server.get("/themes/acme/theme.toml").status_code == 404  # only CSS, fonts, images
        assert server.get("/themes/acme/..%2Ftheme.toml").status_code == 404
    finally:
        server.stop()


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize(
    ("theme", "minimum"), [("high-contrast", 7.0), ("default", 4.5), ("portrait", 4.5)]
)
def test_text_contrast(theme: str, minimum: float) -> None:
    """WCAG: AAA (7:1) for high-contrast, AA (4.5:1) at least for the others."""
    v = load_theme(theme).variables
    for colour in ("text", "story", "muted", "accent"):
        assert contrast(v[colour], v["background"]) >= minimum, colour
