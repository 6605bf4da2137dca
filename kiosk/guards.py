"""What any client, or a web page in a colleague's browser, can make the server do.

ASGI middleware around the whole app: headers every response carries, and (set up in create_app)
the host names the server answers to.
"""

from __future__ import annotations

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
