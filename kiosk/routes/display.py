"""The screen side: the player page, its playlist, live updates, heartbeats, theme files."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Template
from pydantic import BaseModel, Field, create_model
from sse_starlette import EventSourceResponse

from ..deps import LibraryDep, PlaylistsDep, SettingsDep
from ..events import TICK_SECONDS, BroadcasterDep
from ..library import Library
from ..library.plays import Shown
from ..model import TEXT_FIELDS
from ..playlist import Playlists, page_code
from ..schedule import HEARTBEAT_SECONDS, SILENT_SECONDS, silent_for
from ..settings import Settings
from ..theme import load_theme, theme_file
from .media import IMMUTABLE

router = APIRouter(tags=["display"])

SCREEN_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
ScreenQuery = Annotated[
    str, Query(pattern=SCREEN_NAME, description="The screen's name, as in [screens.NAME].")
]
NO_CACHE = {"Cache-Control": "no-cache"}
# The player's own scripts and media only; the admin page frames it for previews, nobody else may.
# Inline styles are allowed for the theme's variables block, which holds validated values only.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    ),
    "Referrer-Policy": "same-origin",
    **NO_CACHE,
}
STATIC = FsPath(__file__).resolve().parent.parent / "static"  # mounted at /static by the app
FONTS = sorted(f"/static/fonts/{p.name}" for p in (STATIC / "fonts").glob("*.woff2"))


# Every text field of the story, "" when it has none (photo_alt falls back to the name).
_texts: dict[str, Any] = {f.name: (str, Field(description=f.label)) for f in TEXT_FIELDS}
SlideText = create_model("SlideText", **_texts)


class Slide(SlideText):  # type: ignore[misc, valid-type]  # fields from kiosk.model
    """A slide as /api/slides/{hash} gives it."""

    id: int
    revision: int
    html: str = Field(description="The story as HTML, rendered from Markdown with raw HTML off.")
    image: str | None = Field(description="URL of the photo rendition.")
    focal: list[float] = Field(description="[x, y] fractions: where the face is in the photo.")
    duration_ms: int
    language: str = Field(default="", description="The story's `language:` field, or empty.")
    qr: str = Field(description="URL of the QR code (SVG) that opens the story on a phone.")


class SlideRef(BaseModel):
    id: int
    revision: int
    hash: str = Field(description="The slide's content hash: GET /api/slides/{hash}.")
    image: str | None = Field(description="URL of the photo rendition.")
    duration_ms: int


class Playlist(BaseModel):
    version: str = Field(description="Changes exactly when what the screen shows changes.")
    code: str = Field(description="The page's code and theme; a screen reloads when it differs.")
    theme: str
    quiet: bool = Field(description="Quiet hours: the screen is dark.")
    slides: list[SlideRef] | None = Field(
        default=None, description="The rotation, in order (absent when `changes` is given)."
    )
    since: str | None = Field(default=None, description="The version `changes` apply to.")
    changes: list[tuple[int, int, list[SlideRef]]] | None = Field(
        default=None,
        description="Asked with `since` the server still knows: [start, removed, added] "
        "splices of the `since` version's slides, in order, instead of `slides`.",
    )
    next_change: str | None = Field(description="When a date or quiet hour next changes things.")


class ScreenHealth(BaseModel):
    name: str
    last_seen: str | None = Field(description="The last heartbeat, UTC; null if never.")
    silent: bool = Field(description=f"No heartbeat for more than {SILENT_SECONDS} s.")


MAX_PLAYS = 200  # a beat every 30 s, a slide every few seconds: room for a missed beat or two
MAX_PLAY_SECONDS = 3600.0  # one page on the wall longer than this is a stuck or forged report


class Play(BaseModel):
    """One slide, or one page of a long story, that was visible until the next replaced it."""

    id: int = Field(ge=1, le=2**63 - 1, description="The slide's story id.")
    revision: int = Field(ge=1, le=2**63 - 1, description="The revision shown (counted per story).")
    page: int = Field(default=0, ge=0, le=1000, description="0 for the first page: a play.")
    seconds: float = Field(ge=0, allow_inf_nan=False, description="Visible for this long.")


class Heartbeat(BaseModel):
    slide: int | str | None = Field(default=None, description="The id of the slide on screen.")
    version: str | None = Field(default=None, max_length=64)
    plays: list[Play] = Field(
        default=[],
        max_length=MAX_PLAYS,
        description="What was on screen since the last heartbeat (proof of play).",
    )


@router.get("/display", response_class=HTMLResponse)
def display(settings: SettingsDep, screen: ScreenQuery = "default") -> HTMLResponse:
    """The player page for one screen (`&preview=ID` and `&slide_ms=N` are read by player.js)."""
    return HTMLResponse(_page(settings, screen), headers=PAGE_HEADERS)


@router.get("/api/playlist", response_model=Playlist, responses={304: {"description": "Unchanged"}})
def playlist(
    request: Request,
    playlists: PlaylistsDep,
    screen: ScreenQuery = "default",
    since: Annotated[
        str | None, Query(max_length=64, description="The version the screen has.")
    ] = None,
) -> Response:
    """What the screen shows now; `ETag` is the version, `If-None-Match` gets a 304; with
    `since`, only the changes when the server still knows that version."""
    now = datetime.now(UTC)
    current, body = playlists.get(screen, now)
    etag = f'"{current["version"]}"'
    headers = {"ETag": etag, **NO_CACHE}
    if etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    if since and (delta := playlists.delta(screen, since, now)) is not None:
        body = delta
    return Response(body, media_type="application/json", headers=headers)


@router.get("/api/slides/{digest}", response_model=Slide, responses={404: {"description": "None"}})
def slide(digest: str, playlists: PlaylistsDep) -> Response:
    """One slide of a revision on screen, by content hash: it never changes, so it is cached
    for ever. Anything not on screen (waiting, rejected, retired) is a 404."""
    body = playlists.slide_body(digest)
    if body is None:
        raise HTTPException(404, "no such slide")
    return Response(body, media_type="application/json", headers=IMMUTABLE)


@router.get("/api/events", response_class=EventSourceResponse)
async def events(broadcaster: BroadcasterDep, screen: ScreenQuery = "default") -> Response:
    """Server-Sent Events: `playlist` with `{"version", "code"}` on every change; pings."""
    return EventSourceResponse(broadcaster.stream(screen), ping=TICK_SECONDS, headers=NO_CACHE)


@router.post(
    "/api/screens/{name}/heartbeat", status_code=204, responses={429: {"description": "Refused"}}
)
def heartbeat(
    name: Annotated[str, Path(pattern=SCREEN_NAME)],
    beat: Heartbeat,
    request: Request,
    library: LibraryDep,
    settings: SettingsDep,
    playlists: PlaylistsDep,
) -> Response:
    """A screen is alive and shows `slide` of playlist `version`; `plays` is what it showed."""
    slide = None if beat.slide is None else str(beat.slide)[:64]
    address = request.client.host if request.client else ""
    configured = name == "default" or name in settings.screens
    if not library.heartbeat(name, slide, beat.version, address, accepted=configured):
        raise HTTPException(
            429,
            f"too many screens nobody has accepted; name this one in [screens.{name}] "
            "or accept it on the Screens tab",
        )
    if beat.plays and settings.play_counts and (configured or library.screen_accepted(name)):
        _count(name, beat.plays, library, settings, playlists)
    return Response(status_code=204)


def _count(
    screen: str, plays: list[Play], library: Library, settings: Settings, playlists: Playlists
) -> None:
    """Count what the screen says it showed, but only stories of its own playlist: anybody
    can send a heartbeat, and a forged one must not invent plays of other stories."""
    now = datetime.now(UTC)
    current, _ = playlists.get(screen, now)
    allowed = {p.slide["id"] for p in current["slides"]}  # kiosk.playlist.Prepared
    shown = [
        Shown(p.id, p.page, min(p.seconds, MAX_PLAY_SECONDS)) for p in plays if p.id in allowed
    ]
    library.record_plays(screen, now.astimezone(settings.zone).date().isoformat(), shown)


@router.get("/api/screens/{name}", response_model=ScreenHealth)
def screen_health(name: Annotated[str, Path(pattern=SCREEN_NAME)], library: LibraryDep) -> dict:
    """Whether the server still hears this screen: what `kiosk display`'s watchdog asks."""
    seen = next((s["last_seen"] for s in library.screens() if s["name"] == name), None)
    silent = silent_for(seen, library.clock()) > SILENT_SECONDS
    return {"name": name, "last_seen": seen, "silent": silent}


@router.get("/sw.js", include_in_schema=False)
def service_worker() -> FileResponse:
    """At the root, so the worker's scope covers /display."""
    return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers=NO_CACHE)


@router.get("/themes/{theme}/{name}", include_in_schema=False)
def theme_asset(theme: str, name: str, settings: SettingsDep) -> FileResponse:
    """A theme's own CSS, fonts and pictures."""
    path = theme_file(theme, name, settings.themes_dir)
    if path is None:
        raise HTTPException(404)
    return FileResponse(path, headers=NO_CACHE)


def _page(settings: Settings, screen: str) -> str:
    theme = load_theme(settings.theme_for(screen), settings.themes_dir)
    code = page_code(settings, screen)
    config = {
        "screen": screen,
        "code": code,
        "playlist": f"/api/playlist?screen={screen}",
        "events": f"/api/events?screen={screen}",
        "heartbeat": f"/api/screens/{screen}/heartbeat",
        "heartbeat_ms": HEARTBEAT_SECONDS * 1000,
        "reload_ms": round(settings.reload_hours * 3600 * 1000),
        # a long story's pages: each stays for its words at reading_wpm, at least slide_seconds
        "reading_wpm": settings.reading_wpm,
        "slide_min_ms": round(settings.slide_seconds * 1000),
    }
    return _template(theme.name, settings.themes_dir).render(
        theme=theme,
        screen=screen,
        code=code,
        config=config,
        fonts=FONTS,
        share_path=settings.share_path,
    )


@lru_cache(maxsize=16)
def _template(theme: str, themes_dir: FsPath | None) -> Template:
    return load_theme(theme, themes_dir).environment().get_template("display.html")


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
