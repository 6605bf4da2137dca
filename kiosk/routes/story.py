"""The whole story on a phone: a page per story on the screens, and the QR code that opens it.

A slide's QR code holds `public_url` + `/story/ID`. The page shows what the wall shows (every word
of the story, the photo, name, role, organisation and quote) to anyone on the network, so it
exists exactly while a screen may show the story: approved, not retired or withdrawn, within its
dates and its consent. Everything is answered with `no-store`, so the moment a story leaves the
screens its page, photo and code are gone (404) for phones too, not kept in their caches.

The ID in the URL is the submission's plain number rather than an unguessable token: these pages
carry nothing the hallway does not show to every passer-by, and counting through numbers finds
only the stories on the wall now. A number keeps the QR code small (fewer modules scan from
further away) and stays the same across a story's revisions.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated

import segno
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import FileResponse, HTMLResponse

from ..assets import code_version
from ..deps import LibraryDep, SettingsDep
from ..library import Library
from ..model import OnScreen
from ..playlist import on_air
from ..settings import Settings
from .admin_pages import templates

router = APIRouter(tags=["story"])

StoryId = Annotated[
    int, Path(ge=1, le=2**63 - 1, description="The story's id, as in the playlist's slides.")
]
NO_STORE = {"Cache-Control": "no-store"}
# Nothing but the page's own stylesheet and the story's photo: a picture or link in a story's
# Markdown points elsewhere, and the phone must not fetch it or tell it where it was.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    **NO_STORE,
}
# Right-to-left scripts (ISO 15924) and the languages written in one unless a script says
# otherwise; the text itself decides (dir="auto") for every other language and for none.
RTL_SCRIPTS = {"adlm", "arab", "hebr", "mand", "nkoo", "rohg", "samr", "syrc", "thaa", "yezi"}
RTL_LANGUAGES = {"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "ps", "sd", "ug", "ur", "yi"}
GONE = 404


@router.get(
    "/story/{sid}",
    response_class=HTMLResponse,
    responses={GONE: {"description": "Not on the screens (any more)."}},
)
def story_page(
    sid: StoryId, request: Request, library: LibraryDep, settings: SettingsDep
) -> Response:
    """The whole story of one slide on the screens, for a phone and a screen reader."""
    rev = _on_air(library, sid, settings)
    if rev is None:
        return templates.TemplateResponse(
            request, "story.html", {"story": None}, status_code=GONE, headers=PAGE_HEADERS
        )
    language = str((rev.get("extra") or {}).get("language") or "")
    context = {
        "story": rev,
        "language": language,
        "dir": direction(language),
        "photo": f"/story/{sid}/photo" if rev.get("image") else None,
        "code": code_version(),
    }
    return templates.TemplateResponse(request, "story.html", context, headers=PAGE_HEADERS)


@router.get(
    "/story/{sid}/photo",
    response_class=FileResponse,
    responses={GONE: {"description": "Not on the screens (any more)."}},
)
def story_photo(sid: StoryId, library: LibraryDep, settings: SettingsDep) -> Response:
    """The story's photo for its phone page; not kept by the phone (the wall's /media is)."""
    rev = _on_air(library, sid, settings)
    image = rev.get("image") if rev else None
    path = settings.media_dir / image if image else None
    if path is None or not path.is_file():
        return Response("not on the screens", status_code=GONE, headers=NO_STORE)
    return FileResponse(path, headers=NO_STORE)


@router.get(
    "/qr/{sid}.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, GONE: {"description": "No phone page."}},
)
def qr_code(sid: StoryId, library: LibraryDep, settings: SettingsDep) -> Response:
    """The QR code of the story's phone page, as SVG, for its slide."""
    if _on_air(library, sid, settings) is None:
        return Response("not on the screens", status_code=GONE, headers=NO_STORE)
    svg = qr_svg(story_url(settings, sid))
    return Response(svg, media_type="image/svg+xml", headers=NO_STORE)


def story_url(settings: Settings, sid: int) -> str:
    """Where a phone opens the story: what its QR code says."""
    return f"{settings.public_origin}/story/{sid}"


@lru_cache(maxsize=512)
def qr_svg(url: str) -> bytes:
    """Black modules on white inside a two-module quiet zone, sized by the page's CSS.

    Two modules instead of the standard four: the slide puts a white margin around it anyway,
    and every module saved is a larger module on the wall. Level M (15 % of the code can be
    lost) rather than L: glare and moiré on a screen photographed from across a hallway.
    Cached: a few milliseconds each in pure Python, asked for by every screen on every slide.
    """
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        border=2,
        dark="#000",
        light="#fff",
        xmldecl=False,
        omitsize=True,
        svgclass=None,
        lineclass=None,
        nl=False,
    )
    return out.getvalue()


def direction(language: str) -> str:
    """`rtl` for a language tag written right to left, else `auto` (the text decides)."""
    subtags = language.lower().replace("_", "-").split("-")
    if len(subtags) > 1 and len(subtags[1]) == 4:  # a script subtag: ar-Latn, az-Arab
        return "rtl" if subtags[1] in RTL_SCRIPTS else "auto"
    return "rtl" if subtags[0] in RTL_LANGUAGES else "auto"


def _on_air(library: Library, sid: int, settings: Settings) -> OnScreen | None:
    return on_air(library, sid, settings, datetime.now(UTC))
