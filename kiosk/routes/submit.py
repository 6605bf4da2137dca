"""`/submit`: a form for staff who cannot reach the share.

It writes an ordinary story file (`Key: value` header) and its photo into the content folder, so
a story sent here takes exactly the path of a dropped one: watcher, moderation, status file.
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Set
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadData
from PIL import Image, UnidentifiedImageError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import Message

from ..assets import code_version
from ..atomic import write_atomically
from ..auth import Auth
from ..consent import consent_notice
from ..deps import AuthDep, LibraryDep, SettingsDep, WatcherDep
from ..ingest.decoders import openers
from ..model import STORY_FIELDS, TEXT_FIELDS, Kind, Status
from ..schedule import iso_utc
from ..status_file import notes
from .admin_models import one_line
from .admin_pages import PAGE_HEADERS, templates

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

COOKIE = "kiosk_submit"
FORM_MAX_AGE = 6 * 3600  # a form left open over lunch still works
STATUS_SALT = "kiosk-submit-status"  # signs the private links to a sent story's status page
SUBMIT_LIMIT = 10  # attempts per address per hour: enough for a team, too few for a script
SUBMIT_WINDOW = 3600.0
# Room above the photo and text limits for the rest of a form: the short fields, the token and
# multipart boundaries and headers. A form over its limits by less still parses, so the page can
# say which limit it broke instead of failing the request.
FORM_SLACK = 64 * 1024
# The form asks for what staff write in a story file: its text fields, the story and the photo.
FORM_FIELDS = [f for f in STORY_FIELDS if f.kind in (Kind.TEXT, Kind.BODY, Kind.PHOTO)]
EXTENSIONS = {
    "JPEG": ".jpg",
    "MPO": ".jpg",
    "PNG": ".png",
    "WEBP": ".webp",
    "GIF": ".gif",
    "TIFF": ".tif",
    "BMP": ".bmp",
    "HEIF": ".heic",
    "AVIF": ".avif",
}


class RateLimit:
    """At most `limit` events per key in any `window` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int:
        """Count an event; returns 0, or the seconds to wait when over the limit."""
        now = time.monotonic()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and now - events[0] > self.window:
                events.popleft()
            if len(events) >= self.limit:
                return int(self.window - (now - events[0])) + 1
            events.append(now)
            return 0


def _limit(request: Request) -> RateLimit:
    # Kept on the app, so every app (and every test) starts with a clean count.
    state = request.app.state
    if not hasattr(state, "submit_limit"):
        state.submit_limit = RateLimit(SUBMIT_LIMIT, SUBMIT_WINDOW)
    return state.submit_limit


def _page(
    request: Request,
    auth: Auth,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: list[str] | None = None,
) -> Response:
    """The form with a CSRF pair: a nonce in a cookie and, signed, in a hidden field. The
    browser keeps its nonce, so a form open in a second tab stays valid."""
    nonce = request.cookies.get(COOKIE) or secrets.token_urlsafe(16)
    response = templates.TemplateResponse(
        request,
        "submit.html",
        {
            "fields": FORM_FIELDS,
            "values": values or {},
            "errors": errors or [],
            "token": auth.signer("kiosk-submit").dumps(nonce),
            "version": code_version(),
        },
        status_code=status_code,
        headers=PAGE_HEADERS,
    )
    response.set_cookie(
        COOKIE, nonce, httponly=True, samesite="strict", path="/submit", max_age=FORM_MAX_AGE
    )
    return response


@router.get("/submit")
def submit_form(request: Request, auth: AuthDep) -> Response:
    """The form."""
    return _page(request, auth)


@router.get("/submit/status/{token}")
def status(
    request: Request,
    token: str,
    auth: AuthDep,
    library: LibraryDep,
    settings: SettingsDep,
    sent: bool = False,
) -> Response:
    """What happened to one story sent with the form, for whoever holds its private link (the
    people who use the form cannot read `_status.txt` on the share). `sent` thanks them first."""
    try:
        ticket = auth.signer(STATUS_SALT).loads(token)
        source, since = str(ticket["file"]), str(ticket["since"])
    except (BadData, KeyError, TypeError):
        raise HTTPException(404, "This link is not one this server gave out.") from None
    sub = library.submission_from(source, since)
    now = library.clock()
    consent = consent_notice(sub, settings.consent_terms, now) if sub else None
    context = {
        "sent": sent,
        "file": source,
        "sub": sub,
        "notes": notes(sub) if sub else [],
        "consent": consent,
        "version": code_version(),
        # Until a moderator decided, the page looks again by itself.
        "refresh": sub is None or sub["status"] == Status.PENDING,
    }
    # The link is the key to the page: it must not leak to another site through a Referer.
    headers = {**PAGE_HEADERS, "Referrer-Policy": "no-referrer"}
    return templates.TemplateResponse(request, "submit-status.html", context, headers=headers)


@router.post("/submit")
async def submit(
    request: Request,
    auth: AuthDep,
    settings: SettingsDep,
    library: LibraryDep,
    watcher: WatcherDep,
) -> Response:
    """Check the form, write photo then story into the content folder, wake the watcher."""
    address = request.client.host if request.client else "unknown"
    wait = _limit(request).hit(address)
    if wait:
        log.warning("/submit from %s refused: more than %d tries an hour", address, SUBMIT_LIMIT)
        errors = [f"Too many stories sent from this computer: try again in {wait // 60 + 1} min."]
        return _page(request, auth, 429, errors=errors)
    # The token is in the form's address, so a forged or stale post is refused before its body
    # is read: nobody can make the server spool an upload it was never going to accept.
    if not _csrf_ok(auth, request.query_params.get("token", ""), request.cookies.get(COOKIE, "")):
        errors = ["This form has expired: reload the page, then send the story again."]
        return _unread(_page(request, auth, 403, errors=errors))
    max_photo, max_text = settings.max_photo_bytes, settings.max_text_bytes
    too_big = f"The photo is larger than {settings.max_photo_mb:g} MB: send a smaller one."
    limit = max_photo + max_text + FORM_SLACK
    if int(request.headers.get("content-length") or 0) > limit:
        return _unread(_page(request, auth, 413, errors=[too_big]))
    try:
        # Parts a little over the text limit still parse, so the limit is explained, not a 400.
        form = await _counted(request, limit).form(
            max_files=1, max_fields=20, max_part_size=max_text + FORM_SLACK
        )
    except _TooLarge:  # a chunked upload (no Content-Length) that kept coming
        return _unread(_page(request, auth, 413, errors=[too_big]))
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    errors = _check_text(values, max_text)
    photo = form.get("photo")
    data = b""
    if not isinstance(photo, UploadFile) or not photo.filename:
        errors.append("Choose a photo of the person.")
    else:
        data = await photo.read(max_photo + 1)
        if len(data) > max_photo:
            errors.append(too_big)
    extension = await run_in_threadpool(_photo_extension, data) if data else None
    if data and extension is None:
        errors.append(
            "The photo could not be read as an image: send a JPEG, PNG, HEIC or WebP photo."
        )
    if errors:
        if data:
            errors.append("For safety the photo is not kept: choose it again.")
        return _page(request, auth, 422, values, errors)
    since = iso_utc(library.clock(), "milliseconds")  # before the file exists
    name = await run_in_threadpool(
        save_story,
        settings.content_dir,
        story_text(values),
        data,
        extension or ".jpg",
        library.used_names(),
    )
    log.info("/submit from %s: saved %s", address, name)
    watcher.poke()
    ticket = auth.signer(STATUS_SALT).dumps({"file": name, "since": since})
    return RedirectResponse(f"/submit/status/{ticket}?sent=1", status_code=303)


def _unread(response: Response) -> Response:
    """Close the connection after `response`: the rest of the upload is not wanted, and the
    server would otherwise read it to the end to reuse the connection."""
    response.headers["Connection"] = "close"
    return response


class _TooLarge(Exception):
    """The request body passed its limit while it was arriving."""


def _counted(request: Request, limit: int) -> Request:
    """`request` whose body stops with _TooLarge after `limit` bytes, counted as they arrive."""
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise _TooLarge
        return message

    return Request(request.scope, receive)


def _csrf_ok(auth: Auth, token: str, cookie: str) -> bool:
    try:
        nonce = auth.signer("kiosk-submit").loads(token, max_age=FORM_MAX_AGE)
    except BadData:
        return False
    return bool(cookie) and secrets.compare_digest(str(nonce), cookie)


def _check_text(values: dict[str, str], max_text: int) -> list[str]:
    errors = []
    if not one_line(values.get("name", "")):
        errors.append("Write the person's name.")
    for f in TEXT_FIELDS:
        if f.limit is not None and len(one_line(values.get(f.name, ""))) > f.limit:
            errors.append(f"The {f.label.lower()} is longer than {f.limit} characters: shorten it.")
    if len(story_text(values).encode()) > max_text:
        errors.append(f"The story is longer than {max_text // 1024} KB: shorten it.")
    return errors


def _photo_extension(data: bytes) -> str | None:
    """The file extension for the image in `data`, or None when it is not one we can show."""
    try:
        # openers(): Pillow's formats the kiosk reads, HEIC and AVIF registered on first use
        with Image.open(io.BytesIO(data), formats=openers()) as img:
            return EXTENSIONS.get(img.format or "")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return None


def story_text(values: dict[str, Any]) -> str:
    """The story file, in the plain `Key: value` header staff know from _TEMPLATE.md."""
    lines = []
    for f in TEXT_FIELDS:  # name first, as in _TEMPLATE.md
        value = one_line(str(values.get(f.name, "")))
        if value:
            lines.append(f"{f.name.capitalize()}: {value}")
    lines.append(f"Consent: {'yes' if values.get('consent') else 'no'}")
    body = str(values.get("story", "")).replace("\r\n", "\n").replace("\r", "\n").strip()
    return "\n".join(lines) + "\n\n" + (body + "\n" if body else "")


def slug(name: str) -> str:
    """`Babette Ruíz` -> `babette-ruiz`: a file name that works on every share."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-") or "story"


def save_story(
    content_dir: Path, text: str, photo: bytes, extension: str, used: Set[str] = frozenset()
) -> str:
    """Write `<slug>.<ext>` and then `<slug>.md`, each complete before it appears, never over an
    existing file; a name already in use, or `used` before, gets -2, -3 …. Returns the story
    file's name."""
    base = slug(text.split("\n", 1)[0].partition(": ")[2])
    taken = {os.path.splitext(p.name)[0].lower() for p in content_dir.iterdir()} | used
    n = 0
    while True:
        n += 1
        stem = base if n == 1 else f"{base}-{n}"
        if stem in taken:
            continue
        photo_path = content_dir / f"{stem}{extension}"
        # The photo first: the story only pairs with it once the text appears, complete.
        if not _place(photo_path, photo):
            continue
        if _place(content_dir / f"{stem}.md", text.encode()):
            return f"{stem}.md"
        photo_path.unlink()


def _place(path: Path, data: bytes) -> bool:
    """Write `path` whole, never over an existing file; False when `path` exists already."""
    try:
        write_atomically(path, data, exclusive=True)
    except FileExistsError:
        return False
    return True
