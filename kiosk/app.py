"""The app factory: wires settings, library, watcher and routers. No import-time singletons."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import __version__
from .ingest import Ingestor
from .library import Library
from .routes import health
from .settings import Settings, check_folders
from .watcher import Watcher

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    """Build the whole server around `settings`; the watcher runs in the app's lifespan."""
    check_folders(settings)
    library = Library(settings.db_path)
    watcher = Watcher(settings, library, Ingestor(settings, library))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        watcher.start()
        log.info(
            "watching %s (%s); data in %s", settings.content_dir, watcher.backend, settings.data_dir
        )
        try:
            yield
        finally:
            watcher.stop()
            library.close()

    app = FastAPI(title="Hallway Kiosk", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.library = library
    app.state.watcher = watcher
    app.include_router(health.router)
    return app
