"""`/healthz`: is the server able to do its job?"""

from __future__ import annotations

import shutil
import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from .. import __version__
from ..deps import LibraryDep, SettingsDep, WatcherDep

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz(settings: SettingsDep, library: LibraryDep, watcher: WatcherDep) -> JSONResponse:
    """200 when the watcher runs and the database answers; 503 with the reason otherwise."""
    db_ok = library.healthy()
    backlog = watcher.backlog
    ok = db_ok and watcher.state == "running" and not watcher.storage_error
    try:
        free_mb = shutil.disk_usage(settings.data_dir).free // 2**20
    except OSError:
        free_mb = None
    body = {
        "status": "ok" if ok else "degraded",
        "watcher": watcher.state,
        "watch_backend": watcher.backend,
        "error": watcher.error or watcher.storage_error or None,
        "database": "ok" if db_ok else "unavailable",
        "last_scan_seconds_ago": round(time.time() - watcher.last_pass, 1)
        if watcher.last_pass
        else None,
        "submissions": library.counts() if db_ok else None,
        "ingesting": {"done": backlog.done, "total": backlog.total} if backlog else None,
        "data_free_mb": free_mb,
        "version": __version__,
    }
    return JSONResponse(body, status_code=200 if ok else 503)
