"""The admin web pages: `/admin` (the moderators' page) and `/admin/login`.

The pages carry no story content: their JavaScript (static/admin/) fetches everything from the
JSON API, whose checks are therefore the only ones that matter.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ..assets import PACKAGE, code_version
from ..auth import SESSION_COOKIE
from ..deps import AuthDep, LibraryDep, SettingsDep
from ..model import field_table

templates = Jinja2Templates(directory=PACKAGE / "templates")
MODULES = PACKAGE / "static" / "admin"  # the pages' JavaScript, as native ES modules
# No inline scripts, no framing of these pages (clickjacking), nothing sent to other sites.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> Response:
    """Somebody who types the Pi's address lands on the admin page (screens use /display)."""
    return RedirectResponse("/admin", status_code=307)


@router.get("/admin")
def admin_page(
    request: Request, auth: AuthDep, settings: SettingsDep, library: LibraryDep
) -> Response:
    """The moderators' page; without a session, the sign-in page."""
    who = auth.read_session(request.cookies.get(SESSION_COOKIE))
    if who is None:
        return RedirectResponse("/admin/login", status_code=303)
    names = dict.fromkeys(["default", *settings.screens, *(s["name"] for s in library.screens())])
    config = {
        "user": who.name,
        "role": who.role,
        "csrf": who.csrf_token,
        "require_consent": settings.require_consent,
        "screens": [{"name": n, "orientation": settings.screen(n).orientation} for n in names],
        "poll_ms": round(settings.admin_poll_seconds * 1000),
        "fields": field_table(),  # the page labels, lists and limits story fields from it
    }
    return templates.TemplateResponse(
        request,
        "admin/index.html",
        {"who": who, "config": config, "version": code_version(), "modules": _page_modules()},
        headers=PAGE_HEADERS,
    )


def _page_modules() -> list[str]:
    """The admin page's modules (all but the sign-in page's), preloaded by the page."""
    return sorted(p.name for p in MODULES.glob("*.js") if p.name != "login.js")


@router.get("/admin/login")
def login_page(request: Request, auth: AuthDep) -> Response:
    """Sign in; somebody who already is goes straight to the page."""
    if auth.read_session(request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse("/admin", status_code=303)
    return templates.TemplateResponse(
        request, "admin/login.html", {"version": code_version()}, headers=PAGE_HEADERS
    )


@router.get("/admin/js/{version}/{name}")
def admin_module(version: str, name: str) -> Response:
    """One of the pages' JavaScript modules, under the code version. The modules import each
    other by relative URL (`./dom.js`), so the version in the path carries over to every import:
    after an upgrade no browser runs a cached module next to fresh ones. Only the current
    version exists."""
    path = MODULES / name
    if version != code_version() or path.suffix != ".js" or not path.is_file():
        raise HTTPException(404, "No such file.")
    return FileResponse(
        path, media_type="text/javascript", headers={"X-Content-Type-Options": "nosniff"}
    )
