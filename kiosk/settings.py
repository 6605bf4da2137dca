"""One typed settings object: defaults < TOML file < KIOSK_* environment < command-line flags."""

from __future__ import annotations

import dataclasses
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import SYSTEM_CONFIG
from .errors import KioskError
from .schedule import ConsentTerms, QuietWindow, parse_quiet


class SettingsError(KioskError, ValueError):
    """A setting is wrong; the message says what to do."""


def _help(text: str, **extra: Any) -> dict[str, Any]:
    return {"help": text, **extra}


@dataclass(frozen=True)
class Screen:
    """Per-screen overrides from a `[screens.NAME]` table."""

    theme: str | None = None
    orientation: str = "landscape"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    content_dir: Path = field(
        default=Path("content"),
        metadata=_help("The watched folder staff drop stories into (the SMB share on a Pi)."),
    )
    data_dir: Path = field(
        default=Path("data"),
        metadata=_help(
            "The server's own state: kiosk.db, rendered images, secrets. "
            "Must not be inside content_dir."
        ),
    )
    host: str = field(
        default="127.0.0.1",
        metadata=_help("Address to listen on. Use 0.0.0.0 so other PCs reach the admin page."),
    )
    port: int = field(default=8000, metadata=_help("TCP port to listen on."))
    tls_certfile: Path | None = field(
        default=None,
        metadata=_help(
            "PEM certificate (with its chain) to serve HTTPS, so moderators' passwords and "
            "sessions never cross the LAN in clear; needs tls_keyfile. Sign-in cookies are "
            "then marked Secure."
        ),
    )
    tls_keyfile: Path | None = field(
        default=None, metadata=_help("The PEM private key of tls_certfile, kept out of the share.")
    )
    allowed_hosts: tuple[str, ...] = field(
        default=(),
        metadata=_help(
            'Extra host names the server answers to, e.g. ["kiosk.example.org"]. Always '
            "answered: IP addresses, localhost and this machine's names (NAME, NAME.local). "
            '"*" answers any name (turns off the DNS-rebinding guard).'
        ),
    )
    public_url: str = field(
        default="",
        metadata=_help(
            "How phones on the network reach this server: the start of the address in each "
            "slide's QR code, e.g. http://kiosk.example.org. Empty: http://NAME.local:PORT "
            "(https with tls_certfile), NAME being this machine's host name."
        ),
    )
    max_screens: int = field(
        default=512,
        metadata=_help(
            "Live screen connections (/api/events) the server holds at once; more get 503. "
            "A screen holds one, two while it reconnects."
        ),
    )
    screens_per_address: int = field(
        default=64,
        metadata=_help(
            "Live screen connections from one network address; more get 429. Several screens "
            "may share an address behind a proxy or NAT, so tens, not thousands."
        ),
    )
    theme: str = field(
        default="default",
        metadata=_help("Theme for screens without their own: default, portrait, high-contrast."),
    )
    themes_dir: Path | None = field(
        default=None,
        metadata=_help(
            "An extra folder of themes, searched before the built-in ones. "
            "Must not be inside content_dir."
        ),
    )
    slide_seconds: float = field(
        default=12.0, metadata=_help("Minimum time a slide stays on screen, in seconds.")
    )
    reading_wpm: int = field(
        default=180,
        metadata=_help("Reading speed in words per minute: longer stories stay longer."),
    )
    fresh_days: int = field(
        default=14,
        metadata=_help(
            "A story first approved within this many days comes round twice per rotation;"
            " pinned stories keep their place and every story still shows once. 0: never."
        ),
    )
    watch: str = field(
        default="auto",
        metadata=_help(
            "How to notice new files: native (inotify), polling (for network mounts), "
            "or auto (polling when content_dir is on cifs/smb3/nfs/sshfs/9p/fuse)."
        ),
    )
    poll_seconds: float = field(
        default=2.0, metadata=_help("How often the polling watcher looks, in seconds.")
    )
    settle_seconds: float = field(
        default=0.3,
        metadata=_help(
            "A file is read once its size and modification time are unchanged for this long."
        ),
    )
    rescan_seconds: float = field(
        default=60.0,
        metadata=_help("Full rescan of content_dir every so often, to catch missed events."),
    )
    display_max_px: int = field(
        default=1920, metadata=_help("Long side of the display rendition of each photo, in px.")
    )
    thumb_px: int = field(default=320, metadata=_help("Long side of admin thumbnails, in px."))
    max_photo_mb: float = field(default=50.0, metadata=_help("Largest photo file accepted, MB."))
    max_megapixels: float = field(
        default=80.0,
        metadata=_help("Largest decoded photo accepted, megapixels (decompression-bomb guard)."),
    )
    photo_memory_mb: int = field(
        default=512,
        metadata=_help(
            "Most memory one photo's decode may take, MB (each is decoded in a child process;"
            " two at a time). A photo that needs more is refused with a message."
        ),
    )
    max_text_kb: int = field(default=64, metadata=_help("Largest story text file accepted, KB."))
    require_consent: bool = field(
        default=False,
        metadata=_help("When true, a story needs `consent: yes` before it can be approved."),
    )
    consent_months: int = field(
        default=24,
        metadata=_help(
            "How long consent lasts when a story gives no `consent_until`: counted from its"
            " `consent_date`, else from its first approval. 0: it lasts until withdrawn."
        ),
    )
    quiet_hours: tuple[str, ...] = field(
        default=(),
        metadata=_help(
            'When screens go dark, e.g. ["mon-fri 19:00-07:00", "sat-sun 00:00-24:00"]. '
            "A window may wrap past midnight; it belongs to the day it starts on."
        ),
    )
    timezone: str = field(
        default="UTC",
        metadata=_help("IANA time zone for quiet_hours and start/end dates, e.g. Europe/Berlin."),
    )
    reload_hours: float = field(
        default=6.0,
        metadata=_help("Screens reload the page this often (at a slide boundary). 0 = never."),
    )
    status_file: bool = field(
        default=True,
        metadata=_help("Keep _status.txt in content_dir so staff see what happened to a file."),
    )
    play_counts: bool = field(
        default=True,
        metadata=_help(
            "Count how often each story was on each screen, and for how long (proof of play),"
            " for the admin page and _status.txt. Counts only: no camera, no tracking."
            " Off: screens' reports are ignored."
        ),
    )
    share_path: str = field(
        default="",
        metadata=_help(r"Where staff drop stories, shown on empty screens, e.g. \\kiosk\stories."),
    )
    session_idle_minutes: int = field(
        default=120, metadata=_help("Admin sessions end after this many idle minutes.")
    )
    admin_poll_seconds: float = field(
        default=20.0,
        metadata=_help(
            "How often an open admin page asks for news when its live updates (server-sent"
            " events) are cut, and refreshes the Screens tab, in seconds."
        ),
    )
    log_level: str = field(default="info", metadata=_help("debug, info, warning or error."))
    access_log: bool = field(
        default=False,
        metadata=_help(
            "Log one line per HTTP request. Off by default: every screen's heartbeats, event "
            "streams and photos would be a journal line each, wearing a Pi's SD card."
        ),
    )
    screens: dict[str, Screen] = field(
        default_factory=dict,
        metadata=_help(
            "Per-screen tables `[screens.NAME]` with theme, orientation "
            "(landscape|portrait) and tags (only stories with one of these tags). TOML only."
        ),
    )

    # ---- derived -------------------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.data_dir / "kiosk.db"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def consent_terms(self) -> ConsentTerms:
        return ConsentTerms(self.consent_months, self.zone)

    @property
    def quiet_windows(self) -> tuple[QuietWindow, ...]:
        try:
            return tuple(parse_quiet(q) for q in self.quiet_hours)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None

    @property
    def max_photo_bytes(self) -> int:
        return int(self.max_photo_mb * 1024 * 1024)

    @property
    def max_text_bytes(self) -> int:
        return self.max_text_kb * 1024

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)

    @property
    def public_origin(self) -> str:
        """`public_url` without its trailing slash, or this machine's mDNS name and port:
        Raspberry Pi OS runs avahi, so phones on the LAN resolve NAME.local with no DNS set up."""
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.tls_certfile else "http"
        return f"{scheme}://{socket.gethostname().split('.')[0].lower()}.local:{self.port}"

    def screen(self, name: str) -> Screen:
        return self.screens.get(name, Screen())

    def theme_for(self, screen: str) -> str:
        return self.screen(screen).theme or self.theme

    def replace(self, **changes: Any) -> Settings:
        return load(base=self, overrides=changes, environ={})


FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    """Turn a TOML/env/flag value into the field's type, or say what is expected."""
    f = FIELDS[name]
    kind = str(f.type)
    try:
        if name == "screens":
            if not isinstance(value, dict):
                raise TypeError
            return {str(k): _screen(str(k), v) for k, v in value.items()}
        if "Path" in kind:
            return None if value in (None, "") else Path(os.path.expanduser(str(value)))
        if kind == "bool":
            if isinstance(value, bool):
                return value
            s = str(value).strip().lower()
            if s in {"1", "true", "yes", "on"}:
                return True
            if s in {"0", "false", "no", "off"}:
                return False
            raise ValueError
        if kind == "int":
            if isinstance(value, bool):
                raise TypeError
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if kind.startswith("tuple"):
            if isinstance(value, str):
                value = [v for v in value.split(";" if ";" in value else ",") if v.strip()]
            return tuple(str(v).strip() for v in value)
        return str(value)
    except (TypeError, ValueError):
        raise SettingsError(
            f"{name} = {value!r} is not a valid {kind.replace(' | None', '')}: {f.metadata['help']}"
        ) from None


def _screen(name: str, table: Any) -> Screen:
    if not isinstance(table, dict):
        raise SettingsError(f"[screens.{name}] must be a table with theme, orientation, tags")
    unknown = set(table) - {"theme", "orientation", "tags"}
    if unknown:
        raise SettingsError(
            f"[screens.{name}] has unknown keys {sorted(unknown)}: use theme, orientation, tags"
        )
    tags = table.get("tags", ())
    if isinstance(tags, str):
        tags = [tags]
    return Screen(
        theme=table.get("theme"),
        orientation=str(table.get("orientation", "landscape")),
        tags=tuple(str(t).strip().lower() for t in tags),
    )


def read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # here, not at the top: `kiosk --help` reads no file (11 ms of its start)

    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(
            f"config file {path} does not exist: create it with `kiosk init`"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise SettingsError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
            "see docs/settings.md for the list"
        )
    base = path.parent
    for key in ("content_dir", "data_dir", "themes_dir"):
        if key in data and data[key] and not Path(data[key]).expanduser().is_absolute():
            data[key] = str(base / Path(data[key]).expanduser())
    return data


def find_config(config: Path | None, environ: dict[str, str]) -> Path | None:
    """`--config`, else `KIOSK_CONFIG`, else the installed SYSTEM_CONFIG when it exists."""
    if config is not None:
        return Path(config)
    if environ.get("KIOSK_CONFIG"):
        return Path(environ["KIOSK_CONFIG"])
    return SYSTEM_CONFIG if SYSTEM_CONFIG.is_file() else None


def load(
    config: Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    base: Settings | None = None,
) -> Settings:
    """Build Settings from a TOML file, the environment and explicit overrides, then validate.

    With the real environment (`environ` None) and no `config`, the installed config is found
    by `find_config`; an explicit `environ` (tests, tools) never reads files it was not given."""
    real = environ is None
    environ = dict(os.environ) if environ is None else environ
    values: dict[str, Any] = {}
    if real:
        config = find_config(config, environ)
    elif config is None and environ.get("KIOSK_CONFIG"):
        config = Path(environ["KIOSK_CONFIG"])
    if config is not None:
        values.update(read_toml(Path(config)))
    for name in FIELDS:
        env = environ.get(f"KIOSK_{name.upper()}")
        if env is not None and name != "screens":
            values[name] = env
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    for key in values:
        if key not in FIELDS:
            raise SettingsError(f"unknown setting {key}; see docs/settings.md")
    current = {f: getattr(base, f) for f in FIELDS} if base else {}
    current.update({k: _coerce(k, v) for k, v in values.items()})
    return validate(Settings(**current))


def validate(s: Settings) -> Settings:
    """Fail fast with a message that says what to do."""
    if s.watch not in {"native", "polling", "auto"}:
        raise SettingsError(f"watch = {s.watch!r}: use native, polling or auto")
    if not 1 <= s.port <= 65535:
        raise SettingsError(f"port = {s.port}: use a number between 1 and 65535")
    positive = ["slide_seconds", "reading_wpm", "poll_seconds", "settle_seconds", "rescan_seconds"]
    positive += ["max_photo_mb", "max_megapixels", "max_text_kb", "session_idle_minutes"]
    positive += ["photo_memory_mb"]
    positive += ["max_screens", "screens_per_address"]
    positive += ["admin_poll_seconds"]
    for name in positive:
        if getattr(s, name) <= 0:
            raise SettingsError(f"{name} = {getattr(s, name)} must be greater than 0")
    if not 320 <= s.display_max_px <= 8192:
        raise SettingsError(f"display_max_px = {s.display_max_px}: use 320 to 8192 (1920 for HD)")
    if not 64 <= s.thumb_px <= 1024:
        raise SettingsError(f"thumb_px = {s.thumb_px}: use 64 to 1024")
    if s.fresh_days < 0:
        raise SettingsError("fresh_days must be 0 (no story counts as fresh) or more")
    if s.consent_months < 0:
        raise SettingsError("consent_months must be 0 (consent lasts until withdrawn) or more")
    if (s.tls_certfile is None) != (s.tls_keyfile is None):
        raise SettingsError(
            "tls_certfile and tls_keyfile go together: set both to serve HTTPS, or neither"
        )
    for name in ("tls_certfile", "tls_keyfile"):
        path = getattr(s, name)
        if path is not None and not path.is_file():
            raise SettingsError(f"{name} {path} does not exist: give the PEM file's full path")
    if s.reload_hours < 0:
        raise SettingsError("reload_hours must be 0 (never) or more")
    if s.public_url and not re.fullmatch(r"https?://[^/\s?#]+/?", s.public_url):
        raise SettingsError(
            f"public_url = {s.public_url!r}: give the scheme and host (and port) phones use, "
            "like http://kiosk.example.org or http://192.168.1.20:8000, without a path"
        )
    if s.log_level.lower() not in {"debug", "info", "warning", "error"}:
        raise SettingsError(f"log_level = {s.log_level!r}: use debug, info, warning or error")
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"timezone = {s.timezone!r} is not a known time zone: use a name like Europe/Berlin"
        ) from None
    s.quiet_windows  # noqa: B018 - parses and raises on a bad entry
    for name, screen in s.screens.items():
        if screen.orientation not in {"landscape", "portrait"}:
            raise SettingsError(f"[screens.{name}] orientation: use landscape or portrait")
    return s


def check_folders(s: Settings, create_data: bool = True, config: Path | None = None) -> None:
    """The folders must exist (content) or be creatable (data), and must not nest.

    Whoever can write to the content folder (all staff, on the share) must not be able to change
    the settings (`config`) or the templates (`themes_dir`) the server runs.
    """
    content = s.content_dir.resolve()
    if not content.is_dir():
        raise SettingsError(
            f"content_dir {s.content_dir} does not exist: create it "
            f"(`kiosk init {s.content_dir}`) or set KIOSK_CONTENT_DIR"
        )
    if config is not None and Path(config).resolve().is_relative_to(content):
        raise SettingsError(
            f"config file {config} is inside content_dir {s.content_dir}, where anyone who "
            "drops stories could change it: move it out (e.g. to /etc/kiosk/kiosk.toml or the "
            "folder above) and fix the relative paths in it"
        )
    if s.themes_dir is not None and s.themes_dir.resolve().is_relative_to(content):
        raise SettingsError(
            f"themes_dir {s.themes_dir} is inside content_dir {s.content_dir}, where anyone who "
            "drops stories could change the templates: move it out (e.g. to /etc/kiosk/themes)"
        )
    if s.tls_keyfile is not None and s.tls_keyfile.resolve().is_relative_to(content):
        raise SettingsError(
            f"tls_keyfile {s.tls_keyfile} is inside content_dir {s.content_dir}, where anyone "
            "on the share could copy it: move it out (e.g. to /etc/kiosk/tls/)"
        )
    data = s.data_dir.resolve()
    if data == content or data.is_relative_to(content):
        raise SettingsError(
            f"data_dir {s.data_dir} is inside content_dir {s.content_dir}: "
            "put it elsewhere (e.g. /var/lib/kiosk) or set KIOSK_DATA_DIR"
        )
    if create_data:
        try:
            # Private: the database holds sessions and password hashes. An existing folder keeps
            # its mode, which the installer chose.
            data.mkdir(mode=0o700, parents=True, exist_ok=True)
            (data / "media").mkdir(exist_ok=True)
        except OSError as exc:
            raise SettingsError(
                f"data_dir {s.data_dir} cannot be created ({exc.strerror}): "
                "choose a writable folder or set KIOSK_DATA_DIR"
            ) from None
