"""`kiosk display`: its Chromium command line, run for real (headless) against a real server.

Chromium gets `--headless=new` and the sandbox-free test flags (support.CHROMIUM_ARGS) on top of
the kiosk flags, and a DevTools port so Playwright can look at what the screen shows.
"""

from __future__ import annotations

import json
import mmap
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk import chromium
from kiosk.settings import Settings

from .factories import calls, fake_tool, jpeg, make_tree, story
from .support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    dry_run,
    free_port,
    make_settings,
    wait_for,
)

REPO = Path(__file__).resolve().parents[1]
SESSION = REPO / "deploy" / "raspberry-pi" / "kiosk-session"
KIOSK = Path(sys.executable).parent / "kiosk"
HEADLESS = ["--headless=new", *CHROMIUM_ARGS, "--remote-debugging-port=0"]


def chromium_binary() -> Path:
    """Debian's /usr/bin/chromium is a shell wrapper; the switches live in the real binary."""
    real = Path("/usr/lib/chromium/chromium")
    return real if Path(CHROMIUM) == Path("/usr/bin/chromium") and real.exists() else Path(CHROMIUM)


def devtools_url(profile: Path) -> str | None:
    """Chromium writes its DevTools port into the profile once it listens."""
    try:
        port = (profile / "DevToolsActivePort").read_text().split()[0]
    except (OSError, IndexError):
        return None
    return f"http://127.0.0.1:{port}"


def browser_id(url: str) -> str | None:
    """Changes with every Chromium start: the browser's own DevTools target id."""
    try:
        return httpx.get(f"{url}/json/version", timeout=2).json()["webSocketDebuggerUrl"]
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def shown_names(playwright_browser: Any, url: str) -> list[str]:
    """The names on the display page's slides, as a person in the hallway would read them.

    Playwright attaches through the session's own Playwright (conftest's `browser`): a second
    sync Playwright cannot start while that one runs.
    """
    cdp = playwright_browser.browser_type.connect_over_cdp(url)
    try:
        pages = [p for c in cdp.contexts for p in c.pages if "/display?screen=" in p.url]
        names = pages[0].locator(".slide .name").all_inner_texts() if pages else []
        title = pages[0].title() if pages else ""
    finally:
        cdp.close()  # disconnects; the kiosk's browser keeps running
    return [n for n in names if n] + ([f"title:{title}"] if title else [])


@pytest.fixture
def approved(server: LiveServer, content: Path) -> LiveServer:
    make_tree(content, {"babette.md": story("Babette Ruiz"), "babette.jpg": jpeg()})
    server.library.approve(server.wait_status("babette.md", "pending")["id"], "mod")
    return server


def test_every_flag_exists_in_the_installed_chromium(tmp_path: Path) -> None:
    cmd = chromium.chromium_command(
        "http://kiosk:8000/display?screen=lobby", user_data_dir=tmp_path, wayland=True
    )
    switches = {arg[2:].split("=", 1)[0] for arg in cmd[1:-1]}
    with (
        open(chromium_binary(), "rb") as fh,
        mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m,
    ):
        missing = sorted(s for s in switches if m.find(b"\0" + s.encode() + b"\0") < 0)
        assert m.find(b"\0Translate\0") >= 0  # the feature --disable-features names
    assert not missing, f"switches this Chromium does not know: {missing}"
    assert "--disable-session-crashed-bubble" not in cmd  # removed from Chromium long ago


def test_command_line(tmp_path: Path, capsys) -> None:
    cmd = chromium.chromium_command(
        "http://k/display?screen=a",
        user_data_dir=tmp_path / "p",
        chromium="/x/chromium",
        wayland=False,
    )
    assert cmd[0] == "/x/chromium" and cmd[-1] == "http://k/display?screen=a"
    assert "--kiosk" in cmd and f"--user-data-dir={tmp_path / 'p'}" in cmd
    assert "--password-store=basic" in cmd and "--autoplay-policy=no-user-gesture-required" in cmd
    assert "--ozone-platform=wayland" not in cmd
    wayland = chromium.chromium_command("u", user_data_dir=tmp_path, wayland=True, extra=["--x"])
    assert wayland[-3:] == ["--ozone-platform=wayland", "--x", "u"]
    # A screen across the LAN still gets the service worker and wake lock (secure context).
    assert "--unsafely-treat-insecure-origin-as-secure=http://k" in cmd
    local = chromium.chromium_command("http://127.0.0.1:8000/display", user_data_dir=tmp_path)
    assert not [a for a in local if "insecure-origin" in a]

    from kiosk.cli import main

    assert main(["display", "http://kiosk.local:8000/", "--screen", "front door", "--print"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(CHROMIUM) or "chromium" in printed.split()[0]
    assert printed.rstrip().endswith("http://kiosk.local:8000/display?screen=front%20door")
    missing = tmp_path / "no-such-chromium"
    assert main(["display", "--chromium", str(missing), "--print"]) == 2
    said = capsys.readouterr().err
    assert (
        said == f"kiosk: Chromium was not found ({missing}): install it with `sudo apt "
        "install chromium`, or pass --chromium PATH\n"
    )


def test_profile_says_last_exit_was_clean(tmp_path: Path) -> None:
    prefs = tmp_path / "Default" / "Preferences"
    prefs.parent.mkdir()
    prefs.write_text(json.dumps({"profile": {"exit_type": "Crashed", "name": "x"}, "keep": 1}))
    chromium.prepare_profile(tmp_path)
    after = json.loads(prefs.read_text())
    assert after["profile"] == {"exit_type": "Normal", "exited_cleanly": True, "name": "x"}
    assert after["keep"] == 1 and after["translate"]["enabled"] is False
    prefs.write_text('{"profile": {"exit_ty')  # cut off by a power failure
    chromium.prepare_profile(tmp_path)
    assert json.loads(prefs.read_text())["profile"]["exit_type"] == "Normal"


def test_wait_for_health(server: LiveServer) -> None:
    assert chromium.wait_for_health(server.url, timeout=5)
    closed = f"http://127.0.0.1:{free_port()}"
    assert not chromium.wait_for_health(closed, timeout=0.3, interval=0.1)


def test_session_waits_for_the_server_then_shows_the_display_page(
    tmp_path: Path, browser: Any
) -> None:
    """deploy/raspberry-pi/kiosk-session as labwc's autostart runs it, minus the compositor."""
    settings = make_settings(tmp_path)
    make_tree(settings.content_dir, {"ana.md": story("Ana Lima"), "ana.jpg": jpeg()})
    runtime, state, bin_dir, log = (tmp_path / n for n in ("run", "state", "bin", "calls.log"))
    runtime.mkdir(mode=0o700)
    wayland = socket.socket(socket.AF_UNIX)  # the loop runs while the compositor's socket is there
    wayland.bind(str(runtime / "wayland-0"))
    fake_tool(bin_dir, "cec-ctl", log)
    # screen.conf as install.sh writes it for a screen of this server, plus the test's flags
    root = tmp_path / "root"
    server_url = f"http://127.0.0.1:{settings.port}"
    dry_run(root, "--server", server_url, "--screen-name", "lobby", "--user", "pi", "--lite")
    conf = root / "etc/kiosk/screen.conf"
    text = conf.read_text().replace("CHROMIUM_FLAGS=''", f"CHROMIUM_FLAGS='{' '.join(HEADLESS)}'")
    conf.write_text(text + f"KIOSK_BIN='{KIOSK}'\n")  # the venv's, not /usr/local/bin's
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "KIOSK_CONFIG")}
    env |= {
        "KIOSK_SCREEN_CONF": str(conf),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_STATE_HOME": str(state),
        "PATH": f"{bin_dir}:{env['PATH']}",
    }
    out = tmp_path / "session.log"
    with out.open("w") as sink:
        session = subprocess.Popen(
            ["sh", str(SESSION)], env=env, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    profile = state / "kiosk" / "chromium-lobby"
    live = None
    try:
        wait_for(lambda: "waiting up to" in out.read_text(), timeout=20)
        assert devtools_url(profile) is None  # no server yet, so no browser yet
        live = LiveServer(settings).start()
        url = wait_for(lambda: devtools_url(profile), timeout=30)
        sid = live.wait_status("ana.md", "pending")["id"]
        live.library.approve(sid, "mod")
        wait_for(lambda: "Ana Lima" in shown_names(browser, url), timeout=30)
        assert "title:lobby · Hallway Kiosk" in shown_names(browser, url)
        assert calls(log) == ["cec-ctl --playback --to 0 --image-view-on"]  # not quiet: on
    finally:
        wayland.close()
        (runtime / "wayland-0").unlink()  # the compositor went away: the loop must end
        os.killpg(session.pid, signal.SIGTERM)  # what ending the session does
        assert session.wait(timeout=20) is not None
        if live is not None:
            live.stop()
    wait_for(lambda: (url := devtools_url(profile)) is None or browser_id(url) is None, timeout=20)


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator:
    """Start a Supervisor on a thread with real headless Chromium; stop it afterwards."""
    started: list[chromium.Supervisor] = []

    def start(server: LiveServer, settings: Settings, **kw) -> chromium.Supervisor:
        profile = tmp_path / "profile"
        command = chromium.chromium_command(
            chromium.display_url(server.url, "lobby"),
            user_data_dir=profile,
            chromium=CHROMIUM,
            wayland=False,
            extra=HEADLESS,
        )
        sup = chromium.Supervisor(command, profile, server.url, "lobby", settings, **kw)
        thread = threading.Thread(target=sup.run, daemon=True)
        thread.start()
        started.append(sup)
        sup.thread = thread
        return sup

    yield start
    for sup in started:
        sup.stop()
        sup.thread.join(timeout=30)
        assert sup.browser is None


def test_watchdog_restarts_a_screen_whose_heartbeat_went_silent(
    approved: LiveServer, settings: Settings, supervise, browser: Any
) -> None:
    sup = supervise(
        approved, settings, tick_seconds=0.1, watchdog_seconds=5, switch_power=lambda on: "on"
    )
    url = wait_for(lambda: devtools_url(sup.user_data_dir), timeout=30)
    wait_for(lambda: any(s["name"] == "lobby" for s in approved.library.screens()), timeout=30)
    first = browser_id(url)
    assert first and sup.restarts == []  # beating: nothing to do

    # The page stops beating (a hung renderer shows something, but not the player) and two
    # minutes pass on the server's clock.
    cdp = browser.browser_type.connect_over_cdp(url)
    cdp.contexts[0].pages[0].goto("about:blank")
    cdp.close()
    library = approved.library

    def three_minutes_later() -> list[str]:
        # Keep the server's clock three minutes past the screen's last beat: the beat the page
        # sends on its way out (pagehide) may arrive after the clock moved.
        (seen,) = [s["last_seen"] for s in library.screens() if s["name"] == "lobby"]
        later = datetime.fromisoformat(seen) + timedelta(minutes=3)
        library.clock = lambda: later
        return sup.restarts

    wait_for(three_minutes_later, timeout=20)
    assert sup.restarts == ["no heartbeat from screen 'lobby' for two minutes"]

    def new_browser() -> str | None:
        url = devtools_url(sup.user_data_dir)  # the new browser has a new port
        return url if url and browser_id(url) not in (None, first) else None

    url = wait_for(new_browser, timeout=30)
    # The new browser shows the player, which beats again: no more restarts.
    wait_for(lambda: "Babette Ruiz" in shown_names(browser, url), timeout=30)
    ticks = sup.ticks
    wait_for(lambda: sup.ticks > ticks + 10, timeout=20)
    assert len(sup.restarts) == 1


def test_quiet_hours_switch_off_and_restart_the_browser_once(
    server: LiveServer, tmp_path: Path, supervise
) -> None:
    quiet = server.settings.replace(quiet_hours=("mon-sun 00:00-24:00",))
    switched: list[bool] = []
    sup = supervise(
        server, quiet, tick_seconds=0.05, daily_restart_min_uptime=0,
        switch_power=lambda on: switched.append(on) or "ok",
    )  # fmt: skip
    wait_for(lambda: sup.restarts, timeout=20)
    ticks = sup.ticks
    wait_for(lambda: sup.ticks > ticks + 20, timeout=20)
    assert sup.restarts == ["daily restart in the quiet window"]  # once, not every tick
    assert switched == [False]  # off once, at the start of the quiet window
    assert sup.browser is not None and sup.browser.poll() is None


def test_a_browser_that_exits_is_started_again(server: LiveServer, supervise) -> None:
    sup = supervise(server, server.settings, tick_seconds=0.05, switch_power=lambda on: "on")
    wait_for(lambda: devtools_url(sup.user_data_dir), timeout=30)
    os.killpg(sup.browser.pid, signal.SIGKILL)  # a crash
    wait_for(lambda: sup.restarts, timeout=20)
    assert sup.restarts[0].startswith("Chromium exited")
    wait_for(lambda: sup.browser is not None and sup.browser.poll() is None, timeout=20)
