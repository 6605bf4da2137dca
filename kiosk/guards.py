"""What any client, or a web page in a colleague's browser, can make the server do.

ASGI middleware around the whole app: headers every response carries, and (set up in create_app)
the host names the server answers to.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_NOSNIFF = (b"x-content-type-options", b"nosniff")


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
