"""Watch the content folder: events are hints; a pass compares the folder with the library.

A pass scans the folder (a stat per file), and for each story whose fingerprint differs from the
library's it waits until the fingerprint is the same on two checks `settle_seconds` apart, then
ingests it. Sources missing on two checks are retired, unless their content shows up under a new
name in the same pass (a rename or move keeps its submission and decision). Passes run on one
worker thread; renders run in a small pool, so one slow or bad file never holds up the others.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from ..library import Library
from ..model import FocalPoint
from ..settings import Settings
from . import isolated
from .pipeline import Limits, NotSettled, Prepared, StorageFull, prepare, record
from .scan import Scanner, is_ignored
from .story import Entry

log = logging.getLogger(__name__)

PRESENCE_SECONDS = 2.0  # how often an idle watcher checks that the folder is still there
RETRY_SECONDS = 5.0  # after a failure that is not the file's fault (disk full, DB locked)
PROGRESS_SECONDS = 5.0  # a log line this often while a big drop is ingested
SUMMARY_FROM = 20  # files settled in one pass: then the pass ends with a summary line
NETWORK_FS = {"cifs", "smb3", "smbfs", "nfs", "nfs4", "sshfs", "fuse.sshfs", "9p", "fuse"}


def filesystem_type(path: Path) -> str:
    """The type of the mount holding `path`, from /proc/mounts ("" when unknown)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return ""
    target, best, kind = str(path.resolve()), "", ""
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, parts[2]
    return kind


def choose_backend(settings: Settings) -> str:
    """`native` or `polling`; `auto` polls on network mounts, where inotify sees nothing."""
    if settings.watch != "auto":
        return settings.watch
    kind = filesystem_type(settings.content_dir)
    return "polling" if kind in NETWORK_FS or kind.startswith("fuse") else "native"


@dataclass
class PassResult:
    ingested: int = 0
    unchanged: int = 0
    waiting: int = 0
    moved: int = 0
    retired: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class Backlog:
    """How far a pass has got through the files that settled: for /healthz and the log."""

    total: int
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    _said: float = field(default_factory=time.monotonic)

    def report(self) -> None:
        """A progress line every few seconds while a big drop is worked through."""
        now = time.monotonic()
        if now - self._said >= PROGRESS_SECONDS and self.done < self.total:
            self._said = now
            log.info("ingesting: %d of %d", self.done, self.total)

    def summary(self, result: PassResult) -> None:
        if self.total >= SUMMARY_FROM:
            log.info(
                "ingested %d files in %.0f s: %d new revisions, %d moved, %d waiting, %d failed",
                self.total,
                time.monotonic() - self.started,
                result.ingested,
                result.moved,
                result.waiting,
                result.failed,
            )


def smallest_newest_first(entries: list[Entry]) -> list[Entry]:
    """Small and new files first, so one 50 MB TIFF never holds up a dozen phone photos."""

    def key(entry: Entry) -> tuple[int, float]:
        size, newest = 0, 0.0
        for path in (entry.text, entry.photo):
            try:
                st = path.stat() if path is not None else None
            except OSError:
                continue
            if st is not None:
                size, newest = size + st.st_size, max(newest, st.st_mtime)
        return size, -newest

    return sorted(entries, key=key)


class _Hint(FileSystemEventHandler):
    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        """Wake for a change a pass could find; not for reading a file, for a folder's own
        "modified" (its files' events come too), nor for names a pass ignores: the server's
        `_status.txt` and its temp file, after every decision, would cost a scan each."""
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type == "modified":
            return
        names = [event.src_path, getattr(event, "dest_path", "") or ""]
        if all(is_ignored(os.path.basename(os.fsdecode(n))) for n in names if n):
            return
        self.wake.set()


class Watcher:
    """Keeps the library in step with the content folder until stopped."""

    def __init__(self, settings: Settings, library: Library) -> None:
        self.settings = settings
        self.library = library
        self.limits = Limits.from_settings(settings)
        self.content_dir = settings.content_dir.resolve()
        self.scanner = Scanner(self.content_dir, self.limits.text_bytes)
        self.backend = choose_backend(settings)
        self.state = "stopped"
        self.error = ""
        self.storage_error = ""  # the data folder is full; said in /healthz and the log
        self.last_pass: float | None = None
        self.backlog: Backlog | None = None  # the pass under way, while it ingests
        self.passes = 0
        self._started = 0
        self._was_mount = os.path.ismount(self.content_dir)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._seen: dict[str, str] = {}  # source -> fingerprint at the previous check
        self._missing: set[str] = set()  # sources missing at the previous check
        self._pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 2))
        self._thread: threading.Thread | None = None
        self._observer: BaseObserver | None = None
        self._pass_done = threading.Condition()

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Reconcile with what changed while we were down, then follow events."""
        # The photo decoders' forkserver loads its libraries now (~1.5 s here), not when the
        # first photo after a start is waiting for it.
        threading.Thread(target=isolated.start, name="kiosk-decoders", daemon=True).start()
        self._thread = threading.Thread(target=self._run, name="kiosk-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.state = "stopped"

    def poke(self) -> None:
        """Ask for a pass now (a file was written by the server itself, e.g. /submit)."""
        self._wake.set()

    def wait_for_pass(self, timeout: float = 10.0) -> bool:
        """Block until a pass that starts after this call has finished (for tests and tools)."""
        with self._pass_done:
            target = self._started + 1  # a pass that starts after now
            self._wake.set()
            return self._pass_done.wait_for(lambda: self.passes >= target, timeout)

    def _start_observer(self) -> None:
        if self._observer is not None and self._observer.is_alive():
            return
        observer: BaseObserver
        if self.backend == "polling":
            observer = PollingObserver(timeout=self.settings.poll_seconds)
        else:
            observer = Observer()
        observer.schedule(_Hint(self._wake), str(self.content_dir), recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def _present(self) -> bool:
        """The folder is there (and still mounted, if it was a mount when we started)."""
        if self.content_dir.is_dir() and (not self._was_mount or os.path.ismount(self.content_dir)):
            return True
        self.state = "content folder missing"
        self.error = f"{self.content_dir} is missing or not mounted: check the share or disk"
        if self._observer is not None:
            self._observer.stop()  # it watches an inode that is gone; a new one starts later
            self._observer = None
        return False

    def _run(self) -> None:
        self.state = "starting"
        while not self._stop.is_set():
            with self._pass_done:
                self._started += 1
            result = PassResult(waiting=1)
            try:
                if self._present():
                    self._start_observer()
                    result = self.run_pass()
                    self.state, self.error = "running", ""
            except Exception as exc:  # the watcher must outlive any one bad pass
                log.exception("watcher pass failed")
                self.state, self.error = "error", str(exc)
            with self._pass_done:
                self.passes += 1
                self.last_pass = time.time()
                self._pass_done.notify_all()
            if result.waiting or self._missing:
                delay = self.settings.settle_seconds
            elif result.failed:
                delay = RETRY_SECONDS
            else:
                delay = self.settings.rescan_seconds
            self._sleep(delay)

    def _sleep(self, seconds: float) -> None:
        """Wait for an event or `seconds`; meanwhile notice a folder that vanishes (no event)."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._wake.wait(min(remaining, PRESENCE_SECONDS)):
                break
            if not self._present():
                break
        if not self._stop.is_set() and self._wake.is_set():
            # Let a burst of events (a folder copied in) arrive before looking.
            self._wake.clear()
            self._stop.wait(min(self.settings.settle_seconds, 0.2))
        self._wake.clear()

    # ---- one pass ----------------------------------------------------------------------
    def run_pass(self) -> PassResult:
        """Compare the folder with the library once; ingest what has settled."""
        result = PassResult()
        scan = self.scanner.scan()
        known = self.library.fingerprints()
        settled, seen = self._settle(scan.entries, known, result)
        vanished = self._vanished(scan.entries, known)
        self.storage_error = ""
        self.backlog = Backlog(len(settled))
        for item in self._prepare_all(smallest_newest_first(settled), seen, result):
            self._record(item, item.entry.source not in known, vanished, result)
            self.backlog.done += 1
            self.backlog.report()
        self._retire(vanished, result)
        self._purge()
        self._seen = seen
        self.backlog.summary(result)
        self.backlog = None
        return result

    def _settle(
        self, entries: list[Entry], known: dict[str, str], result: PassResult
    ) -> tuple[list[Entry], dict[str, str]]:
        """The changed entries whose fingerprint is the same as at the previous check, and the
        fingerprints of those still changing (to compare with at the next check)."""
        settled: list[Entry] = []
        seen: dict[str, str] = {}
        for entry in entries:
            if known.get(entry.source) == entry.fingerprint:
                result.unchanged += 1
            elif self._seen.get(entry.source) == entry.fingerprint:
                settled.append(entry)
            else:
                seen[entry.source] = entry.fingerprint
                result.waiting += 1
        return settled, seen

    def _vanished(self, entries: list[Entry], known: dict[str, str]) -> set[str]:
        """Sources the library has that were missing on this check and the previous one."""
        missing = set(known) - {e.source for e in entries}
        vanished = missing & self._missing
        self._missing = missing
        return vanished

    def _prepare_all(
        self, entries: list[Entry], seen: dict[str, str], result: PassResult
    ) -> Iterator[Prepared]:
        """Each entry prepared in the pool, yielded as soon as it is ready: one big photo never
        holds up the phone photos dropped with it."""
        grace = max(1.0, 4 * self.settings.settle_seconds)
        futures = {
            self._pool.submit(
                prepare,
                e,
                self.limits,
                media_dir=self.settings.media_dir,
                content_dir=self.content_dir,
                grace_seconds=grace,
            ): e
            for e in entries
        }
        for future in as_completed(futures):
            entry = futures[future]
            try:
                yield future.result()
            except NotSettled:
                seen[entry.source] = entry.fingerprint
                result.waiting += 1
            except StorageFull as exc:
                log.error("%s: %s", entry.source, exc.strerror)
                self.storage_error = exc.strerror or str(exc)
                result.failed += 1
            except Exception:
                log.exception("%s: could not be ingested; will retry", entry.source)
                result.failed += 1

    def _record(self, item: Prepared, new: bool, vanished: set[str], result: PassResult) -> None:
        source = item.entry.source
        try:
            if new and self._moved(item, vanished):
                log.info("%s: moved or renamed, keeps its decision", source)
                result.moved += 1
            elif (recorded := record(self.library, item)).created:
                result.ingested += 1
                if item.framing is not None:
                    framed = functools.partial(self._framed, source, recorded.revision_id)
                    item.framing.add_done_callback(framed)
            else:
                result.unchanged += 1
        except Exception:
            log.exception("%s: could not be recorded; will retry", source)
            result.failed += 1

    def _framed(self, source: str, revision_id: int, framing: Future[FocalPoint | None]) -> None:
        """The face search of a revision just recorded has ended (on its own thread)."""
        focal = framing.result()
        if focal is None:
            return
        try:
            self.library.frame(revision_id, focal)
        except Exception:  # the server stopping meanwhile: the default framing stays
            log.exception("%s: could not keep where the face is", source)

    def _moved(self, item: Prepared, vanished: set[str]) -> bool:
        """True when `item` is a vanished source's content under a new name: it takes that
        submission over (with its decision) instead of becoming a new one."""
        # A move seen as a deletion in one pass and the new name in a later one still counts.
        window = 2 * self.settings.rescan_seconds
        moved = self.library.find_moved(item.revision_hash, vanished, window)
        if moved is None:
            return False
        self.library.move(moved, item.entry.source, item.entry.fingerprint)
        return True

    def _purge(self) -> None:
        """Withdrawn stories (file deleted, no rename within the window) leave no trace but the
        audit log: their words leave the database, their photos the media folder."""
        for name in self.library.purge_withdrawn(2 * self.settings.rescan_seconds):
            try:
                (self.settings.media_dir / name).unlink(missing_ok=True)
            except OSError as exc:  # /media serves only names the library has: none can fetch it
                log.error("could not delete the withdrawn photo %s: %s", name, exc.strerror)

    def _retire(self, vanished: set[str], result: PassResult) -> None:
        for source in vanished:  # a vanished source that was moved above is no longer there
            if self.library.source_deleted(source) is not None:
                log.info("%s: file deleted, taken off the screens", source)
                result.retired += 1
