"""`kiosk`: thin command line. Flags -> Settings -> app or command; errors become one clear line."""

from __future__ import annotations

# Only what the parser needs is imported here: `kiosk --help` must not load the settings, the
# model or the web stack (bench/cli.py, test_quick_commands_do_not_import_the_server). Each
# command imports what it uses when it runs.
import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import SYSTEM_CONFIG, __version__, themes
from .errors import KioskError
from .roles import ROLES

if TYPE_CHECKING:
    from .auth import Auth
    from .settings import Settings

STARTER = Path(__file__).resolve().parent / "starter"


class CommandError(KioskError):
    """Ends the command with this message and exit status 2."""


def setup_logging(level: str = "info") -> None:
    import logging

    from .printable import PrintableArgs

    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if sys.stderr.isatty() else None
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stdout,  # journald collects stdout on the Pi
        format=fmt or "%(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(PrintableArgs())  # a file or user name cannot forge a log line


def add_settings_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        help=f"TOML settings file (default: KIOSK_CONFIG, else {SYSTEM_CONFIG} when it exists)",
    )
    p.add_argument("--content-dir", type=Path, help="folder staff drop stories into")
    p.add_argument("--data-dir", type=Path, help="the server's own state (database, images)")


def settings_from(args: argparse.Namespace, **extra: object) -> Settings:
    from .settings import load

    flags = {
        "content_dir": getattr(args, "content_dir", None),
        "data_dir": getattr(args, "data_dir", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "theme": getattr(args, "theme", None),
        "watch": getattr(args, "watch", None),
        **extra,
    }
    return load(getattr(args, "config", None), overrides=flags)


# ---- commands --------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    import logging
    import os
    from functools import partial

    import uvicorn

    from .app import create_app
    from .settings import check_folders, find_config

    settings = settings_from(args)
    setup_logging(settings.log_level)
    check_folders(settings, config=find_config(args.config, dict(os.environ)))
    scheme = "https" if settings.tls_certfile else "http"
    where = f"{scheme}://{settings.host}:{settings.port}/display"
    logging.getLogger("kiosk").info("Hallway Kiosk %s on %s", __version__, where)
    uvicorn.run(
        partial(create_app, settings),
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=settings.access_log,
        ssl_certfile=settings.tls_certfile,
        ssl_keyfile=settings.tls_keyfile,
        proxy_headers=False,
        timeout_graceful_shutdown=3,
        # Beyond this many open connections uvicorn answers 503 at once instead of queueing
        # them; far below LimitNOFILE in kiosk.service, far above what a site of screens needs.
        limit_concurrency=2048,
        timeout_keep_alive=5,  # an idle connection is closed soon, so idle sockets cannot pile up
    )
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    import json
    import shutil

    target: Path = args.dir
    target.mkdir(parents=True, exist_ok=True)
    for src in sorted(STARTER.iterdir()):
        if src.name == "kiosk.toml":
            continue
        dest = target / src.name
        if dest.exists():
            print(f"kept    {dest} (already there)")
            continue
        shutil.copyfile(src, dest)
        print(f"created {dest}")
    # The settings go beside the content folder, never in it: staff can write to the content
    # folder, and the settings choose the templates and addresses the server uses.
    config = target.resolve().parent / "kiosk.toml"
    if config.exists():
        print(f"kept    {config} (already there)")
    else:
        text = (STARTER / "kiosk.toml").read_text(encoding="utf-8")
        name = json.dumps(target.resolve().name)  # a TOML string, quotes and all
        config.write_text(text.replace("{content_dir}", name), encoding="utf-8")
        print(f"created {config}")
    print(
        f"\nNext: drop a story and a photo into {target}, then run\n  kiosk serve --config {config}"
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import json
    import tempfile

    from .ingest.pipeline import Limits, prepare
    from .ingest.scan import Scanner
    from .settings import check_folders

    content = args.dir or settings_from(args).content_dir
    with tempfile.TemporaryDirectory(prefix="kiosk-check-") as tmp:
        # Photos are rendered (that is how a bad one shows), into a folder thrown away after.
        settings = settings_from(args, content_dir=content, data_dir=Path(tmp))
        check_folders(settings)
        limits = Limits.from_settings(settings)
        content_dir = settings.content_dir.resolve()
        scan = Scanner(content_dir, limits.text_bytes).scan()
        report: list[dict[str, Any]] = []
        total = len(scan.entries)
        for n, entry in enumerate(scan.entries, 1):
            if not args.json and sys.stderr.isatty():
                print(f"\rchecking {n}/{total}", end="", file=sys.stderr, flush=True)
            item = prepare(
                entry, limits, media_dir=settings.media_dir, content_dir=content_dir, frame=False
            )
            report.append(
                {
                    "source": entry.source,
                    "status": "problem" if item.problems else "pending",
                    "name": item.story.name,
                    "photo": item.photo_path,
                    "problems": item.problems,
                }
            )
        if not args.json and sys.stderr.isatty():
            print("\r" + " " * 30 + "\r", end="", file=sys.stderr)
        pages = _measure_pages(settings, report, Path(tmp) / "pages") if args.pages else None
        report += [
            {"source": s, "status": "ignored", "name": "", "photo": None, "problems": [reason]}
            for s, reason in scan.ignored
        ]
    problems = sum(r["status"] == "problem" for r in report)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for r in report:
            label = r["name"] or ""
            print(f"{r['status']:<8} {r['source']}" + (f"  ({label})" if label else ""))
            for p in r["problems"]:
                print(f"         - {p}")
        ignored = sum(r["status"] == "ignored" for r in report)
        print(
            f"\n{len(scan.entries)} stories: {len(scan.entries) - problems} would be pending, "
            f"{problems} with problems, {ignored} files ignored"
        )
        if pages is not None:
            print("\n".join(pages) or "every story fits one page on each screen shape")
    return 1 if problems else 0


def _measure_pages(
    settings: Settings, report: list[dict[str, Any]], scratch: Path
) -> list[str] | None:
    """Adds `pages` ({shape: count}) to each pending story of `report`; the lines to print.
    None when it cannot measure (said on stderr): the rest of the check stands on its own."""
    from . import pages

    pending = [r for r in report if r["status"] == "pending"]
    scratch.mkdir()
    try:
        counts = pages.measure(settings, [r["source"] for r in pending], scratch)
    except pages.Unavailable as e:
        print(e, file=sys.stderr)
        return None
    for r in pending:
        r["pages"] = counts.get(r["source"], {})
    return pages.needs(counts)


def cmd_display(args: argparse.Namespace) -> int:
    import shlex

    from . import chromium

    settings = settings_from(args)
    if not args.print:
        setup_logging(settings.log_level)
    return chromium.run(
        settings,
        server=args.url,
        screen=args.screen,
        chromium=args.chromium,
        extra=shlex.split(args.chromium_flags),
        profile=args.profile,
        wait=args.wait,
        print_only=args.print,
    )


def cmd_doctor(args: argparse.Namespace) -> int:
    from . import doctor
    from .settings import SettingsError

    try:
        settings = settings_from(args)
    except SettingsError as exc:
        return doctor.report([doctor.Check(doctor.FAIL, "settings", str(exc))])
    return doctor.report(doctor.run_checks(settings, args.smb_conf))


def cmd_power(args: argparse.Namespace) -> int:
    from . import power

    settings = settings_from(args)
    if args.state == "auto":
        quiet, how = power.apply_schedule(settings)
        print(f"{'quiet hours' if quiet else 'showing hours'}: {how}")
    else:
        print(power.switch(args.state == "on"))
    return 0


def _auth(args: argparse.Namespace) -> Auth:
    import os

    from .auth import Auth
    from .library import Library
    from .settings import Settings, find_config

    settings = settings_from(args)
    if not settings.db_path.is_file() and settings.data_dir == Settings().data_dir:
        # Nothing said where the server keeps its state: never start an empty database here.
        source = find_config(getattr(args, "config", None), dict(os.environ))
        raise CommandError(
            f"no kiosk database at {settings.db_path.resolve()}"
            + (f" (data_dir from {source})" if source else "")
            + f": pass the server's settings with --config (on a Pi {SYSTEM_CONFIG}) "
            "or its --data-dir"
        )
    return Auth(settings, Library(settings.db_path))


def _actor() -> str:
    """Who made a change from the command line, for the audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    from .passwords import MIN_PASSWORD

    first = getpass.getpass(f"Password for {args.name} (at least {MIN_PASSWORD} characters): ")
    if getpass.getpass("The same password again: ") != first:
        raise CommandError("the two passwords differ; nothing was changed")
    return first


def _need_name(args: argparse.Namespace) -> str:
    if not args.name:
        raise CommandError(f"`kiosk {args.command} {args.action}` needs a NAME")
    return args.name


def cmd_user(args: argparse.Namespace) -> int:
    auth = _auth(args)
    try:
        if args.action == "list":
            for user in auth.library.users():
                print(f"{user['name']:<24} {user['role']:<10} added {user['created_at']}")
        elif args.action == "add":
            name = auth.add_user(_need_name(args), args.role, _read_password(args), _actor())
            print(f"added {name} ({args.role}); they sign in at /admin")
        elif args.action == "passwd":
            auth.set_password(_need_name(args), _read_password(args), _actor())
            print(f"changed the password of {args.name}; their open sessions have ended")
        else:
            auth.remove_user(_need_name(args), _actor())
            print(f"removed {args.name}")
    finally:
        auth.library.close()
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    auth = _auth(args)
    try:
        if args.action == "list":
            for t in auth.library.tokens():
                state = f"revoked {t['revoked_at']}" if t["revoked_at"] else "live"
                used = t["last_used_at"] or "never"
                print(f"{t['name']:<24} {t['role']:<10} {state:<30} last used {used}")
        elif args.action == "create":
            token = auth.create_token(_need_name(args), args.role, _actor())
            # Only the token on stdout, so `kiosk token create x > file` stores just it.
            print(token)
            print(
                "Keep it secret: it is shown only this once. Send it as "
                "`Authorization: Bearer <token>`.",
                file=sys.stderr,
            )
        else:
            count = auth.library.revoke_tokens(_need_name(args).strip(), _actor())
            print(f"revoked {count} token(s) called {args.name}")
    finally:
        auth.library.close()
    return 0


# ---- parser ----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk",
        description=(
            "Hallway Kiosk: customer stories on hallway screens. Staff drop a story file and a "
            "photo into the content folder, a moderator approves it at /admin, and every screen "
            "showing /display rotates it within seconds. Settings come from a TOML file "
            "(--config), KIOSK_* environment variables and these flags; see docs/settings.md."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "serve",
        help="run the server (watcher, admin page, display)",
        description="Watches the content folder, serves the admin page at /admin and the wall at "
        "/display until stopped. The first start with no users creates `admin` and prints its "
        "password once. Settings: --config FILE, KIOSK_* variables, or the flags below.",
    )
    add_settings_flags(p)
    p.add_argument("--host", help="address to listen on (0.0.0.0 for the whole LAN)")
    p.add_argument("--port", type=int, help="TCP port (default 8000)")
    p.add_argument(
        "--theme",
        help=f"theme for screens without their own; shipped: {', '.join(themes.shipped())}",
    )
    p.add_argument("--watch", choices=["native", "polling", "auto"], help="how to notice files")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "init",
        help="make a content folder with _TEMPLATE.md, _README.txt; kiosk.toml beside it",
        description="Creates DIR (or fills it, keeping files already there) with the file staff "
        "copy for each story and one page of instructions, and writes kiosk.toml next to DIR, "
        "never inside it: whoever can drop stories must not change the server's settings.",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="the folder to create or fill")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser(
        "check",
        help="say what each file in a content folder would become (exit 1 on problems)",
        description="Reads every story and photo like the server would, without changing "
        "anything, and prints pending / problem (with what to fix) / ignored for each.",
    )
    p.add_argument("dir", type=Path, nargs="?", metavar="DIR", help="content folder to check")
    p.add_argument("--config", type=Path, help="TOML settings file (limits)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of text")
    p.add_argument(
        "--pages",
        action="store_true",
        help="also say on how many pages each story plays on each screen shape (in Chromium)",
    )
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "display",
        help="show the screen: wait for the server, then keep Chromium in kiosk mode on it",
        description="Waits for the server's /healthz, then runs Chromium full screen on "
        "/display?screen=NAME and looks after it: restarts it if it exits, once a night inside "
        "quiet_hours, and when the server has not heard this screen's heartbeat for two "
        "minutes (the server says so at /api/screens/NAME). Switches the "
        "display off and on with quiet_hours (HDMI-CEC, else DPMS). Run it inside the "
        "graphical session (labwc); install.sh sets that up.",
    )
    p.add_argument(
        "url",
        nargs="?",
        metavar="URL",
        help="the server, e.g. http://kiosk.local:8000 "
        "(default: this machine's port from the settings)",
    )
    p.add_argument("--screen", default="default", metavar="NAME", help="screen name (default)")
    p.add_argument("--config", type=Path, help="TOML settings file (port, quiet_hours, timezone)")
    p.add_argument("--chromium", metavar="PATH", help="the browser (default: chromium)")
    p.add_argument(
        "--chromium-flags", default="", metavar="FLAGS", help="extra Chromium flags, one string"
    )
    p.add_argument("--profile", type=Path, metavar="DIR", help="Chromium profile folder")
    p.add_argument(
        "--wait",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long to wait for the server before showing the page anyway (120)",
    )
    p.add_argument("--print", action="store_true", help="print the Chromium command and exit")
    p.set_defaults(func=cmd_display)

    p = sub.add_parser(
        "doctor",
        help="check this machine (service, folders, disk, Chromium, share, CEC, clock, fonts)",
        description="Prints one line per check, OK / WARN / FAIL, with what to do; "
        "exit status 1 when something FAILs.",
    )
    add_settings_flags(p)
    p.add_argument(
        "--smb-conf",
        type=Path,
        default=Path("/etc/samba/smb.conf"),
        metavar="FILE",
        help="Samba configuration to look for the [stories] share in",
    )
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser(
        "power",
        help="switch the display on or off, or as quiet_hours says now (auto)",
        description="Uses HDMI-CEC (cec-ctl) for TVs and DPMS (wlopm) for monitors; run it "
        "inside the graphical session. `kiosk display` already does `auto` by itself.",
    )
    p.add_argument("state", choices=["on", "off", "auto"])
    p.add_argument("--config", type=Path, help="TOML settings file (quiet_hours, timezone)")
    p.set_defaults(func=cmd_power)

    p = sub.add_parser(
        "user",
        help="add, list, remove users of the admin page or change a password",
        description="Users sign in at /admin. Roles: moderator (approves stories) and admin "
        "(also manages users). Without --password-stdin the password is asked for twice.",
    )
    p.add_argument("action", choices=["add", "passwd", "remove", "list"])
    p.add_argument("name", nargs="?", metavar="NAME", help="the user name (lower case)")
    p.add_argument("--role", choices=ROLES, default="moderator", help="for add (moderator)")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (scripts)"
    )
    add_settings_flags(p)
    p.set_defaults(func=cmd_user)

    p = sub.add_parser(
        "token",
        help="create, list or revoke API tokens for scripts and `kiosk display`",
        description="A token authenticates admin API calls as `Authorization: Bearer TOKEN`. "
        "Only a hash is stored: `create` prints the token once. `revoke NAME` ends every "
        "live token with that name.",
    )
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("name", nargs="?", metavar="NAME", help="who uses it, e.g. lobby-screen")
    p.add_argument("--role", choices=ROLES, default="moderator", help="for create (moderator)")
    add_settings_flags(p)
    p.set_defaults(func=cmd_token)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KioskError as exc:  # the one place a domain error becomes the command's last words
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
