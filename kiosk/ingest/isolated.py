"""Each photo is decoded, rendered and searched for a face in a child process of its own.

The rendition is handed over as soon as it is written, so the story can be recorded while the
face is still being searched for (about a second on a Raspberry Pi 4 for a photo with no face);
where the face is follows as a Future. A face search that crashes or runs out of time costs the
photo nothing but its framing.

The decoders are C libraries (libjpeg, libpng, libheif, libvips, OpenCV) fed files from a share
anyone may write to. In a child, a file that crashes one of them, or needs more memory than a
photo may have (`photo_memory_mb`, enforced by the kernel as RLIMIT_DATA), or never finishes,
costs that photo alone: it gets a sentence that says what to do, and the server, its other
photos and its memory are untouched. Whatever a decode allocates goes back to the system when
the child exits, so the server stays at its idle size however big the drop.

Children are forked from a small server process of multiprocessing's own (the forkserver), which
loads Pillow, pillow-heif, libvips and OpenCV once, so a photo costs a fork (~10 ms), not a load
of each library (~350 ms).

How many decode at once is weighed in pixels, read from each photo's header before its child
starts: two phone photos side by side, anything bigger alone, so that a drop of big photos
never holds two of them in memory at once.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import multiprocessing
import multiprocessing.forkserver
import resource
import signal
import sys
import threading
import time
from concurrent.futures import Future
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ..faces import detect_focal
from ..model import FocalPoint
from .images import PhotoProblem, Rendition, declared_pixels, render_photo

if TYPE_CHECKING:
    from .pipeline import Limits

log = logging.getLogger(__name__)

_CONTEXT = multiprocessing.get_context("forkserver")
# What every child needs, loaded once in the forkserver (warm.py). Each child also runs its
# parent's main module again (multiprocessing's rule; it skips a `__main__.py`): for the server
# that is the `kiosk` script, which imports kiosk.cli, or kiosk.cli itself (`python -m`); for a
# benchmark hosting a server, the benchmark. With that module loaded there too, running it
# again costs each child no import.
_MAIN = getattr(sys.modules["__main__"], "__spec__", None)
_RUN_AGAIN = [_MAIN.name] if _MAIN and not _MAIN.name.endswith("__main__") else []
_CONTEXT.set_forkserver_preload(
    ["kiosk.cli", *_RUN_AGAIN, "kiosk.ingest.isolated", "kiosk.ingest.warm"]
)
# Pixels decoded at once. A photo weighs what its header declares, at least half of this (so
# never more than two decode at once, whatever the server's thread pool asks) and at most all of
# it: two photos of up to 32 MP (every phone's default) at once, anything bigger alone. A
# decoder holds up to ~5 bytes a pixel (libheif: a 48 MP HEIC whole, ~230 MB), and a drop of
# big photos must not double that on a Raspberry Pi with 1 GB.
PIXELS_AT_ONCE = 64_000_000
DECODE_SECONDS = 300  # a 48 MP HEIC takes ~10 s on a Raspberry Pi 4; a decoder stuck in a loop


class _PixelBudget:
    """Pixels handed out first come, first served: a big photo waiting for the whole budget is
    not overtaken by the small ones dropped after it."""

    def __init__(self, total: int) -> None:
        self._free = total
        self._queue: collections.deque[object] = collections.deque()
        self._changed = threading.Condition()

    def take(self, pixels: int) -> None:
        turn = object()
        with self._changed:
            self._queue.append(turn)
            self._changed.wait_for(lambda: self._queue[0] is turn and self._free >= pixels)
            self._queue.popleft()
            self._free -= pixels
            self._changed.notify_all()

    def give_back(self, pixels: int) -> None:
        with self._changed:
            self._free += pixels
            self._changed.notify_all()


_DECODING = _PixelBudget(PIXELS_AT_ONCE)


def start() -> None:
    """Start the forkserver (it loads the decoders' libraries) unless it runs already."""
    multiprocessing.forkserver.ensure_running()


def render_and_frame(
    photo: Path, media_dir: Path, limits: Limits, *, frame: bool = True
) -> tuple[Rendition, Future[FocalPoint | None] | None]:
    """`render_photo` of `photo` in a child process, which then (if `frame`) looks for the face
    on the rendition: the Future gives `detect_focal`'s answer, or None if that search crashed
    or ran out of time.

    Raises PhotoProblem for a photo that cannot be shown (a decoder crashed, memory or time ran
    out); OSError from the child (disk full, source gone) is raised here as it was there.
    """
    pixels = declared_pixels(photo) or PIXELS_AT_ONCE  # a header it cannot read: alone
    share = min(max(pixels, PIXELS_AT_ONCE // 2), PIXELS_AT_ONCE)
    _DECODING.take(share)
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    # plain values: a Limits would import the whole pipeline (and the library) in each child
    args = (sender, photo, media_dir, limits.render_sizes(), limits.photo_memory_bytes, frame)
    child = _CONTEXT.Process(target=_child, args=args, name="kiosk-photo", daemon=True)
    deadline = time.monotonic() + DECODE_SECONDS
    try:
        try:
            child.start()
        finally:
            sender.close()  # the child has its own copy: EOF here once the child is gone
        reply = _answer(receiver, child, deadline)
    except BaseException:
        _finish(child, receiver, share)
        raise
    if not isinstance(reply, Rendition):
        _finish(child, receiver, share)
        if reply is _STOPPED:
            raise _stopped(photo.name, child.exitcode)
        if reply is _TIMED_OUT:
            took = f"{DECODE_SECONDS / 60:g} minutes" if DECODE_SECONDS >= 120 else "too long"
            raise PhotoProblem(f"{photo.name} took {took} to decode: export it again as a JPEG")
        raise cast(BaseException, reply)
    if not frame:
        _finish(child, receiver, share)
        return reply, None
    focal: Future[FocalPoint | None] = Future()
    # A daemon: a server that stops, or `kiosk check` (which needs no framing), does not wait
    # for face searches; multiprocessing ends their processes as it exits.
    waiting = (photo, child, receiver, deadline, share, focal)
    threading.Thread(target=_frame, args=waiting, name="kiosk-framing", daemon=True).start()
    return reply, focal


# What `_answer` gives instead of a message: the child ended without one (killed, or crashed in a
# decoder), or the deadline passed first (and it has been killed).
_STOPPED, _TIMED_OUT = object(), object()


def _answer(receiver: Connection, child: BaseProcess, deadline: float) -> object:
    """The child's next message, or _STOPPED, or _TIMED_OUT."""
    try:
        if receiver.poll(max(0.0, deadline - time.monotonic())):
            return receiver.recv()
    except EOFError:
        return _STOPPED
    child.kill()
    return _TIMED_OUT


def _frame(
    photo: Path,
    child: BaseProcess,
    receiver: Connection,
    deadline: float,
    share: int,
    focal: Future[FocalPoint | None],
) -> None:
    """Wait for the face search's answer, then let the next photo be decoded."""
    try:
        answer = _answer(receiver, child, deadline)
    finally:
        _finish(child, receiver, share)
    if answer is _STOPPED or answer is _TIMED_OUT:
        how = _how(child.exitcode) if answer is _STOPPED else "out of time"
        log.warning("the face search in %s stopped (%s): framed by default", photo.name, how)
        answer = None
    focal.set_result(cast(FocalPoint | None, answer))


def _finish(child: BaseProcess, receiver: Connection, share: int) -> None:
    receiver.close()
    if child.pid is not None:  # it was started
        child.join()
    _DECODING.give_back(share)


def _child(
    reply: Connection,
    photo: Path,
    media_dir: Path,
    sizes: dict[str, int],
    memory: int,
    frame: bool,
) -> None:
    # On top of what the child already holds: the libraries' own reservations (OpenBLAS', for
    # one) count as data before a pixel is decoded, and vary with the machine.
    limit = _data_in_use() + memory
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    # If memory runs out all the same (the Pi's, or the service's MemoryMax), the kernel kills
    # a decoder before the server or the screen's Chromium.
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text("1000")
    answer: object
    try:
        answer = render_photo(photo, media_dir, **sizes)
    except MemoryError:
        answer = PhotoProblem(
            f"{photo.name} needs more than {memory // 2**20} MB of memory to decode: export it "
            "again as a JPEG of at most 24 megapixels"
        )
    except (PhotoProblem, OSError) as exc:
        answer = exc
    except Exception as exc:  # a bug of ours: the server logs it as it would its own
        answer = RuntimeError(f"rendering {photo.name} failed: {type(exc).__name__}: {exc}")
    reply.send(answer)
    if frame and isinstance(answer, Rendition):
        # On the display rendition: small and upright, and there even when it was cached.
        reply.send(detect_focal(media_dir / answer.image))
    reply.close()


def _data_in_use() -> int:
    """Bytes of this process's data segment and private writable mappings (what RLIMIT_DATA
    counts)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return _signal_name(-exitcode)
    return f"exit {exitcode}"


def _stopped(name: str, exitcode: int | None) -> PhotoProblem:
    how = _how(exitcode)
    log.warning("the decoder of %s stopped (%s)", name, how)
    return PhotoProblem(
        f"{name} stopped the photo decoder ({how}): the file may be damaged, or need more memory "
        "than this device has. Export it again as a JPEG"
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
