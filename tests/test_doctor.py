"""`kiosk doctor` on this machine: a real server, the share install.sh writes, real tools."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kiosk import doctor
from kiosk.cli import main

from .factories import make_tree
from .support import LiveServer, dry_run, free_port, make_settings


def config_file(tmp_path: Path, content: Path, data: Path, port: int, **extra: str) -> Path:
    path = tmp_path / "kiosk.toml"
    lines = [f"content_dir = '{content}'", f"data_dir = '{data}'", f"port = {port}"]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def smb_conf(tmp_path: Path, content: Path) -> Path:
    """smb.conf as install.sh leaves it, with the [stories] share of `content`."""
    root = tmp_path / "root"
    dry_run(root, "--no-screen", "--content-dir", str(content))
    conf = root / "etc/samba/smb.conf"
    conf.write_text(conf.read_text().replace("/etc/samba/", f"{root}/etc/samba/"))
    return conf


def lines(out: str) -> dict[str, list[str]]:
    """name -> the lines doctor printed for it."""
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[0] in (doctor.OK, doctor.WARN, doctor.FAIL):
            found.setdefault(parts[1], []).append(line)
    return found


def test_a_working_server_is_all_ok(server: LiveServer, tmp_path: Path, capsys) -> None:
    s = server.settings
    config = config_file(tmp_path, s.content_dir, s.data_dir, s.port)
    status = main(
        ["doctor", "--config", str(config), "--smb-conf", str(smb_conf(tmp_path, s.content_dir))]
    )
    out = capsys.readouterr().out
    found = lines(out)
    assert status == 0, out
    assert found["server"][0].startswith("OK") and "watcher running" in found["server"][0]
    assert found["share"] == [f"OK    share      [stories] shares {s.content_dir}"]
    assert found["chromium"][0].startswith("OK    chromium   Chromium ")
    assert found["watcher"][0].startswith("OK    watcher    native on ")
    assert found["disk"][0].startswith("OK    disk") and "MB free" in found["disk"][0]
    assert found["folders"][0].startswith("OK")
    for name in ("service", "cec", "dpms", "clock", "timezone", "fonts", "phones"):
        assert name in found, out  # every area is looked at, whatever this machine has
    assert "FAIL" not in out


def test_problems_fail_with_what_to_do(tmp_path: Path, capsys) -> None:
    content, data = tmp_path / "stories", tmp_path / "data"
    content.mkdir()
    other = tmp_path / "elsewhere"
    other.mkdir()
    config = config_file(tmp_path, content, data, free_port(), timezone='"Pacific/Chatham"')
    status = main(["doctor", "--config", str(config), "--smb-conf", str(smb_conf(tmp_path, other))])
    out = capsys.readouterr().out
    found = lines(out)
    assert status == 1
    assert found["server"][0].startswith("FAIL") and "is the service running?" in found["server"][0]
    assert found["share"][0].startswith("FAIL") and "re-run install.sh with --content-dir" in out
    assert "does not exist yet: the server creates it" in out  # data folder: a warning only
    if doctor.system_timezone() not in ("", "Pacific/Chatham"):
        assert "sudo timedatectl set-timezone Pacific/Chatham" in found["timezone"][0]
    assert out.rstrip().endswith("to look at")

    content.rmdir()
    assert main(["doctor", "--config", str(config)]) == 1
    assert "content_dir" in lines(capsys.readouterr().out)["folders"][0]


def test_bad_settings_are_one_fail_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "kiosk.toml"
    bad.write_text('timezone = "Mars/Olympus"\n')
    assert main(["doctor", "--config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL  settings   timezone = 'Mars/Olympus' is not a known time zone")


def test_missing_tools_are_named_with_their_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert doctor.check_chromium() == doctor.Check(
        doctor.FAIL, "chromium", "not installed: sudo apt install chromium"
    )
    settings = make_settings(tmp_path)
    assert doctor.check_share(settings).status == doctor.WARN  # no Samba: a choice, not a fault
    cec, dpms = doctor.check_cec()
    assert "sudo apt install v4l-utils" in cec.detail and "wlopm" in dpms.detail
    assert doctor.check_service().status == doctor.WARN
    assert (
        "fonts-" in doctor.check_fonts()[0].detail or "fontconfig" in doctor.check_fonts()[0].detail
    )


def test_libvips_is_checked_and_named_with_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    assert doctor.check_libvips().status == doctor.OK
    monkeypatch.setitem(sys.modules, "pyvips", None)  # import pyvips now raises ImportError
    missing = doctor.check_libvips()
    assert missing.status == doctor.WARN and "sudo apt install libvips42" in missing.detail


def test_a_script_without_a_font_is_named_with_its_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real fontconfig, told to see DejaVu only: Latin to Hebrew are covered, the rest not."""
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"<dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{tmp_path}/cache</cachedir>\n"
        "</fontconfig>\n"
    )
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))
    found = {c.name: c for c in doctor.check_fonts()}
    assert found["fonts"].status == doctor.OK
    scripts = found["scripts"]
    assert scripts.status == doctor.WARN
    assert scripts.detail.startswith("no font for Devanagari, Thai, Chinese, Japanese, Korean:")
    assert scripts.detail.endswith("sudo apt install fonts-noto-core fonts-wqy-microhei")


def test_watcher_backend_is_named(tmp_path: Path) -> None:
    polling = make_settings(tmp_path, watch="polling")
    assert doctor.check_watcher(polling).detail.startswith("polling on ")


def test_qr_codes_a_phone_cannot_open_are_named(tmp_path: Path) -> None:
    # The default host is loopback: the server's own screen works, a phone scanning the code not.
    local = make_settings(tmp_path)
    found = doctor.check_phones(local)
    assert found.status == "WARN" and 'set host = "0.0.0.0"' in found.detail
    assert found.detail.startswith(f"QR codes point at {local.public_origin},")
    assert doctor.check_phones(local.replace(host="0.0.0.0")).status == "OK"
    behind_proxy = local.replace(public_url="https://kiosk.example.org")
    assert doctor.check_phones(behind_proxy).detail == (
        "QR codes open https://kiosk.example.org/story/…"
    )
    loopback = local.replace(host="0.0.0.0", public_url="http://localhost:8000")
    assert "only this machine can open" in doctor.check_phones(loopback).detail
    make_tree(tmp_path / "themes", {"plain/theme.toml": 'extends = "default"\nqr = false\n'})
    plain = local.replace(themes_dir=tmp_path / "themes", theme="plain")
    assert doctor.check_phones(plain).detail == "no theme in use shows QR codes"
