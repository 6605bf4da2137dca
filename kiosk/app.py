"""The app factory: wires settings, library, watcher and routers. No import-time singletons."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from . import __version__
from .auth import Auth
from .consent import ConsentKeeper
from .errors import KioskError
from .events import Broadcaster, LibraryFeed
from .guards import AdminGzip, AllowedHosts, BodyLimit, NoSniff, StreamLimit, own_names
from .ingest.watcher import Watcher
from .library import Library
from .playlist import Playlists
from .routes import admin, admin_pages, display, health, media, story, submit
from .settings import Settings, check_folders
from .status_file import StatusFile
from .theme import check_themes

log = logging.getLogger(__name__)

ADMIN_BODY_LIMIT = 64 * 1024  # the admin API's JSON bodies are a few hundred bytes


async def kiosk_error(request: Request, exc: Exception) -> JSONResponse:
    """Any domain error a route lets through, answered as FastAPI answers an HTTPException."""
    assert isinstance(exc, KioskError)  # registered for KioskError only
    return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=exc.headers)


def create_app(settings: Settings, hasher: PasswordHasher | None = None) -> FastAPI:
    """Build the whole server around `settings`; the watcher runs in the app's lifespan.
    `hasher` hashes passwords (kiosk.auth's argon2 sized for a Pi unless given)."""
    check_folders(settings)
    for stale in settings.media_dir.glob("*.tmp"):
        stale.unlink(missing_ok=True)  # left by a render that was killed; never a rendition
    check_themes(settings)  # an unknown theme stops the server here, listing the installed ones
    library = Library(settings.db_path)
    watcher = Watcher(settings, library)
    playlists = Playlists(library, settings)
    events = Broadcaster(settings, library, playlists)
    library_feed = LibraryFeed(library)
    auth = Auth(settings, library, hasher=hasher)
    status_file = StatusFile(settings, library)
    consent = ConsentKeeper(settings, library)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        auth.ensure_first_admin()  # prints a random password once; never a default one
        watcher.start()
        await events.start()
        status_file.start()
        consent.start()
        log.info(
            "watching %s (%s); data in %s", settings.content_dir, watcher.backend, settings.data_dir
        )
        try:
            yield
        finally:
            consent.stop()
            status_file.stop()
            library_feed.stop()
            await events.stop()
            watcher.stop()
            library.close()

    # /openapi.json stays (the schema is part of the contract); the /docs and /redoc pages load
    # scripts from a CDN without integrity checks, so they are not served.
    app = FastAPI(
        title="Hallway Kiosk",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(
        StreamLimit,
        path="/api/events",
        per_client=settings.screens_per_address,
        total=settings.max_screens,
    )
    app.add_middleware(BodyLimit, prefix="/api/admin/", limit=ADMIN_BODY_LIMIT)
    app.add_middleware(AdminGzip)
    app.add_middleware(NoSniff)
    # The name in the QR codes (public_url) is one phones use to reach us.
    public = urlsplit(settings.public_origin).hostname or "localhost"
    app.add_middleware(AllowedHosts, names=[*own_names(), *settings.allowed_hosts, public])
    app.state.settings = settings
    app.state.library = library
    app.state.watcher = watcher
    app.state.events = events
    app.state.library_feed = library_feed
    app.state.auth = auth
    app.state.playlists = playlists
    app.add_exception_handler(KioskError, kiosk_error)
    app.include_router(health.router)
    app.include_router(display.router)
    app.include_router(media.router)
    app.include_router(admin.router)
    app.include_router(admin_pages.router)
    app.include_router(submit.router)
    app.include_router(story.router)
    app.mount("/static", StaticFiles(directory=display.STATIC), name="static")
    return app
