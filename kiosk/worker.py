"""A daemon thread that works again when woken (a library change) or when its wait runs out,
until the server stops it: the lifecycle kiosk.consent and kiosk.status_file share."""

from __future__ import annotations

import threading

from .library import Library


class Worker:
    """Subclasses give `name` and `_run`, which waits on `_wake` and ends when `_stop` is set."""

    name = "kiosk-worker"

    def __init__(self, library: Library) -> None:
        self.library = library
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.library.on_change(self._wake.set)
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        raise NotImplementedError
