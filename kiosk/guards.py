"""What any client, or a web page in a colleague's browser, can make the server do.

ASGI middleware around the whole app, set up in create_app: headers every response carries, the
host names the server answers to, how many event streams a client may hold open, and which
answers are compressed.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections import Counter
from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

_NOSNIFF = (b"x-content-type-options", b"nosniff")


class AdminGzip:
    """gzip for the admin page's JSON and modules, which a moderator's first screenful must
    fetch within 100 KB. Not for the screens' routes: a playlist compressed once per screen
    would cost the Pi CPU on every change, and photos do not shrink. (Starlette's middleware
    leaves event streams and images as they are.)"""

    PREFIXES = ("/api/admin/", "/admin/")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=1024, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        compress = scope["type"] == "http" and scope["path"].startswith(self.PREFIXES)
        await (self.gzip if compress else self.app)(scope, receive, send)


class NoSniff:
    """`X-Content-Type-Options: nosniff` on every response: a story photo or theme file is never
    run as a script because a browser guessed its type."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != _NOSNIFF[0]]
                message["headers"] = [*headers, _NOSNIFF]
            await send(message)

        await self.app(scope, receive, send_with_header)


def own_names() -> set[str]:
    """The names this machine answers to: localhost, its host name, full name and NAME.local."""
    short = socket.gethostname().lower()
    names = {"localhost", short, f"{short}.local", short.split(".")[0] + ".local"}
    try:
        names.add(socket.getfqdn().lower())
    except OSError:  # no resolver at all: the short names still work
        pass
    return names


class AllowedHosts:
    """Answer only requests addressed to an IP address or one of `names` (DNS rebinding guard).

    A page on evil.example that re-points its name at the kiosk sends `Host: evil.example`; a
    browser that was given an address sends the address, which no other site can claim. So IP
    addresses always pass (DHCP may change ours), names only when listed; `*` lets anything pass.
    """

    def __init__(self, app: ASGIApp, names: Iterable[str]) -> None:
        self.app = app
        self.names = {n.lower().rstrip(".") for n in names}
        self.any = "*" in self.names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.any or scope["type"] not in ("http", "websocket") or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        await PlainTextResponse("Invalid host header", status_code=400)(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if host.startswith("["):  # [::1]:8000
            host = host[1 : host.find("]")]
        elif host.count(":") == 1:
            host = host.split(":")[0]
        host = host.lower().rstrip(".")
        if not host:
            return False
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return host in self.names
        return True


class BodyLimit:
    """Refuses request bodies over `limit` bytes under `prefix` with 413: by Content-Length at
    once, or, for a chunked body, as soon as the bytes that arrived pass the limit. The admin
    API takes small JSON; without this a body was read whole into memory before it was judged.
    """

    def __init__(self, app: ASGIApp, prefix: str, limit: int) -> None:
        self.app = app
        self.prefix = prefix
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                # Raised inside the route's body read; FastAPI answers an HTTPException as is.
                raise HTTPException(413, self._message())
            return message

        await self.app(scope, counted, send)

    def _message(self) -> str:
        return f"the request body is larger than {self.limit // 1024} KB"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = JSONResponse({"detail": self._message()}, status_code=413)
        await answer(scope, receive, send)


class StreamLimit:
    """Caps the event streams (`path`) one client address, and everybody, may hold open.

    Each stream holds a connection and a file descriptor for as long as the client likes; one
    client opening thousands left none for /healthz or the screens. Beyond the caps a stream
    request is answered at once: 429 for the one address, 503 when the server is full.
    """

    def __init__(self, app: ASGIApp, path: str, per_client: int, total: int) -> None:
        self.app = app
        self.path = path
        self.per_client = per_client
        self.total = total
        self.open: Counter[str] = Counter()
        self._told: set[str] = set()  # addresses whose refusal is in the log already

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else ""
        refusal = self._refusal(client)
        if refusal:
            await PlainTextResponse(refusal[1], status_code=refusal[0])(scope, receive, send)
            return
        self.open[client] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open[client] -= 1
            if self.open[client] <= 0:
                del self.open[client]
                self._told.discard(client)

    def _refusal(self, client: str) -> tuple[int, str] | None:
        if self.open[client] >= self.per_client:
            answer = 429, f"{client} already holds {self.per_client} event streams"
        elif self.open.total() >= self.total:
            answer = 503, f"the server already holds {self.total} event streams"
        else:
            return None
        if client not in self._told:  # once per flood, not once per refused connection
            self._told.add(client)
            log.warning("refused an event stream: %s", answer[1])
        return answer
