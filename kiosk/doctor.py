"""`kiosk doctor`: look at this machine the way a support person would, and say what to fix.

Each check is a small function returning a Check. A missing tool is a finding, never a crash:
doctor runs on a half-installed Pi too, which is when it is needed most.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from . import power
from .chromium import CHROMIUM_NAMES, LOCAL_HOSTS
from .ingest.watcher import NETWORK_FS, choose_backend, filesystem_type
from .settings import Settings, SettingsError, check_folders
from .theme import ThemeError, load_theme

OK, WARN, FAIL = "OK", "WARN", "FAIL"
SERVICE = "kiosk.service"
SERVICE_USER = "kiosk"
SMB_CONF = Path("/etc/samba/smb.conf")
SHARE = "stories"
LOW_DISK_MB, FULL_DISK_MB = 1024, 200
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"})


@dataclass(frozen=True)
class Check:
    status: str
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<5} {self.name:<10} {self.detail}"


def _out(argv: list[str], timeout: float = 15) -> tuple[int, str]:
    """(exit status, stdout) of a command; 127 when it is not there."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return 127, ""
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    return done.returncode, done.stdout.strip()


# ---- the checks ----------------------------------------------------------------------------
def check_service() -> Check:
    if shutil.which("systemctl") is None:
        return Check(WARN, "service", "no systemctl here: start the server with `kiosk serve`")
    if not Path("/run/systemd/system").is_dir():
        return Check(WARN, "service", "systemd is not running on this machine: not checked")
    _, state = _out(["systemctl", "is-active", SERVICE])
    if state == "active":
        return Check(OK, "service", f"{SERVICE} is running")
    _, enabled = _out(["systemctl", "is-enabled", SERVICE])
    if enabled in ("", "not-found"):
        return Check(
            FAIL, "service", f"{SERVICE} is not installed: run deploy/raspberry-pi/install.sh"
        )
    return Check(
        FAIL,
        "service",
        f"{SERVICE} is {state or 'not running'}: see `journalctl -u kiosk -n 50`, "
        "then `sudo systemctl restart kiosk`",
    )


def check_server(settings: Settings) -> Check:
    url = f"http://127.0.0.1:{settings.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            reason = json.load(exc).get("error") or "degraded"
        except ValueError:
            reason = f"HTTP {exc.code}"
        return Check(FAIL, "server", f"{url} says: {reason}")
    except (OSError, ValueError):
        return Check(FAIL, "server", f"nothing answers at {url}: is the service running?")
    return Check(OK, "server", f"answers at {url} (watcher {body.get('watcher', '?')})")


def check_folders_ok(settings: Settings) -> list[Check]:
    try:
        check_folders(settings, create_data=False)
    except SettingsError as exc:
        return [Check(FAIL, "folders", str(exc))]
    found = [Check(OK, "folders", f"content {settings.content_dir}, data {settings.data_dir}")]
    content, data = settings.content_dir, settings.data_dir
    if not os.access(content, os.R_OK | os.X_OK):
        found.append(Check(FAIL, "folders", f"{content} cannot be read by {_me()}"))
    if not data.is_dir():
        found.append(Check(WARN, "folders", f"{data} does not exist yet: the server creates it"))
        return found
    try:
        service_user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return found  # not installed as a service: the server runs as whoever starts it
    if data.stat().st_uid != service_user.pw_uid:
        found.append(
            Check(
                FAIL,
                "folders",
                f"{data} is not owned by the {SERVICE_USER} user, so the server cannot write "
                f"there: sudo chown -R {SERVICE_USER}: {data}",
            )
        )
    return found


def check_watcher(settings: Settings) -> Check:
    kind = filesystem_type(settings.content_dir) or "unknown"
    backend = choose_backend(settings)
    network = kind in NETWORK_FS or kind.startswith("fuse")
    if backend == "native" and network:
        return Check(
            WARN,
            "watcher",
            f"native events on a {kind} mount see nothing from other machines: "
            'set watch = "polling" (or "auto")',
        )
    return Check(OK, "watcher", f"{backend} on {kind} ({settings.content_dir})")


def check_disk(settings: Settings) -> Check:
    where = settings.data_dir if settings.data_dir.exists() else settings.data_dir.parent
    try:
        usage = shutil.disk_usage(where)
    except OSError as exc:
        return Check(FAIL, "disk", f"cannot read free space of {where}: {exc.strerror}")
    free = usage.free // 2**20
    text = f"{free} MB free on {where} ({usage.free * 100 // usage.total}%)"
    if free < FULL_DISK_MB:
        return Check(FAIL, "disk", f"only {text}: new photos cannot be rendered; free space")
    if free < LOW_DISK_MB:
        return Check(WARN, "disk", f"{text}: getting low; retire old stories or free space")
    return Check(OK, "disk", text)


def check_chromium() -> Check:
    binary = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if binary is None:
        return Check(FAIL, "chromium", "not installed: sudo apt install chromium")
    status, version = _out([binary, "--version"])
    if status != 0 or not version:
        return Check(
            FAIL, "chromium", f"{binary} does not start: sudo apt install --reinstall chromium"
        )
    return Check(OK, "chromium", f"{version} ({binary})")


def check_libvips() -> Check:
    """Big PNG, TIFF and WebP photos stream through libvips; without it they still render,
    decoded whole by Pillow, at up to 320 MB each."""
    try:
        import pyvips
    except (ImportError, OSError):  # OSError: the Python package is there, the library not
        return Check(
            WARN,
            "libvips",
            "missing: big PNG, TIFF and WebP photos are decoded whole (an 80 MP one takes "
            "320 MB): sudo apt install libvips42",
        )
    version = ".".join(str(pyvips.version(i)) for i in range(3))
    return Check(OK, "libvips", f"{version}: big photos stream in")


def check_share(settings: Settings, smb_conf: Path = SMB_CONF) -> Check:
    if shutil.which("testparm") is None:
        return Check(
            WARN,
            "share",
            "Samba is not installed, so staff cannot drop files over the network: "
            "re-run install.sh (without --no-samba)",
        )
    status, text = _out(["testparm", "-s", str(smb_conf)])
    if status != 0:
        return Check(FAIL, "share", f"testparm cannot read {smb_conf}: run `testparm` to see why")
    section = re.search(rf"^\[{SHARE}\]\n((?:[ \t].*\n?)*)", text, re.MULTILINE | re.IGNORECASE)
    if section is None:
        return Check(FAIL, "share", f"no [{SHARE}] share in {smb_conf}: re-run install.sh")
    path = re.search(r"^\s*path = (.*)$", section[1], re.MULTILINE)
    shared = Path(path[1].strip()) if path else None
    if shared is None or shared.resolve() != settings.content_dir.resolve():
        return Check(
            FAIL,
            "share",
            f"[{SHARE}] shares {shared} but content_dir is {settings.content_dir}: "
            "re-run install.sh with --content-dir",
        )
    if shutil.which("smbd") is None:
        return Check(FAIL, "share", "smbd is missing: sudo apt install samba")
    return Check(OK, "share", f"[{SHARE}] shares {shared}")


def check_cec() -> list[Check]:
    found = []
    devices = power.cec_devices()
    if shutil.which("cec-ctl") is None:
        found.append(Check(WARN, "cec", "cec-ctl is missing: sudo apt install v4l-utils"))
    elif not devices:
        found.append(
            Check(
                WARN,
                "cec",
                "no HDMI-CEC adapter (/dev/cec*): TVs will not be switched off at night; "
                "on a Pi, use the HDMI port next to the power socket and keep "
                "dtoverlay=vc4-kms-v3d in /boot/firmware/config.txt",
            )
        )
    else:
        found.append(Check(OK, "cec", f"HDMI-CEC on {', '.join(devices)}"))
    if shutil.which("wlopm") is None:
        found.append(
            Check(WARN, "dpms", "wlopm is missing, monitors without CEC stay on: apt install wlopm")
        )
    else:
        found.append(Check(OK, "dpms", "wlopm present (fallback for monitors without CEC)"))
    return found


def system_timezone() -> str:
    """The machine's time zone name, "" when unknown."""
    status, name = _out(["timedatectl", "show", "-p", "Timezone", "--value"])
    if status == 0 and name:
        return name
    try:
        return Path("/etc/timezone").read_text().strip()
    except OSError:
        link = os.path.realpath("/etc/localtime")
        return link.split("/zoneinfo/", 1)[1] if "/zoneinfo/" in link else ""


def check_clock(settings: Settings) -> list[Check]:
    found = []
    status, synced = _out(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if status != 0:
        found.append(Check(WARN, "clock", "timedatectl cannot tell if the clock is synchronized"))
    elif synced == "yes":
        found.append(Check(OK, "clock", "synchronized (NTP)"))
    else:
        found.append(
            Check(
                WARN,
                "clock",
                "not synchronized: a Pi has no battery clock, so quiet hours and start/end "
                "dates are wrong until it is; check the network and "
                "`systemctl status systemd-timesyncd`",
            )
        )
    here = system_timezone()
    if here and _zone(here) != _zone(settings.timezone):
        found.append(
            Check(
                WARN,
                "timezone",
                f"settings say {settings.timezone} but this machine says {here}: quiet hours "
                f"follow the settings; make them agree with `sudo timedatectl set-timezone "
                f"{settings.timezone}` or set timezone in the config",
            )
        )
    else:
        found.append(Check(OK, "timezone", settings.timezone))
    return found


def _zone(name: str) -> str:
    return "UTC" if name in UTC_NAMES else name


# The scripts stories are written in, as fontconfig names a language that uses each, and the
# Debian package install.sh brings for it. A script without a font shows as boxes on the screen.
SCRIPTS = (
    ("Latin", "en", "fonts-dejavu-core"),
    ("Greek", "el", "fonts-dejavu-core"),
    ("Cyrillic", "ru", "fonts-dejavu-core"),
    ("Arabic", "ar", "fonts-noto-core"),
    ("Hebrew", "he", "fonts-noto-core"),
    ("Devanagari", "hi", "fonts-noto-core"),
    ("Thai", "th", "fonts-noto-core"),
    ("Chinese", "zh-cn", "fonts-wqy-microhei"),
    ("Japanese", "ja", "fonts-wqy-microhei"),
    ("Korean", "ko", "fonts-wqy-microhei"),
)


def check_fonts() -> list[Check]:
    if shutil.which("fc-list") is None:
        return [Check(WARN, "fonts", "fontconfig is missing: sudo apt install fontconfig")]
    found = []
    _, any_font = _out(["fc-list", ":", "family"])
    if not any_font:
        found.append(Check(FAIL, "fonts", "no fonts at all: sudo apt install fonts-dejavu-core"))
    else:
        found.append(Check(OK, "fonts", f"{len(set(any_font.splitlines()))} font families"))
        missing = [
            (name, pkg)
            for name, lang, pkg in SCRIPTS
            if not _out(["fc-list", f":lang={lang}", "family"])[1]
        ]
        if missing:
            packages = " ".join(dict.fromkeys(pkg for _, pkg in missing))
            found.append(
                Check(
                    WARN,
                    "scripts",
                    f"no font for {', '.join(name for name, _ in missing)}: stories in them "
                    f"show as boxes; sudo apt install {packages}",
                )
            )
        else:
            found.append(
                Check(
                    OK, "scripts", "a font for every script: " + ", ".join(n for n, _, _ in SCRIPTS)
                )
            )
    _, emoji = _out(["fc-list", ":charset=1f600", "family"])
    if not emoji:
        found.append(
            Check(
                WARN,
                "emoji",
                "no emoji font: emoji in stories show as boxes; "
                "sudo apt install fonts-noto-color-emoji",
            )
        )
    return found


def _me() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


def check_phones(settings: Settings) -> Check:
    """Whether a phone that scans a slide's QR code can open the page it names."""
    themes = {settings.theme, *(s.theme for s in settings.screens.values() if s.theme)}
    try:
        coded = [t for t in sorted(themes) if load_theme(t, settings.themes_dir).qr]
    except ThemeError as exc:
        return Check(WARN, "phones", f"cannot tell whether slides show QR codes: {exc}")
    if not coded:
        return Check(OK, "phones", "no theme in use shows QR codes")
    origin = settings.public_origin
    host = urllib.parse.urlsplit(origin).hostname or ""
    if host in LOCAL_HOSTS:
        return Check(
            WARN,
            "phones",
            f"QR codes point at {origin}, which only this machine can open: set public_url "
            "to an address phones on the network reach",
        )
    if not settings.public_url and settings.host in LOCAL_HOSTS:
        return Check(
            WARN,
            "phones",
            f"QR codes point at {origin}, but the server listens on {settings.host} only: set "
            'host = "0.0.0.0", or public_url to the proxy in front of it',
        )
    return Check(OK, "phones", f"QR codes open {origin}/story/…")


def run_checks(settings: Settings, smb_conf: Path = SMB_CONF) -> list[Check]:
    steps: Iterable[Callable[[], Check | list[Check]]] = (
        check_service,
        lambda: check_server(settings),
        lambda: check_folders_ok(settings),
        lambda: check_watcher(settings),
        lambda: check_disk(settings),
        check_chromium,
        check_libvips,
        lambda: check_share(settings, smb_conf),
        check_cec,
        lambda: check_clock(settings),
        check_fonts,
        lambda: check_phones(settings),
    )
    found: list[Check] = []
    for step in steps:
        result = step()
        found += result if isinstance(result, list) else [result]
    return found


def report(checks: list[Check]) -> int:
    """Print one line per finding; 1 when anything FAILed."""
    for check in checks:
        print(check.line())
    fails = sum(c.status == FAIL for c in checks)
    warns = sum(c.status == WARN for c in checks)
    print(f"\n{fails} to fix, {warns} to look at" if fails or warns else "\nall good")
    return 1 if fails else 0
