"""deploy/raspberry-pi/install.sh, run as `--dry-run` into a temp folder, and every file it writes.

The dry run writes each file under DESTDIR and prints the commands instead of running them; the
files are then checked by the tools that will read them on a Pi: systemd-analyze for the unit,
Settings for kiosk.toml, tomllib for greetd, libXcursor for the cursor theme.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kiosk.settings import load

from .support import dry_run

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "raspberry-pi"
INSTALL = DEPLOY / "install.sh"
LITE = [
    "--user", "pi", "--lite", "--screen-name", "lobby", "--portrait",
    "--timezone", "Europe/Berlin", "--quiet-hours", "mon-fri 19:00-07:00; sat-sun 00:00-24:00",
]  # fmt: skip


def commands(output: str) -> list[str]:
    return [line[2:] for line in output.splitlines() if line.startswith("+ ")]


def files(root: Path) -> set[str]:
    return {
        "/" + str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()
    }


def snapshot(root: Path) -> dict[Path, bytes | str]:
    """Every file's bytes and every link's target."""
    return {
        p: os.readlink(p) if p.is_symlink() else p.read_bytes()
        for p in root.rglob("*")
        if p.is_symlink() or p.is_file()
    }


def unit(text: str) -> dict[str, list[str]]:
    """A systemd unit as key -> values (keys may repeat, so not configparser)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.fixture(scope="module")
def pi(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A Lite install: server, share and screen on one Pi."""
    root = tmp_path_factory.mktemp("pi")
    return root, dry_run(root, *LITE)


def shell_scripts() -> list[Path]:
    found = [REPO / ".ci" / "run"]
    for path in sorted(DEPLOY.iterdir()):
        if path.is_file() and path.read_bytes()[:2] == b"#!":
            found.append(path)
    return found


def test_shellcheck_clean() -> None:
    scripts = shell_scripts()
    assert {p.name for p in scripts} >= {"install.sh", "kiosk-session", "run"}
    done = subprocess.run(["shellcheck", *map(str, scripts)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    # labwc runs its autostart file with sh
    done = subprocess.run(
        ["shellcheck", "--shell=sh", str(DEPLOY / "labwc-autostart")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout


def test_help() -> None:
    done = subprocess.run(["bash", str(INSTALL), "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for option in (
        "--dry-run",
        "DESTDIR",
        "--content-dir",
        "--screen-name",
        "--portrait",
        "--lite",
    ):
        assert option in done.stdout
    bad = subprocess.run(["bash", str(INSTALL), "--dry-run", "--frobnicate"], capture_output=True)
    assert bad.returncode == 2 and b"unknown option --frobnicate" in bad.stderr


def test_dry_run_writes_every_file_and_prints_the_commands(pi: tuple[Path, str]) -> None:
    root, output = pi
    assert {
        "/etc/kiosk/kiosk.toml",
        "/etc/kiosk/install.conf",
        "/etc/kiosk/screen.conf",
        "/etc/systemd/system/kiosk.service",
        "/etc/systemd/journald.conf.d/kiosk.conf",
        "/etc/systemd/system.conf.d/kiosk-watchdog.conf",
        "/etc/samba/smb.conf",
        "/etc/samba/kiosk-stories.conf",
        "/etc/greetd/config.toml",
        "/home/pi/.config/labwc/autostart",
        "/home/pi/.config/labwc/environment",
        "/usr/local/bin/kiosk",
        "/usr/local/bin/kiosk-session",
        "/usr/share/icons/kiosk-invisible/index.theme",
        "/usr/share/icons/kiosk-invisible/cursors/default",
        "/usr/share/icons/kiosk-invisible/cursors/left_ptr",
    } <= files(root)
    assert (root / "srv/stories").is_dir() and (root / "var/lib/kiosk").is_dir()
    starter = REPO / "kiosk" / "starter"
    for name in ("_TEMPLATE.md", "_README.txt"):  # what staff find on the share
        assert (root / "srv/stories" / name).read_bytes() == (starter / name).read_bytes()
    assert os.readlink(root / "usr/local/bin/kiosk") == "/opt/kiosk/bin/kiosk"
    assert os.access(root / "usr/local/bin/kiosk-session", os.X_OK)

    cmds = commands(output)
    install = next(c for c in cmds if "apt-get install" in c).split()
    for pkg in ("chromium", "labwc", "wlopm", "v4l-utils", "samba", "samba-vfs-modules", "greetd"):
        assert pkg in install
    assert any(p.startswith("fonts-") for p in install) and "python3-venv" in install
    assert "groupadd kiosk-staff" in cmds
    useradd = next(c for c in cmds if c.startswith("useradd --system"))
    assert useradd.endswith(" kiosk") and "--shell /usr/sbin/nologin" in useradd
    assert "usermod --append --groups video pi" in cmds  # /dev/cec* for the TV's power
    assert "chown kiosk:kiosk-staff /srv/stories" in cmds and "chmod 2775 /srv/stories" in cmds
    assert "chown kiosk:kiosk /var/lib/kiosk" in cmds
    # PEP 668: a venv of its own, never the system's pip
    assert "python3 -m venv /opt/kiosk" in cmds
    # built from a copy outside the checkout (no root-owned build/ left in it), then installed
    wheel = next(c for c in cmds if c.startswith("/opt/kiosk/bin/pip wheel")).split()[-1]
    assert wheel.startswith("/tmp/") and not wheel.startswith(str(REPO))
    assert "/opt/kiosk/bin/pip install --quiet --upgrade /tmp/kiosk-build/dist/\\*.whl" in cmds
    # face detection (an optional extra): binary wheels only, the install goes on without it
    assert any(
        c.endswith("--only-binary=:all: /tmp/kiosk-build/dist/\\*.whl\\[faces\\]") for c in cmds
    )
    assert not any(c.startswith(("pip ", "pip3 ", "python3 -m pip")) for c in cmds)
    for c in ("systemctl enable kiosk.service", "systemctl restart kiosk.service",
              "systemctl enable greetd.service", "testparm -s /etc/samba/smb.conf"):  # fmt: skip
        assert c in cmds
    assert not any(" token create" in c for c in cmds)  # a screen needs no credentials
    assert not (root / "opt/kiosk/bin/python").exists()  # nothing was run
    # the end: where to go, how to sign in, where to drop files
    assert re.search(r"Admin page: +http://\S+:8000/admin", output)
    assert "First admin:  admin" in output and re.search(r"Share: +\\\\\S+\\stories", output)


def test_config_is_valid_and_reachable_from_the_lan(pi: tuple[Path, str]) -> None:
    root, _ = pi
    s = load(root / "etc/kiosk/kiosk.toml", environ={})
    assert s.host == "0.0.0.0" and s.port == 8000
    assert s.content_dir == Path("/srv/stories") and s.data_dir == Path("/var/lib/kiosk")
    assert s.timezone == "Europe/Berlin"
    assert s.quiet_hours == ("mon-fri 19:00-07:00", "sat-sun 00:00-24:00")
    assert s.screen("lobby").orientation == "portrait" and s.theme_for("lobby") == "portrait"
    assert re.fullmatch(r"\\\\\S+\\stories", s.share_path)
    screen = (root / "etc/kiosk/screen.conf").read_text()
    assert "SCREEN_NAME=lobby" in screen and "ROTATE=90" in screen


def test_service_unit_verifies_and_is_hardened(pi: tuple[Path, str], tmp_path: Path) -> None:
    root, _ = pi
    text = (root / "etc/systemd/system/kiosk.service").read_text()
    keys = unit(text)
    assert keys["ExecStart"] == ["/opt/kiosk/bin/kiosk serve --config /etc/kiosk/kiosk.toml"]
    assert keys["Restart"] == ["always"] and keys["StartLimitIntervalSec"] == ["0"]
    assert keys["User"] == ["kiosk"] and keys["ProtectSystem"] == ["strict"]
    assert keys["NoNewPrivileges"] == ["yes"] and keys["PrivateTmp"] == ["yes"]
    assert keys["ReadWritePaths"] == ["/var/lib/kiosk /srv/stories"]  # and nothing else
    assert keys["StandardOutput"] == ["journal"]
    copy = analyzable_unit(text, tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr  # unknown keys only warn


def test_service_unit_has_resource_limits_and_a_syscall_filter(
    pi: tuple[Path, str], tmp_path: Path
) -> None:
    root, _ = pi
    text = (root / "etc/systemd/system/kiosk.service").read_text()
    keys = unit(text)
    # A Pi has 2 GB; the server idles near 80 MB, and photo decoders the kernel may kill
    # without the service being stopped.
    assert keys["MemoryHigh"] == ["512M"] and keys["MemoryMax"] == ["768M"]
    assert keys["OOMPolicy"] == ["continue"]
    assert keys["TasksMax"] == ["128"] and keys["LimitNOFILE"] == ["16384"]
    assert keys["SystemCallFilter"] == ["@system-service"]
    assert keys["ProtectProc"] == ["invisible"]
    copy = analyzable_unit(text, tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(copy)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert score is not None, done.stdout + done.stderr
    assert float(score.group(1)) <= 1.7  # 3.3 before the limits, the filter, /proc protection


def test_sd_card_care(pi: tuple[Path, str]) -> None:
    root, _ = pi
    journald = unit((root / "etc/systemd/journald.conf.d/kiosk.conf").read_text())
    manager = unit((root / "etc/systemd/system.conf.d/kiosk-watchdog.conf").read_text())
    assert journald["SystemMaxUse"] == ["50M"] and manager["RuntimeWatchdogSec"] == ["15s"]
    # every key is one this systemd knows (their parsers' tables are in the binaries)
    journald_bin = Path("/lib/systemd/systemd-journald").read_bytes()
    assert all(f"Journal.{k}".encode() in journald_bin for k in journald)
    systemd_bin = Path("/lib/systemd/systemd").read_bytes()
    assert all(k.encode() in systemd_bin for k in manager)


def test_session_starts_labwc_with_kiosk_display(pi: tuple[Path, str]) -> None:
    root, _ = pi
    greetd = tomllib.loads((root / "etc/greetd/config.toml").read_text())
    assert greetd["initial_session"] == {"command": "labwc", "user": "pi"}
    assert greetd["default_session"]["user"] == "pi"  # labwc again if it ever exits
    autostart = (root / "home/pi/.config/labwc/autostart").read_text()
    assert "/usr/local/bin/kiosk-session &" in autostart
    env = (root / "home/pi/.config/labwc/environment").read_text()
    assert "XCURSOR_THEME=kiosk-invisible" in env


def test_the_pointer_is_invisible(pi: tuple[Path, str]) -> None:
    """libXcursor, which wlroots' cursor code follows, reads a 1x1 fully transparent image."""
    root, _ = pi
    lib = ctypes.CDLL(ctypes.util.find_library("Xcursor") or "libXcursor.so.1")

    class Image(ctypes.Structure):
        _fields_ = [(n, ctypes.c_uint32) for n in ("version", "size", "width", "height")] + [
            ("xhot", ctypes.c_uint32),
            ("yhot", ctypes.c_uint32),
            ("delay", ctypes.c_uint32),
            ("pixels", ctypes.POINTER(ctypes.c_uint32)),
        ]

    lib.XcursorFilenameLoadImage.restype = ctypes.POINTER(Image)
    cursors = root / "usr/share/icons/kiosk-invisible/cursors"
    for name in ("default", "left_ptr", "pointer", "text", "wait"):
        image = lib.XcursorFilenameLoadImage(str(cursors / name).encode(), 24)
        assert image, f"{name} is not a cursor file"
        assert (image.contents.width, image.contents.height) == (1, 1)
        assert image.contents.pixels[0] >> 24 == 0  # alpha: transparent
        lib.XcursorImageDestroy(image)


def test_desktop_image_autologs_into_labwc(tmp_path: Path) -> None:
    output = dry_run(tmp_path, "--user", "pi", "--desktop")
    if shutil.which("raspi-config"):  # on a Pi: raspi-config does it
        assert "raspi-config nonint do_boot_behaviour B4" in commands(output)
        return
    lightdm = (tmp_path / "etc/lightdm/lightdm.conf.d/50-kiosk.conf").read_text()
    assert "autologin-user=pi" in lightdm and "autologin-session=labwc" in lightdm
    assert not (tmp_path / "etc/greetd").exists()
    assert "greetd" not in next(c for c in commands(output) if "apt-get install" in c)


def test_second_screen_installs_only_the_screen(tmp_path: Path) -> None:
    output = dry_run(tmp_path, "--server", "http://kiosk.local:8000", "--user", "pi", "--lite")
    written = files(tmp_path)
    assert "/etc/kiosk/screen.conf" in written and "/home/pi/.config/labwc/autostart" in written
    assert not {"/etc/systemd/system/kiosk.service", "/etc/samba/kiosk-stories.conf"} & written
    assert (
        "SERVER_URL='http://kiosk.local:8000'" in (tmp_path / "etc/kiosk/screen.conf").read_text()
    )
    cmds = commands(output)
    assert not any(c.startswith("useradd --system") or "samba" in c for c in cmds)
    assert "Admin page" not in output and "showing http://kiosk.local:8000" in output


def test_rerun_changes_nothing_and_keeps_the_admins_edits(tmp_path: Path) -> None:
    dry_run(tmp_path, *LITE)
    config = tmp_path / "etc/kiosk/kiosk.toml"
    text = config.read_text().replace("port = 8000\n", "port = 8000\nslide_seconds = 20\n")
    config.write_text(text)  # the admin's own setting
    autostart = tmp_path / "home/pi/.config/labwc/autostart"
    autostart.write_text("swaybg -c '#000000' &\n" + autostart.read_text())
    screen = tmp_path / "etc/kiosk/screen.conf"
    screen.write_text(screen.read_text().replace("CHROMIUM_FLAGS=''", "CHROMIUM_FLAGS='--x=1'"))
    before = snapshot(tmp_path)

    again = dry_run(tmp_path)  # an upgrade: no options, the answers come from install.conf
    assert "wrote " not in again
    assert snapshot(tmp_path) == before
    assert "useradd --create-home --shell /bin/bash --comment Hallway\\ Kiosk\\ screen pi" in again

    dry_run(tmp_path, "--content-dir", "/data/stories", "--landscape")
    s = load(config, environ={})
    assert s.content_dir == Path("/data/stories") and s.slide_seconds == 20
    unit_keys = unit((tmp_path / "etc/systemd/system/kiosk.service").read_text())
    assert unit_keys["ReadWritePaths"] == ["/var/lib/kiosk /data/stories"]
    assert "path = /data/stories" in (tmp_path / "etc/samba/kiosk-stories.conf").read_text()
    text = autostart.read_text()
    assert text.startswith("swaybg") and text.count("kiosk-session") == 1
    assert "ROTATE=normal" in screen.read_text() and "CHROMIUM_FLAGS='--x=1'" in screen.read_text()
    assert (tmp_path / "etc/samba/smb.conf").read_text().count("include =") == 1


class Health(ThreadingHTTPServer):
    """A stand-in server whose /healthz answers `status`, from `ready_at` (monotonic) on."""

    status = 200
    ready_at = 0.0


class HealthHandler(BaseHTTPRequestHandler):
    server: Health

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        code = self.server.status if time.monotonic() >= self.server.ready_at else 503
        self.send_response(code if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health() -> Iterator[Health]:
    server = Health(("127.0.0.1", 0), HealthHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def wait_healthy(port: int, seconds: int) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    done = subprocess.run(
        [str(DEPLOY / "wait-healthy"), str(port), str(seconds)],
        capture_output=True, text=True, timeout=seconds + 30,
    )  # fmt: skip
    return done, time.monotonic() - start


def test_wait_healthy_returns_as_soon_as_the_server_answers(health: Health) -> None:
    port = health.server_address[1]
    done, took = wait_healthy(port, 30)
    assert done.returncode == 0 and took < 5, done.stderr
    assert done.stdout == f"the server answers at http://127.0.0.1:{port}/healthz\n"

    health.ready_at = time.monotonic() + 2  # starting: 503 for two seconds, then 200
    done, took = wait_healthy(port, 30)
    assert done.returncode == 0 and 1.5 < took < 10, (done.stderr, took)


def test_wait_healthy_gives_up_at_the_deadline_saying_what_it_saw(health: Health) -> None:
    port = health.server_address[1]
    health.status = 503  # up, but not healthy (the watcher or the database failed)
    done, took = wait_healthy(port, 3)
    assert done.returncode == 1 and 3 <= took < 10
    assert done.stderr == (
        f"no healthy answer from http://127.0.0.1:{port}/healthz within 3 s (last: HTTP 503)\n"
    )
    health.shutdown()
    health.server_close()  # nothing listens: a server that keeps crashing
    done, took = wait_healthy(port, 2)
    assert done.returncode == 1 and took < 10 and "(last: nothing listening)" in done.stderr


def test_the_installer_waits_for_the_server_before_it_says_installed(tmp_path: Path) -> None:
    output = dry_run(tmp_path, "--no-screen")
    cmds = commands(output)
    wait = next(i for i, c in enumerate(cmds) if "wait-healthy" in c)
    assert cmds[wait] == f"bash {DEPLOY}/wait-healthy 8000 90"
    assert cmds.index("systemctl restart kiosk.service") < wait
    assert output.index(cmds[wait]) < output.index("Hallway Kiosk is installed.")


def analyzable_unit(text: str, tmp_path: Path) -> Path:
    """The unit, its /opt/kiosk made to point at this venv: systemd-analyze wants the program."""
    venv = tmp_path / "opt/kiosk/bin"
    venv.mkdir(parents=True)
    (venv / "kiosk").symlink_to(Path(sys.executable).parent / "kiosk")
    copy = tmp_path / "kiosk.service"
    copy.write_text(text.replace("/opt/kiosk/", f"{tmp_path}/opt/kiosk/"))
    return copy
