"""Settings: layered sources, validation messages a person can act on, and documentation."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from kiosk.schedule import parse_quiet
from kiosk.settings import Settings, SettingsError, check_folders, load

DOCS = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))
    names = {f.name for f in dataclasses.fields(Settings)}
    assert names - documented == set(), "add these settings to docs/settings.md"
    assert documented - names == set(), "docs/settings.md lists settings that do not exist"


def test_toml_then_environment_then_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('port = 9000\ntheme = "portrait"\ncontent_dir = "stories"\nslide_seconds = 8\n')
    s = load(cfg, overrides={"theme": "high-contrast"}, environ={"KIOSK_PORT": "9100"})
    assert s.port == 9100
    assert s.theme == "high-contrast"
    assert s.slide_seconds == 8.0
    assert s.content_dir == tmp_path / "stories"  # relative to the config file


def test_environment_config_lists_and_booleans(tmp_path: Path) -> None:
    cfg = tmp_path / "k.toml"
    cfg.write_text("require_consent = false\n")
    env = {
        "KIOSK_CONFIG": str(cfg),
        "KIOSK_REQUIRE_CONSENT": "yes",
        "KIOSK_QUIET_HOURS": "mon-fri 19:00-07:00;sat-sun 00:00-24:00",
    }
    s = load(environ=env)
    assert s.require_consent is True
    assert s.quiet_hours == ("mon-fri 19:00-07:00", "sat-sun 00:00-24:00")
    assert s.quiet_windows[0].days == frozenset(range(5))


def test_screens_tables(tmp_path: Path) -> None:
    cfg = tmp_path / "k.toml"
    cfg.write_text(
        '[screens.lobby]\ntheme = "portrait"\norientation = "portrait"\ntags = ["Plant"]\n'
    )
    s = load(cfg, environ={})
    assert s.theme_for("lobby") == "portrait"
    assert s.screen("lobby").tags == ("plant",)
    assert s.theme_for("elsewhere") == "default"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"port": "eighty"}, "port = 'eighty' is not a valid int"),
        ({"watch": "inotify"}, "use native, polling or auto"),
        ({"timezone": "Mars/Base"}, "use a name like Europe/Berlin"),
        ({"quiet_hours": ["weekdays 7pm"]}, 'write it like "mon-fri 19:00-07:00"'),
        ({"slide_seconds": 0}, "must be greater than 0"),
        ({"admin_poll_seconds": -1}, "admin_poll_seconds = -1.0 must be greater than 0"),
        ({"consent_months": -6}, "consent_months must be 0 (consent lasts until withdrawn)"),
        ({"nonsense": 1}, "unknown setting nonsense"),
    ],
)
def test_bad_values_say_what_to_do(overrides: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        load(overrides=overrides, environ={})


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("port = = 3\n")
    with pytest.raises(SettingsError, match="is not valid TOML"):
        load(cfg, environ={})
    cfg.write_text("colour = 'red'\n")
    with pytest.raises(SettingsError, match="unknown setting.*colour"):
        load(cfg, environ={})


def test_folders_checked(tmp_path: Path) -> None:
    s = load(overrides={"content_dir": tmp_path / "missing"}, environ={})
    with pytest.raises(SettingsError, match="does not exist: create it"):
        check_folders(s)
    (tmp_path / "c").mkdir()
    s = load(
        overrides={"content_dir": tmp_path / "c", "data_dir": tmp_path / "c" / "d"}, environ={}
    )
    with pytest.raises(SettingsError, match="inside content_dir"):
        check_folders(s)


def test_quiet_window_wraps_and_ranges() -> None:
    w = parse_quiet("fri-mon 22:30-06:00")
    assert w.days == frozenset({4, 5, 6, 0})
    assert (w.start, w.end) == (22 * 60 + 30, 360)


def test_limits_in_bytes_and_pixels() -> None:
    s = load(overrides={"max_photo_mb": 0.5, "max_text_kb": 2, "max_megapixels": 1.5}, environ={})
    assert (s.max_photo_bytes, s.max_text_bytes, s.max_pixels) == (524_288, 2048, 1_500_000)
