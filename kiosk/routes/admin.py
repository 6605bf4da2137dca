"""The admin JSON API (DESIGN "HTTP contract"): sign-in, the moderation queue and its decisions,
fixes, the audit log, screens, users, and moderator-only media and slide previews.

Every route but login needs a moderator (a session cookie, plus X-CSRF-Token on unsafe methods,
or a bearer token); user management needs an admin.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import FileResponse
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from .. import model, playlist
from ..auth import SESSION_COOKIE, Forbidden, Unauthenticated
from ..consent import consent_ends, consent_notice
from ..deps import AdminDep, AuthDep, BearerDep, CookieDep, LibraryDep, ModeratorDep, SettingsDep
from ..events import TICK_SECONDS, LibraryFeedDep
from ..library import Library, Refused
from ..library.plays import plays_since
from ..library.read_model import Order
from ..model import Status
from ..schedule import (
    SILENT_SECONDS,
    ConsentTerms,
    ends_before_start,
    silent_for,
    utcnow,
)
from .admin_models import (
    ApproveIn,
    AuditList,
    Counts,
    LoginIn,
    LoginOut,
    PlayStats,
    Preview,
    Problem,
    RejectIn,
    ScreenList,
    Submission,
    SubmissionList,
    SubmissionPatch,
    UserIn,
    UserList,
    UserOut,
)
from .display import ScreenQuery

# SQLite integers are 64-bit; a larger id is not "unknown", it is not an id at all (422).
SubmissionId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A submission's id.")]

router = APIRouter(prefix="/api/admin", tags=["admin"])

MEDIA_PREFIX = "/api/admin/media/"
MEDIA_NAME = re.compile(r"[0-9a-f]{32}-t?\d+\.jpg")  # images.rendition_names


_WHY = {
    401: "no credentials, a revoked token or an ended session",
    403: "the wrong role, or a cookie request without its X-CSRF-Token",
    404: "no such submission",
    409: "a newer revision has appeared since",
    422: "a field is wrong or the action is not allowed; `detail` says why",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": Problem, "description": _WHY[code]} for code in (401, 403, *codes)}


def _media(rev: Mapping[str, Any]) -> dict[str, Any]:
    return {**rev} | {
        k: MEDIA_PREFIX + rev[k] if rev.get(k) else None for k in ("image", "thumbnail")
    }


def _submission(sub: model.Submission, terms: ConsentTerms) -> Submission:
    """A submission as the library reads it, with media as moderator-only URLs and when its
    consent ends."""
    on_screen = _media(sub["on_screen"]) if sub["on_screen"] else None
    consent = {
        "consent_ends": consent_ends(sub, terms),
        "consent_notice": consent_notice(sub, terms, utcnow()),
    }
    return Submission.model_validate(_media(sub) | {"on_screen": on_screen} | consent)


def _check_dates(current: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
    start, end = changes.get("start", current.get("start")), changes.get("end", current.get("end"))
    if start and end and ends_before_start(start, end):
        raise Refused(
            f"end ({end}) is before start ({start}): fix the dates so it has days to show"
        )


# ---- sign-in -----------------------------------------------------------------------------
@router.post(
    "/login",
    responses={
        401: {"model": Problem, "description": "wrong user name or password"},
        429: {"model": Problem, "description": "too many failed sign-ins; see Retry-After"},
    },
)
async def login(body: LoginIn, request: Request, response: Response, auth: AuthDep) -> LoginOut:
    """Sign in: sets the session cookie and returns the CSRF token for unsafe requests."""
    address = request.client.host if request.client else "unknown"
    who = await auth.login(body.username, body.password, address)
    await run_in_threadpool(auth.set_cookie, response, who, request.url.scheme == "https")
    return LoginOut(csrf_token=who.csrf_token, user=UserOut(name=who.name, role=who.role))


@router.post("/logout", status_code=204, responses=_errors())
def logout(who: ModeratorDep, auth: AuthDep, response: Response) -> None:
    """End this session (its cookie stops working at once)."""
    if who.session_id:
        auth.end_session(who)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


# ---- the queue and decisions -------------------------------------------------------------
def _etag(library: Library, *parts: object) -> str:
    """Names what a list shows: the library's state, the hour (consent notices count days) and
    what was asked. Nothing is read to make it, so a page that has not changed costs no SQL."""
    state = [library.epoch, library.generation, library.plays_generation]
    key = json.dumps([*state, f"{utcnow():%Y%m%d%H}", *parts])
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:24] + '"'


def _unchanged(request: Request, response: Response, etag: str) -> Response | None:
    """A 304 when the browser already holds `etag`; else None, and the answer carries it."""
    response.headers["ETag"] = etag
    if etag not in request.headers.get("if-none-match", ""):
        return None
    unchanged = Response(status_code=304)
    unchanged.headers.raw.extend(response.headers.raw)  # no-store, ETag, a refreshed cookie
    return unchanged


@router.get("/submissions", responses={**_errors(422), 304: {"description": "unchanged"}})
def submissions(
    who: ModeratorDep,
    library: LibraryDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    status: Status | None = None,
    on_screen: Annotated[
        bool, Query(description="only stories a screen plays (the On the screens tab)")
    ] = False,
    order: Order = Order.ARRIVAL,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[
        str | None, Query(max_length=512, description="`next` of the page before")
    ] = None,
) -> Any:
    """A page of submissions with their newest revision, oldest first by default (the order to
    work through); `next` continues the list. `ETag`, and `304` on `If-None-Match`."""
    etag = _etag(library, status, on_screen, order, limit, after)
    if (unchanged := _unchanged(request, response, etag)) is not None:
        return unchanged
    terms = settings.consent_terms
    page = library.page(status=status, on_screen=on_screen, order=order, limit=limit, after=after)
    ids = [s["id"] for s in page.submissions]
    plays = {}  # a waiting queue has not been on a screen: its pages stay one statement
    if ids and (on_screen or status in (Status.APPROVED, Status.RETIRED)):
        plays = library.play_stats(*plays_since(library.clock(), settings.zone), ids=ids)
    subs = [
        _submission(s, terms).model_copy(update={"plays": _plays(plays.get(s["id"]))})
        for s in page.submissions
    ]
    return SubmissionList(submissions=subs, next=page.next)


def _plays(stats: Mapping[str, Any] | None) -> PlayStats | None:
    return PlayStats.model_validate(stats) if stats else None


@router.get("/counts", responses={**_errors(), 304: {"description": "unchanged"}})
def counts(who: ModeratorDep, library: LibraryDep, request: Request, response: Response) -> Any:
    """How many stories each tab of the admin page lists; `ETag` and `304` as the lists."""
    if (unchanged := _unchanged(request, response, _etag(library, "counts"))) is not None:
        return unchanged
    return Counts.model_validate(library.tab_counts())


@router.get("/events", response_class=EventSourceResponse, responses=_errors())
async def events(
    request: Request, auth: AuthDep, feed: LibraryFeedDep, cookie: CookieDep, bearer: BearerDep
) -> Response:
    """Server-Sent Events for admin pages: `changed` with `{"generation"}` when the library
    changes (at most every half second), then the page fetches what it shows. Listening does
    not keep a session alive; the stream ends when the session does."""
    token = bearer.credentials if bearer else None
    who = await run_in_threadpool(auth.principal, cookie, token)
    if not who.may("moderator"):
        raise Forbidden("this needs the moderator role; ask an admin")

    def signed_in() -> bool:
        try:
            auth.principal(cookie, token)
            return True
        except Unauthenticated:
            return False

    return EventSourceResponse(
        feed.stream(signed_in), ping=TICK_SECONDS, headers={"Cache-Control": "no-store"}
    )


@router.post("/submissions/{sid}/approve", responses=_errors(404, 409, 422))
def approve(
    sid: SubmissionId,
    who: ModeratorDep,
    library: LibraryDep,
    settings: SettingsDep,
    body: ApproveIn | None = None,
) -> Submission:
    """Approve the newest revision (or exactly `revision`): it replaces what was playing."""
    revision = body.revision if body else None
    terms = settings.consent_terms
    sub = library.approve(sid, who.name, revision, settings.require_consent, terms)
    return _submission(sub, terms)


@router.post("/submissions/{sid}/reject", responses=_errors(404, 422))
def reject(
    sid: SubmissionId, body: RejectIn, who: ModeratorDep, library: LibraryDep, settings: SettingsDep
) -> Submission:
    """Reject the newest revision with a reason; an approved older one keeps playing."""
    sub = library.reject(sid, who.name, body.reason)
    return _submission(sub, settings.consent_terms)


@router.post("/submissions/{sid}/retire", responses=_errors(404))
def retire(
    sid: SubmissionId, who: ModeratorDep, library: LibraryDep, settings: SettingsDep
) -> Submission:
    """Take it off every screen."""
    sub = library.retire(sid, who.name)
    return _submission(sub, settings.consent_terms)


@router.patch("/submissions/{sid}", responses=_errors(404, 422))
def patch(
    sid: SubmissionId,
    body: SubmissionPatch,
    who: ModeratorDep,
    library: LibraryDep,
    settings: SettingsDep,
) -> Submission:
    """Fix fields (a misspelled name), the focal point, start/end dates, pin or order."""
    changes = body.model_dump(exclude_unset=True)
    _check_dates(library.submission(sid), changes)
    sub = library.patch(sid, who.name, changes)
    return _submission(sub, settings.consent_terms)


@router.get("/submissions/{sid}/preview", responses=_errors(404))
def preview(
    sid: SubmissionId,
    who: ModeratorDep,
    library: LibraryDep,
    settings: SettingsDep,
    screen: ScreenQuery = "default",
) -> Preview:
    """The newest revision as one slide of `screen`'s playlist, for /display?preview=ID."""
    sub = library.submission(sid)
    slide = playlist.slide(sub, settings, media_prefix=MEDIA_PREFIX)
    theme = settings.theme_for(screen)
    shown = json.dumps([slide, theme], sort_keys=True).encode()
    version = hashlib.sha256(shown).hexdigest()[:20]
    return Preview(version=version, theme=theme, slides=[slide])


@router.get(
    "/media/{name}",
    response_class=FileResponse,
    responses={**_errors(404), 200: {"content": {"image/jpeg": {}}}},
)
def media(name: str, who: ModeratorDep, settings: SettingsDep) -> FileResponse:
    """Renditions and thumbnails of any revision, pending or not: moderators only."""
    path = settings.media_dir / name
    if not MEDIA_NAME.fullmatch(name) or not path.is_file():
        raise HTTPException(404, f"no image {name}")
    return FileResponse(
        path,
        media_type="image/jpeg",
        # Pending and rejected photos must not outlive the moderator's session in a disk cache.
        headers={"Cache-Control": "private, no-store"},
    )


# ---- what happened and where ---------------------------------------------------------------
@router.get("/audit", responses=_errors(422))
def audit(
    who: ModeratorDep, library: LibraryDep, limit: int = Query(200, ge=1, le=1000)
) -> AuditList:
    """Decisions and changes, newest first, with the story each one was about."""
    labels = library.labels()
    entries = [
        e | labels.get(e["submission_id"], {"source": None, "name": None})
        for e in library.audit_log(limit)
    ]
    return AuditList.model_validate({"entries": entries})


@router.get("/screens", responses=_errors())
def screens(who: ModeratorDep, library: LibraryDep) -> ScreenList:
    """Every screen's last heartbeat, what it showed, and whether it has gone silent."""
    labels = library.labels()
    now = library.clock()
    out = []
    for s in library.screens():
        silent = silent_for(s["last_seen"], now)
        slide_id = re.match(r"\d+", str(s["slide"] or ""))
        label = labels.get(int(slide_id[0])) if slide_id else None
        out.append(
            s
            | {
                "silent_seconds": round(silent, 1),
                "silent": silent > SILENT_SECONDS,
                "showing": label["name"] if label else s["slide"],
                "other_address": _twin(s, now),
            }
        )
    return ScreenList.model_validate({"screens": out})


def _twin(screen: dict[str, Any], now: datetime) -> str | None:
    """The other address heard using this screen's name, while both still send heartbeats."""
    other, seen = screen["other_address"], screen["other_seen"]
    if not other or other == screen["address"] or silent_for(seen, now) > SILENT_SECONDS:
        return None
    return other


@router.post("/screens/{name}/accept", status_code=204, responses=_errors(404))
def accept_screen(name: str, who: ModeratorDep, library: LibraryDep) -> Response:
    """Vouch for a screen set up without a [screens.NAME] table: it is kept and trusted."""
    library.accept_screen(name)
    return Response(status_code=204)


@router.get(
    "/plays.csv",
    response_class=Response,
    responses={**_errors(), 200: {"content": {"text/csv": {}}}},
)
def plays_csv(who: ModeratorDep, library: LibraryDep) -> Response:
    """Proof of play for a spreadsheet: one row per day, story and screen."""
    labels = library.labels()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, as spreadsheets expect
    writer.writerow(["day", "story_id", "name", "source", "screen", "plays", "seconds"])
    counts = library.play_counts()
    for story, screen, day in sorted(counts, key=lambda k: (k[2], k[0], k[1])):
        tally = counts[story, screen, day]
        label = labels.get(story, {})
        texts = (label.get("name") or "", label.get("source") or "", screen)
        name, source, screen = (_inert(t) for t in texts)
        writer.writerow([day, story, name, source, screen, tally.plays, round(tally.seconds)])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="plays.csv"',
            "Cache-Control": "private, no-store",
        },
    )


def _inert(text: str) -> str:
    """A name from a story file, kept from running as a formula when the CSV is opened in a
    spreadsheet (OWASP "CSV injection"): a leading quote makes it text."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


# ---- users (admins only) -------------------------------------------------------------------
@router.get("/users", responses=_errors())
def users(who: AdminDep, library: LibraryDep) -> UserList:
    """Everyone who may sign in."""
    return UserList.model_validate({"users": library.users()})


@router.post("/users", status_code=201, responses=_errors(422))
def add_user(body: UserIn, who: AdminDep, auth: AuthDep) -> UserOut:
    """Add a moderator or admin."""
    name = auth.add_user(body.username, body.role, body.password, who.name)
    return UserOut(name=name, role=body.role)


@router.delete("/users/{name}", status_code=204, responses=_errors(404, 422))
def remove_user(name: str, who: AdminDep, auth: AuthDep) -> None:
    """Remove a user (not yourself, not the last admin)."""
    if name.strip().lower() == who.name:
        raise Refused("you cannot remove yourself: ask another admin")
    auth.remove_user(name, who.name)
