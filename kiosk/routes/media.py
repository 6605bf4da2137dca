"""Photo renditions for the screens: only those of revisions on screen, cached for ever."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from ..deps import LibraryDep, SettingsDep

router = APIRouter(tags=["media"])

# Rendition names are content hashes ("3f9a…-1920.jpg"): no folders, no dots in front.
MEDIA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\.[a-z0-9]{2,5}$")
IMMUTABLE = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}


@router.get("/media/{name}", response_class=FileResponse)
def media(name: str, settings: SettingsDep, library: LibraryDep) -> FileResponse:
    """The display rendition of an approved, live revision; 404 for anything else."""
    # Pending, rejected, problem and retired photos get the same 404 as names that never
    # existed, so nobody can probe what is waiting for a moderator.
    if not MEDIA_NAME.match(name) or not library.is_public_media(name):
        raise HTTPException(404, "no such photo")
    path = settings.media_dir / name
    if not path.is_file():
        raise HTTPException(404, "no such photo")
    return FileResponse(path, headers=IMMUTABLE)
