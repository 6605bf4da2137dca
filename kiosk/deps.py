"""FastAPI dependencies, named once and used by every router."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .library import Library
from .settings import Settings
from .watcher import Watcher


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_library(request: Request) -> Library:
    return request.app.state.library


def get_watcher(request: Request) -> Watcher:
    return request.app.state.watcher


SettingsDep = Annotated[Settings, Depends(get_settings)]
LibraryDep = Annotated[Library, Depends(get_library)]
WatcherDep = Annotated[Watcher, Depends(get_watcher)]
