"""`kiosk display`: the screen side. Waits for the server, then keeps Chromium showing /display.

The Chromium command line lives here and nowhere else (`chromium_command`).

Chromium runs as a child of `kiosk display` rather than replacing it by exec, because three
things must be done to the browser from outside it, and one long-lived process per screen is the
simplest place for them:

- the display's power follows `quiet_hours` (HDMI-CEC, else DPMS: kiosk.power);
- the browser restarts once per quiet window, while the screen is dark, to bound memory growth;
- the browser restarts when the server has not heard this screen's heartbeat for two minutes
  (schedule.SILENT_SECONDS; a hung page, a renderer crash, a GPU hang). The server decides
  "silent": the supervisor reads `GET /api/screens/{name}`, which says only that (no
  credentials on the screen's machine).

labwc's autostart runs `kiosk display` under `lwrespawn` (or a plain loop), which restarts it
if it ever exits.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from . import power
from .atomic import write_atomically
from .schedule import SILENT_SECONDS, SILENT_WORDS
from .settings import Settings

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
log = logging.getLogger(__name__)

CHROMIUM_NAMES = ("chromium", "chromium-browser")  # Debian's name; Raspberry Pi OS Bookworm's
# A browser just started has sent no heartbeat yet: give it as long as any screen gets.
WATCHDOG_SECONDS = float(SILENT_SECONDS)
TICK_SECONDS = 15.0
DAILY_RESTART_MIN_UPTIME = 3600.0  # a browser started in this quiet window needs no restart
CRASH_SECONDS = 30.0  # a browser that dies sooner than this is crash-looping: back off


class DisplayError(RuntimeError):
    """The screen cannot be started; the message says what to do."""


def find_chromium(explicit: str | None = None) -> str:
    """The Chromium binary: `explicit`, else the first of CHROMIUM_NAMES on PATH."""
    for name in [explicit] if explicit else CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise DisplayError(
        f"Chromium was not found ({explicit or ' or '.join(CHROMIUM_NAMES)}): "
        "install it with `sudo apt install chromium`, or pass --chromium PATH"
    )


def display_url(server: str, screen: str) -> str:
    """The player page of `screen` on the server at `server` (http://host:port)."""
    return f"{server.rstrip('/')}/display?screen={quote(screen, safe='')}"


def default_profile(screen: str) -> Path:
    """A browser profile of its own per screen, never the desktop user's everyday one."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "kiosk" / f"chromium-{screen}"


def chromium_command(
    url: str,
    *,
    user_data_dir: Path,
    chromium: str = "chromium",
    wayland: bool | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The kiosk command line: full screen, nothing that asks a question or shows a bar.

    Every switch here exists in current Chromium (a test looks each one up in the installed
    binary); removed ones such as --disable-session-crashed-bubble or --disable-translate are
    replaced by what works now. `wayland` defaults to "is WAYLAND_DISPLAY set" (labwc).
    """
    if wayland is None:
        wayland = bool(os.environ.get("WAYLAND_DISPLAY"))
    parts = urlsplit(url)
    # The service worker (offline slides) and the wake lock need a secure context; plain http is
    # one only on localhost, so a second screen on the LAN names the server's origin as trusted.
    secure = []
    if parts.scheme == "http" and parts.hostname and parts.hostname not in LOCAL_HOSTS:
        secure = [f"--unsafely-treat-insecure-origin-as-secure=http://{parts.netloc}"]
    return [
        chromium,
        "--kiosk",
        f"--user-data-dir={user_data_dir}",
        "--no-first-run",
        "--no-default-browser-check",
        "--noerrdialogs",
        "--disable-infobars",
        # The "Restore pages?" bubble after a power cut; prepare_profile also marks the last
        # exit clean, which older builds need.
        "--hide-crash-restore-bubble",
        "--disable-features=Translate",
        # Never "Chromium is out of date": the Pi updates with apt, not by Chromium's updater.
        "--check-for-update-interval=31536000",
        "--simulate-outdated-no-au=Tue, 31 Dec 2099 23:59:59 GMT",
        "--password-store=basic",  # no keyring unlock prompt in an autologin session
        "--autoplay-policy=no-user-gesture-required",
        "--deny-permission-prompts",
        "--disable-pinch",
        "--overscroll-history-navigation=0",
        *(["--ozone-platform=wayland"] if wayland else []),
        *secure,
        *extra,
        url,
    ]


def prepare_profile(user_data_dir: Path) -> None:
    """Mark the last session as cleanly ended, so a power cut never brings up a restore prompt.

    Chromium rewrites Preferences itself, so the keys are merged into what is there.
    """
    prefs_path = user_data_dir / "Default" / "Preferences"
    prefs_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        prefs = json.loads(prefs_path.read_text(encoding="utf-8"))
        if not isinstance(prefs, dict):
            prefs = {}
    except (OSError, ValueError):
        prefs = {}  # missing, or half-written when the power went: start from nothing
    profile = prefs.setdefault("profile", {})
    profile["exited_cleanly"] = True
    profile["exit_type"] = "Normal"
    prefs.setdefault("translate", {})["enabled"] = False
    prefs.setdefault("browser", {})["check_default_browser"] = False
    prefs["credentials_enable_service"] = False  # no "save password?" bubble
    write_atomically(prefs_path, json.dumps(prefs))


def wait_for_health(server: str, timeout: float, interval: float = 1.0) -> bool:
    """Wait until the server answers /healthz; False if it did not within `timeout` seconds.

    A 503 counts as an answer: the server runs (perhaps the content folder is missing) and the
    page shows the approved slides it has.
    """
    deadline = time.monotonic() + timeout
    stop = threading.Event()
    while True:
        try:
            with urllib.request.urlopen(f"{server.rstrip('/')}/healthz", timeout=5):
                return True
        except urllib.error.HTTPError:
            return True
        except (OSError, ValueError):
            pass
        if time.monotonic() >= deadline:
            return False
        stop.wait(interval)


def screen_silent(server: str, screen: str) -> bool | None:
    """Has the server marked `screen` silent (no heartbeat for SILENT_SECONDS)?

    None when nobody can tell: the server is unreachable (restarting the browser would not help)
    or the screen has never sent a heartbeat (a player that does not send them must not be
    restarted forever).
    """
    url = f"{server.rstrip('/')}/api/screens/{quote(screen, safe='')}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            health = json.load(response)
    except (OSError, ValueError):  # urllib's HTTPError is an OSError too
        return None
    if not health.get("last_seen"):
        return None
    return bool(health.get("silent"))


@dataclass
class Supervisor:
    """Keeps one Chromium showing one screen; see the module docstring for why it exists."""

    command: list[str]
    user_data_dir: Path
    server: str
    screen: str
    settings: Settings
    tick_seconds: float = TICK_SECONDS
    watchdog_seconds: float = WATCHDOG_SECONDS
    daily_restart_min_uptime: float = DAILY_RESTART_MIN_UPTIME
    switch_power: Callable[[bool], str] = power.switch
    # What happened, for the log and for tests: why the browser was restarted, in order.
    restarts: list[str] = field(default_factory=list, init=False)
    ticks: int = field(default=0, init=False)
    browser: subprocess.Popen | None = field(default=None, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _started_at: float = field(default=0.0, init=False, repr=False)
    _quiet: bool | None = field(default=None, init=False, repr=False)
    _restarted_this_quiet: bool = field(default=False, init=False, repr=False)
    _crashes: int = field(default=0, init=False, repr=False)

    def run(self) -> int:
        """Supervise until stop() (or SIGTERM from the session ending)."""
        self._start_browser()
        try:
            while not self._stop.is_set():
                self._tick()
                self._stop.wait(self.tick_seconds)
        finally:
            self._stop_browser()
        return 0

    def stop(self) -> None:
        self._stop.set()

    def _tick(self) -> None:
        self.ticks += 1
        if self.browser is not None and self.browser.poll() is not None:
            self._browser_exited()
        quiet = power.quiet_at(self.settings)
        if quiet != self._quiet:
            self._set_power(quiet)
        if quiet:
            if not self._restarted_this_quiet and self._uptime() >= self.daily_restart_min_uptime:
                self._restarted_this_quiet = True
                self._restart("daily restart in the quiet window")
            return  # a dark screen needs no watchdog; its page may rest
        self._restarted_this_quiet = False
        if self._uptime() > self.watchdog_seconds:
            if screen_silent(self.server, self.screen):
                self._restart(f"no heartbeat from screen {self.screen!r} for {SILENT_WORDS}")

    def _set_power(self, quiet: bool) -> None:
        try:
            how = self.switch_power(not quiet)
            log.info("quiet hours %s: %s", "began" if quiet else "over", how)
        except power.PowerError as exc:
            log.warning("%s", exc)
        self._quiet = quiet  # a display that cannot be switched is not retried every tick

    def _uptime(self) -> float:
        return time.monotonic() - self._started_at

    def _browser_exited(self) -> None:
        code = self.browser.returncode if self.browser else None
        quick = self._uptime() < CRASH_SECONDS
        self._crashes = self._crashes + 1 if quick else 0
        delay = min(60.0, 2.0**self._crashes) if quick else 0.0
        log.warning("Chromium exited (status %s); starting it again in %.0f s", code, delay)
        if not self._stop.wait(delay):
            self.restarts.append(f"Chromium exited (status {code})")
            self._start_browser()

    def _restart(self, why: str) -> None:
        log.info("restarting Chromium: %s", why)
        self.restarts.append(why)
        self._stop_browser()
        self._start_browser()

    def _start_browser(self) -> None:
        prepare_profile(self.user_data_dir)
        # A session of its own, so stopping it takes the renderer and GPU processes along.
        self.browser = subprocess.Popen(self.command, start_new_session=True)
        self._started_at = time.monotonic()
        log.info("Chromium started (pid %s): %s", self.browser.pid, self.command[-1])

    def _stop_browser(self) -> None:
        browser, self.browser = self.browser, None
        if browser is None or browser.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(browser.pid, signal.SIGTERM)
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(browser.pid, signal.SIGKILL)
            browser.wait(timeout=10)


def run(
    settings: Settings,
    *,
    server: str | None,
    screen: str,
    chromium: str | None,
    extra: Sequence[str],
    profile: Path | None,
    wait: float,
    print_only: bool,
) -> int:
    """`kiosk display`: wait for the server, then supervise Chromium until the session ends."""
    server = server or f"http://127.0.0.1:{settings.port}"
    user_data_dir = profile or default_profile(screen)
    command = chromium_command(
        display_url(server, screen),
        user_data_dir=user_data_dir,
        chromium=find_chromium(chromium),
        extra=extra,
    )
    if print_only:
        print(subprocess.list2cmdline(command))
        return 0
    log.info("waiting up to %.0f s for %s", wait, server)
    if not wait_for_health(server, wait):
        # Start anyway: the page's service worker shows the slides it cached, and the player
        # reconnects by itself once the server is back.
        log.warning("%s did not answer in %.0f s; starting Chromium anyway", server, wait)
    supervisor = Supervisor(command, user_data_dir, server, screen, settings)
    signal.signal(signal.SIGTERM, lambda *_: supervisor.stop())
    signal.signal(signal.SIGHUP, lambda *_: supervisor.stop())
    return supervisor.run()
