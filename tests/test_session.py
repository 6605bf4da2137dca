"""The screen side as installed, run for real: greetd's command, labwc, kiosk-session, Chromium.

A fresh Debian Trixie root (cached, see debian_root.py; labwc is not in Bookworm) gets this
checkout and `install.sh --server URL --lite`: a second screen, as on a Pi with Raspberry Pi OS
Lite, pointed at a server running here on loopback with one approved story. There is no greetd,
no logind and no screen in a chroot, so the test does their part: it starts the command from
the installed /etc/greetd/config.toml as the screen's user, the way greetd does (a login shell's
profile, XDG_RUNTIME_DIR as pam_systemd makes it), with wlroots' headless backend and software
renderer instead of a monitor. labwc's autostart (installed in the user's home) then starts
kiosk-session, which starts `kiosk display`, which starts Chromium. The page's heartbeat says
which slide it shows; grim takes a picture of the output, and the story's photo must be on it.
No extra Chromium flags: the session runs where the root is its mount namespace's own (see
`contained`), so Chromium's sandbox works as on the Pi. What a chroot lacks and the test stands
in for: journald's socket (autostart's systemd-cat) and the user's D-Bus session bus (Chromium
logs that it has none and goes on; on the Pi pam_systemd and dbus-user-session provide it).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import threading
import time
import tomllib
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from kiosk.settings import Settings

from .debian_root import CACHE, Root, Target, copy_checkout, host_arch, unpacked
from .factories import approved
from .support import LiveServer, wait_for

TARGETS = [Target("trixie", host_arch())]
INSTALL = "/home/pi/hallway-kiosk/deploy/raspberry-pi/install.sh"
INSTALL_ENV = {"PIP_CERT": "/etc/host-ca.pem", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
SCREEN = "hallway"
USER = "pi"
PHOTO = (200, 120, 80)  # factories.photo's background: most of the slide's picture
# No monitor, no GPU: wlroots' virtual output (1280x720) drawn in software, and no input devices
# to open (there is no seat to hand them out).
HEADLESS = {
    "WLR_BACKENDS": "headless",
    "WLR_RENDERER": "pixman",
    "WLR_LIBINPUT_NO_DEVICES": "1",
    "WLR_HEADLESS_OUTPUTS": "1",
}


def session_env(root: Root, uid: str) -> dict[str, str]:
    """What greetd and pam_systemd give the session: the user's own variables and runtime dir."""
    home = root.home(USER)
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": USER,
        "LOGNAME": USER,
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        "XDG_RUNTIME_DIR": f"/run/user/{uid}",
        "XDG_SESSION_TYPE": "wayland",
        "XDG_SESSION_CLASS": "user",
        **HEADLESS,
    }


def as_user(
    root: Root, ids: tuple[str, str, str], env: dict[str, str], argv: list[str]
) -> list[str]:
    uid, gid, gids = ids
    return ["chroot", f"--userspec={uid}:{gid}", f"--groups={gids}", str(root.path),
            "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]  # fmt: skip


def contained(root: Root, chroot: list[str]) -> list[str]:
    """`chroot` run where the root is its mount namespace's own root, in a PID namespace.

    The kernel refuses a chrooted process a user namespace, and Chromium's sandbox is one: in
    a plain chroot Chromium says "No usable sandbox!" and stops. Pivoting the mount namespace
    onto the root makes it no chroot at all, as on the Pi. The PID namespace ends everything
    the session started (Chromium runs in sessions of its own) when its first process ends.
    """
    r = str(root.path)
    return ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
            "sh", "-c", 'set -e; mount --rbind "$1" "$1"; mount -t proc proc "$1/proc"; cd "$1"; '
            'pivot_root . mnt; shift; exec "$@"', "contain", r,
            chroot[0], *chroot[1:3], ".", *chroot[4:]]  # fmt: skip


class Journal:
    """journald's stdout socket, for `systemd-cat` in labwc's autostart: each stream's text,
    after the seven header lines the protocol starts with, goes to one log file."""

    def __init__(self, root: Root, log: Path) -> None:
        path = root / "run/systemd/journal/stdout"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        path.chmod(0o666)
        self.sock.listen()
        self.log = log
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # closed: the test is over
            while True:
                conn, _ = self.sock.accept()
                threading.Thread(target=self._copy, args=(conn,), daemon=True).start()

    def _copy(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as stream, open(self.log, "ab", buffering=0) as out:
            for _ in range(7):
                stream.readline()
            for line in stream:
                out.write(line)

    def close(self) -> None:
        self.sock.close()


def photo_share(png: Path) -> float:
    """The share of the picture's pixels in the story photo's colour (JPEG and scaling: ±24)."""
    img = Image.open(png).convert("RGB")
    near = [
        band.point(lambda v, c=c: 255 if abs(v - c) < 24 else 0)
        for band, c in zip(img.split(), PHOTO, strict=True)
    ]
    both = ImageChops.multiply(ImageChops.multiply(near[0], near[1]), near[2])
    return both.histogram()[255] / (img.width * img.height)


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_installed_session_shows_the_slide(
    target: Target, settings: Settings, server: LiveServer, shots: Path, tmp_path: Path
) -> None:
    timings: dict[str, float] = {}
    start = time.monotonic()
    story = approved(server, settings.content_dir, "ada", "Ada Lovelace")
    with unpacked(target) as root:
        # The Pi's user exists (the imager made it) and cloned the checkout into its home.
        assert root.run(["useradd", "--create-home", "--shell", "/bin/bash", USER]).returncode == 0
        copy_checkout(root)
        assert root.run(["chown", "-R", f"{USER}:", f"/home/{USER}"]).returncode == 0
        t = time.monotonic()
        done = root.run(
            ["bash", INSTALL, "--server", server.url, "--lite", "--user", USER,
             "--screen-name", SCREEN],
            env=INSTALL_ENV, timeout=1800,
        )  # fmt: skip
        timings["install"] = time.monotonic() - t
        (tmp_path / "install.txt").write_text(done.stdout)
        assert done.returncode == 0, f"install.sh failed:\n{done.stdout[-6000:]}"
        assert f"Screen:       '{SCREEN}' as {USER} (lite)" in done.stdout
        # What the test itself uses to look at the screen; not part of a Pi's install.
        done = root.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "grim"],
            env={"DEBIAN_FRONTEND": "noninteractive"},
        )
        assert done.returncode == 0, done.stdout[-3000:]

        greetd = tomllib.loads((root / "etc/greetd/config.toml").read_text())
        command = greetd["initial_session"]["command"]
        assert greetd["initial_session"]["user"] == USER
        ids = root.ids(USER, None, [])
        uid, gid = int(ids[0]), int(ids[1])
        _, _, groups = root.ids(USER, None, ["video"])
        ids = (ids[0], ids[1], f"{ids[1]},{groups}")
        runtime = root / f"run/user/{uid}"
        runtime.mkdir(parents=True)
        os.chown(runtime, uid, gid)
        runtime.chmod(0o700)
        env = session_env(root, str(uid))
        # greetd runs the command through sh after the login profile, as a login would.
        profile = (
            '[ -f /etc/profile ] && . /etc/profile; [ -f "$HOME/.profile" ] && . "$HOME/.profile"; '
        )
        log = tmp_path / "session.txt"
        journal = Journal(root, log)
        login = as_user(root, ids, env, ["/bin/sh", "-c", profile + f"exec {command}"])
        with open(log, "wb") as out:
            session = subprocess.Popen(
                contained(root, login),
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd="/",
            )  # fmt: skip
        try:
            t = time.monotonic()

            def showing() -> bool:
                assert session.poll() is None, f"the session ended:\n{log.read_text()[-6000:]}"
                seen = {s["name"]: s for s in server.library.screens()}
                return seen.get(SCREEN, {}).get("slide") == str(story["id"])

            try:
                wait_for(showing, timeout=180, interval=1)
            except AssertionError:
                raise AssertionError(
                    f"no heartbeat with the slide:\n{log.read_text()[-6000:]}"
                ) from None
            timings["slide shown"] = time.monotonic() - t
            shot = root / "tmp/labwc-session.png"

            def pictured() -> bool:
                shot.unlink(missing_ok=True)
                wayland = {**env, "WAYLAND_DISPLAY": "wayland-0"}
                grim = subprocess.run(
                    as_user(root, ids, wayland, ["grim", "/tmp/labwc-session.png"]),
                    capture_output=True, text=True, timeout=60,
                )  # fmt: skip
                assert grim.returncode == 0, grim.stderr
                return photo_share(shot) > 0.05

            wait_for(pictured, timeout=60, interval=2)
            picture = Image.open(shot)
            assert picture.size == (1280, 720)
            colours = picture.convert("RGB").getcolors(1 << 20) or []
            assert len(colours) > 50, "a slide has a photo and text, not a few flat colours"
            (shots / "labwc-session.png").write_bytes(shot.read_bytes())
        finally:
            os.killpg(session.pid, signal.SIGTERM)
            try:
                session.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(session.pid, signal.SIGKILL)
                session.wait()
            journal.close()
    timings["total"] = time.monotonic() - start
    summary = ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
    with open(CACHE / "install-times.log", "a") as record:
        record.write(f"{time.strftime('%F %T')} session {target.name}: {summary}\n")
    print(f"session {target.name}: {summary} ({shlex.quote(command)})")
