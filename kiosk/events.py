"""Server-Sent Events: tell every connected screen when its playlist version changes.

One asyncio queue per connected screen. The library reports changes from any thread; they wake
one loop on the event loop, which builds the playlist once per distinct screen name (not once
per connection) in a worker thread and offers the version to the queues of that name. The same
loop also wakes at the next known boundary (a start or end date, quiet hours) and every
`tick_seconds`, so time passing pushes events without any file event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from .library import Library
from .playlist import Playlists, profile
from .schedule import utcnow
from .settings import Settings

log = logging.getLogger(__name__)

RETRY_MS = 2000  # how soon a disconnected browser retries, sent with the first event
# How often the loop wakes with no change to report, and the SSE stream pings: a stream quiet
# for longer may be cut by a proxy, and a missed time boundary is caught this late at worst.
TICK_SECONDS = 15


class _Client:
    """One connected screen. Only its newest version matters, so the queue holds one item."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict | None] = asyncio.Queue(maxsize=1)
        self.sent: str | None = None

    def offer(self, message: dict | None) -> None:
        if message is not None and message["version"] == self.sent:
            return
        with contextlib.suppress(asyncio.QueueEmpty):
            self.queue.get_nowait()  # a version it has not fetched yet is already stale
        self.queue.put_nowait(message)


class Broadcaster:
    def __init__(
        self,
        settings: Settings,
        library: Library,
        playlists: Playlists,
        clock: Callable[[], datetime] = utcnow,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self.settings = settings
        self.library = library
        self.playlists = playlists
        self.clock = clock
        self.tick_seconds = tick_seconds
        self._clients: dict[str, set[_Client]] = {}
        self._latest: dict[tuple, dict] = {}  # screen profile -> newest playlist message
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        library.on_change(self._changed)

    @property
    def connected(self) -> int:
        return sum(len(c) for c in self._clients.values())

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="kiosk-events")

    async def stop(self) -> None:
        task, self._task, self._loop = self._task, None, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for clients in self._clients.values():
            for client in clients:
                client.offer(None)  # ends the stream

    def _changed(self) -> None:
        """Called by the library from any thread."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed while we were called
            loop.call_soon_threadsafe(wake.set)

    async def _run(self) -> None:
        wake = self._wake
        assert wake is not None, "start() makes the event before it starts this task"
        next_change: datetime | None = None
        while True:
            timeout = self.tick_seconds
            if next_change is not None:
                # a hair late rather than early, so the boundary has passed when we rebuild
                until = (next_change - self.clock()).total_seconds() + 0.05
                timeout = min(timeout, max(until, 0.0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)
            wake.clear()
            try:
                next_change = await self._publish()
            except Exception:  # a failed build must not end live updates for good
                log.exception("could not rebuild playlists")
                next_change = None

    async def _publish(self) -> datetime | None:
        names = [name for name, clients in self._clients.items() if clients]
        if not names:
            return None
        playlists = await self._build(names)
        for name, message in playlists.items():
            for client in self._clients.get(name, ()):
                client.offer(message)
        changes = [p["next_change"] for p in playlists.values() if p["next_change"]]
        return min(map(datetime.fromisoformat, changes), default=None)

    async def _build(self, names: list[str]) -> dict[str, dict]:
        now = self.clock()
        playlists = await asyncio.to_thread(
            lambda: {name: self.playlists.get(name, now)[0] for name in names}
        )
        messages = {
            name: {"version": p["version"], "code": p["code"], "next_change": p["next_change"]}
            for name, p in playlists.items()
        }
        for name, message in messages.items():
            if name in self._clients:
                self._latest[profile(self.settings, name)] = message
        return messages

    async def stream(self, screen: str) -> AsyncIterator[dict]:
        """The SSE events for one connection: the current version at once, then every change."""
        client = _Client()
        key = profile(self.settings, screen)
        self._clients.setdefault(screen, set()).add(client)
        try:
            first = self._latest.get(key)
            if first is None:
                first = (await self._build([screen]))[screen]
                # The loop learns this profile's next boundary only when it publishes.
                if self._wake is not None:
                    self._wake.set()
            client.offer(first)
            retry: int | None = RETRY_MS
            while (message := await client.queue.get()) is not None:
                client.sent = message["version"]
                data = {"version": message["version"], "code": message["code"]}
                yield {"event": "playlist", "data": json.dumps(data), "retry": retry}
                retry = None
        finally:
            clients = self._clients.get(screen, set())
            clients.discard(client)
            if not clients:
                self._clients.pop(screen, None)
                if not any(profile(self.settings, n) == key for n in self._clients):
                    self._latest.pop(key, None)  # nobody keeps it fresh any more


def get_broadcaster(request: Request) -> Broadcaster:
    return request.app.state.events


BroadcasterDep = Annotated[Broadcaster, Depends(get_broadcaster)]


class LibraryFeed:
    """Tells open admin pages that the library changed, so they fetch instead of polling.

    One listener on the library wakes an asyncio.Event per connection on the event loop. A
    burst of changes (a drop of 1,000 files) reaches a page as one `changed` per `gap_seconds`:
    the page fetches a page of fifty, not fifty pages.
    """

    def __init__(self, library: Library, gap_seconds: float = 0.5) -> None:
        self.library = library
        self.gap_seconds = gap_seconds
        self._waiting: set[asyncio.Event] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        library.on_change(self._changed)

    def _changed(self) -> None:
        """Called by the library from any thread."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed while we were called
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for event in self._waiting:
            event.set()

    def stop(self) -> None:
        """End every stream (the server is shutting down)."""
        self._closed = True
        self._wake()

    async def stream(self, signed_in: Callable[[], bool]) -> AsyncIterator[dict]:
        """`changed` with the generation at once, then after each change; the stream ends when
        `signed_in()` (asked every tick, off the loop) says the session has ended."""
        self._loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        self._waiting.add(wake)
        try:
            sent: int | None = None
            retry: int | None = RETRY_MS
            while not self._closed:
                if self.library.generation != sent:
                    sent = self.library.generation
                    data = json.dumps({"generation": sent})
                    yield {"event": "changed", "data": data, "retry": retry}
                    retry = None
                    await asyncio.sleep(self.gap_seconds)  # what follows closely comes as one
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), TICK_SECONDS)
                except TimeoutError:
                    if not await asyncio.to_thread(signed_in):
                        return
                wake.clear()
        finally:
            self._waiting.discard(wake)


def get_library_feed(request: Request) -> LibraryFeed:
    return request.app.state.library_feed


LibraryFeedDep = Annotated[LibraryFeed, Depends(get_library_feed)]
