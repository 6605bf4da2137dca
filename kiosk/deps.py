"""FastAPI dependencies, named once and used by every router."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from .auth import (
    BACKGROUND_HEADER,
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    Auth,
    Forbidden,
    Principal,
    Unauthenticated,
)
from .ingest.watcher import Watcher
from .library import Library
from .playlist import Playlists
from .settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_library(request: Request) -> Library:
    return request.app.state.library


def get_watcher(request: Request) -> Watcher:
    return request.app.state.watcher


def get_playlists(request: Request) -> Playlists:
    return request.app.state.playlists


def get_auth(request: Request) -> Auth:
    return request.app.state.auth


SettingsDep = Annotated[Settings, Depends(get_settings)]
LibraryDep = Annotated[Library, Depends(get_library)]
WatcherDep = Annotated[Watcher, Depends(get_watcher)]
AuthDep = Annotated[Auth, Depends(get_auth)]
PlaylistsDep = Annotated[Playlists, Depends(get_playlists)]

# Declared as security schemes so /openapi.json says how admin calls authenticate.
_bearer = HTTPBearer(auto_error=False, description="An API token from `kiosk token create`.")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="Set by POST /api/admin/login; unsafe methods also need the X-CSRF-Token header.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
CookieDep = Annotated[str | None, Depends(_cookie)]


async def _sent_csrf(request: Request) -> str | None:
    sent = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if sent is None and content_type.startswith(("application/x-www-form", "multipart/")):
        value = (await request.form()).get(CSRF_FIELD)  # plain HTML forms post it as a field
        sent = value if isinstance(value, str) else None
    return sent


async def authorize(
    request: Request,
    response: Response,
    auth: Auth,
    cookie: str | None,
    bearer: HTTPAuthorizationCredentials | None,
    role: str,
) -> Principal:
    """401 without credentials, 403 for the wrong role or a missing CSRF token."""
    try:
        # Off the event loop: the database lock may be held by an ingest for a moment.
        who = await run_in_threadpool(
            auth.principal, cookie, bearer.credentials if bearer else None
        )
        if not who.may(role):
            raise Forbidden(f"this needs the {role} role; ask an admin")
        if request.method not in SAFE_METHODS:
            auth.check_csrf(who, await _sent_csrf(request))
    except Unauthenticated as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from None
    response.headers["Cache-Control"] = "no-store"  # moderators' data stays out of caches
    if auth.should_refresh(who) and BACKGROUND_HEADER not in request.headers:
        auth.set_cookie(response, who, secure=request.url.scheme == "https")
    return who


async def require_moderator(
    request: Request, response: Response, auth: AuthDep, cookie: CookieDep, bearer: BearerDep
) -> Principal:
    return await authorize(request, response, auth, cookie, bearer, "moderator")


async def require_admin(
    request: Request, response: Response, auth: AuthDep, cookie: CookieDep, bearer: BearerDep
) -> Principal:
    return await authorize(request, response, auth, cookie, bearer, "admin")


ModeratorDep = Annotated[Principal, Depends(require_moderator)]
AdminDep = Annotated[Principal, Depends(require_admin)]
