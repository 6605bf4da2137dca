"""Each photo is decoded, rendered and searched for a face in a child process of its own.

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
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

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

    @contextlib.contextmanager
    def share(self, pixels: int) -> Iterator[None]:
        turn = object()
        with self._changed:
            self._queue.append(turn)
            self._changed.wait_for(lambda: self._queue[0] is turn and self._free >= pixels)
            self._queue.popleft()
            self._free -= pixels
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._free += pixels
                self._changed.notify_all()


_DECODING = _PixelBudget(PIXELS_AT_ONCE)


def start() -> None:
    """Start the forkserver (it loads the decoders' libraries) unless it runs already."""
    multiprocessing.forkserver.ensure_running()


def render_and_frame(
    photo: Path, media_dir: Path, limits: Limits
) -> tuple[Rendition, FocalPoint | None]:
    """`render_photo` and `detect_focal` of `photo`, done in a child process.

    Raises PhotoProblem for a photo that cannot be shown (a decoder crashed, memory or time ran
    out); OSError from the child (disk full, source gone) is raised here as it was there.
    """
    pixels = declared_pixels(photo) or PIXELS_AT_ONCE  # a header it cannot read: alone
    with _DECODING.share(min(max(pixels, PIXELS_AT_ONCE // 2), PIXELS_AT_ONCE)):
        receiver, sender = _CONTEXT.Pipe(duplex=False)
        # plain values: a Limits would import the whole pipeline (and the library) in each child
        args = (sender, photo, media_dir, limits.render_sizes(), limits.photo_memory_bytes)
        child = _CONTEXT.Process(target=_child, args=args, name="kiosk-photo", daemon=True)
        child.start()
        sender.close()  # the child has its own copy: EOF here once the child is gone
        try:
            if receiver.poll(DECODE_SECONDS):
                reply = receiver.recv()
            else:
                child.kill()
                took = f"{DECODE_SECONDS / 60:g} minutes" if DECODE_SECONDS >= 120 else "too long"
                reply = PhotoProblem(
                    f"{photo.name} took {took} to decode: export it again as a JPEG"
                )
        except EOFError:  # it ended without a word: killed, or crashed in a decoder
            reply = None
        finally:
            receiver.close()
            child.join()
    if reply is None:
        raise _stopped(photo.name, child.exitcode)
    if isinstance(reply, BaseException):
        raise reply
    return reply


def _child(
    reply: Connection, photo: Path, media_dir: Path, sizes: dict[str, int], memory: int
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
        rendition = render_photo(photo, media_dir, **sizes)
        # On the display rendition: small and upright, and there even when it was cached.
        answer = (rendition, detect_focal(media_dir / rendition.image))
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
    reply.close()


def _data_in_use() -> int:
    """Bytes of this process's data segment and private writable mappings (what RLIMIT_DATA
    counts)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _stopped(name: str, exitcode: int | None) -> PhotoProblem:
    how = _signal_name(-exitcode) if exitcode is not None and exitcode < 0 else f"exit {exitcode}"
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
