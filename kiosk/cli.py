"""`kiosk`: thin command line. Flags -> Settings -> app or command; errors become one clear line."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from . import __version__
from .settings import Settings, SettingsError, check_folders, load

STARTER = Path(__file__).resolve().parent / "starter"
log = logging.getLogger("kiosk")


class CommandError(Exception):
    """Ends the command with this message and exit status 2."""


def setup_logging(level: str = "info") -> None:
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if sys.stderr.isatty() else None
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stdout,  # journald collects stdout on the Pi
        format=fmt or "%(levelname)s %(name)s: %(message)s",
        force=True,
    )


def add_settings_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML settings file (or KIOSK_CONFIG)")
    p.add_argument("--content-dir", type=Path, help="folder staff drop stories into")
    p.add_argument("--data-dir", type=Path, help="the server's own state (database, images)")


def settings_from(args: argparse.Namespace, **extra: object) -> Settings:
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
    import uvicorn

    from .app import create_app

    settings = settings_from(args)
    setup_logging(settings.log_level)
    check_folders(settings)
    log.info("Hallway Kiosk %s on http://%s:%s/display", __version__, settings.host, settings.port)
    uvicorn.run(
        partial(create_app, settings),
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=False,
        timeout_graceful_shutdown=3,
    )
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    target: Path = args.dir
    target.mkdir(parents=True, exist_ok=True)
    for src in sorted(STARTER.iterdir()):
        dest = target / src.name
        if dest.exists():
            print(f"kept    {dest} (already there)")
            continue
        shutil.copyfile(src, dest)
        print(f"created {dest}")
    print(
        f"\nNext: drop a story and a photo into {target}, then run\n"
        f"  kiosk serve --config {target / 'kiosk.toml'}"
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .ingest import Ingestor
    from .library import Library
    from .stories import Scanner

    content = args.dir or settings_from(args).content_dir
    with tempfile.TemporaryDirectory(prefix="kiosk-check-") as tmp:
        settings = settings_from(args, content_dir=content, data_dir=Path(tmp))
        check_folders(settings)
        ingestor = Ingestor(settings, Library(Path(tmp) / "check.db"))
        scan = Scanner(settings.content_dir.resolve(), settings.max_text_kb * 1024).scan()
        report = []
        total = len(scan.entries)
        for n, entry in enumerate(scan.entries, 1):
            if not args.json and sys.stderr.isatty():
                print(f"\rchecking {n}/{total}", end="", file=sys.stderr, flush=True)
            item = ingestor.prepare(entry)
            report.append(
                {
                    "source": entry.source,
                    "status": "problem" if item.problems else "pending",
                    "name": item.story.name,
                    "photo": ingestor._rel(item.story.photo),
                    "problems": item.problems,
                }
            )
        if not args.json and sys.stderr.isatty():
            print("\r" + " " * 30 + "\r", end="", file=sys.stderr)
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
    return 1 if problems else 0


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

    p = sub.add_parser("serve", help="run the server (watcher, admin page, display)")
    add_settings_flags(p)
    p.add_argument("--host", help="address to listen on (0.0.0.0 for the whole LAN)")
    p.add_argument("--port", type=int, help="TCP port (default 8000)")
    p.add_argument("--theme", help="theme for screens without their own")
    p.add_argument("--watch", choices=["native", "polling", "auto"], help="how to notice files")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "init", help="make a content folder with _TEMPLATE.md, _README.txt and kiosk.toml"
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
    p.set_defaults(func=cmd_check)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (SettingsError, CommandError) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
