"""Where the face is in a photo, so the wall can frame the head instead of the photo's middle.

Uses the frontal-face Haar cascade that ships inside opencv-python-headless (nothing is
downloaded). OpenCV is optional: without it `find_focal` returns None and the kiosk keeps the
default focal point, the upper middle of the photo.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from .model import FocalPoint

_UNLOADED: Any = object()
# Imported by `opencv()`, where photos are decoded (kiosk/ingest/warm.py), never in the server.
# None: not installed, an optional extra, and framing falls back to the default.
cv2: Any = _UNLOADED
np: Any = None

DETECT_PX = 800  # faces are found on a copy this long: fast on a Raspberry Pi, still reliable
MIN_FACE = 0.06  # of the shorter side: smaller "faces" are texture (a shirt's print, leaves)
TILTS = (0, 15, -15)  # degrees: a frontal cascade misses a head leaning to one side (±25°)
HEADROOM = 0.6  # above the face, in face heights: hair, a hard hat
CHIN = 0.25  # below the face, in face heights
SIDES = 0.25  # either side, in face widths


def find_focal(image: Image.Image) -> tuple[float, float, float, float] | None:
    """The largest face with room for the head around it, as (left, top, right, bottom)
    fractions of the image as shown (EXIF orientation applied); None if no face or no OpenCV."""
    if opencv() is None:
        return None
    upright = ImageOps.exif_transpose(image)
    gray = upright.convert("L")
    gray.thumbnail((DETECT_PX, DETECT_PX))
    width, height = gray.size
    # A leaning head is looked for on a copy two thirds as long, made only once the upright
    # search found nothing: each tilt then costs half the upright search, so a photo with no
    # face (every tilt tried) is ready sooner after a drop.
    lean = 2 / 3
    searched = gray
    for tilt in TILTS:
        if tilt and searched is gray:
            size = (round(width * lean), round(height * lean))
            searched = gray.resize(size, Image.Resampling.BOX)
        face = _largest_face(classifier(), searched, tilt)
        if face is not None:
            break
    else:
        return None
    if tilt:
        face = (face[0] / lean, face[1] / lean, face[2] / lean, face[3] / lean)
    left, top, right, bottom = face
    w, h = right - left, bottom - top
    box = (left - SIDES * w, top - HEADROOM * h, right + SIDES * w, bottom + CHIN * h)
    return (
        _clamp(box[0] / width),
        _clamp(box[1] / height),
        _clamp(box[2] / width),
        _clamp(box[3] / height),
    )


def detect_focal(rendition: Path) -> FocalPoint | None:
    """The focal point of a display rendition (upright, metadata-free): the face's centre, or
    None when no face is found, OpenCV is missing or the file cannot be read."""
    if opencv() is None:
        return None
    try:
        with Image.open(rendition) as image:
            # The JPEG decoder scales by 1/2 while decoding: detection wants DETECT_PX anyway.
            image.draft("L", (DETECT_PX, DETECT_PX))
            box = find_focal(image)
    except (OSError, SyntaxError, ValueError):
        return None  # the rendition was just written; if it is gone, the default will do
    return None if box is None else FocalPoint(*focal_point(box))


def focal_point(box: tuple[float, float, float, float]) -> tuple[float, float]:
    """The centre of the face itself (not of its headroom): what the player's `focal` means."""
    left, top, right, bottom = box
    face_h = (bottom - top) / (1 + HEADROOM + CHIN)
    return ((left + right) / 2, top + (HEADROOM + 0.5) * face_h)


def _largest_face(
    cascade: Any, gray: Image.Image, tilt: float
) -> tuple[float, float, float, float] | None:
    """The largest face in `gray` turned by `tilt` degrees, in `gray`'s own coordinates."""
    pixels = np.asarray(gray)
    width, height = gray.size
    centre = (width / 2, height / 2)
    if tilt:
        turn = cv2.getRotationMatrix2D(centre, tilt, 1.0)
        pixels = cv2.warpAffine(pixels, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    smallest = max(24, int(MIN_FACE * min(width, height)))
    found = cascade.detectMultiScale(
        cv2.equalizeHist(pixels), scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest)
    )
    if len(found) == 0:
        return None
    x, y, w, h = (float(v) for v in max(found, key=lambda f: f[2] * f[3]))
    if not tilt:
        return x, y, x + w, y + h
    # Back to the unturned image: turn the face's centre back, keep its size.
    back = cv2.getRotationMatrix2D(centre, -tilt, 1.0)
    cx, cy = back @ np.array([x + w / 2, y + h / 2, 1.0])
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def opencv() -> Any:
    global cv2, np
    if cv2 is _UNLOADED:
        try:
            import cv2 as opencv
            import numpy
        except ImportError:
            cv2 = None
        else:
            cv2, np = opencv, numpy
    return cv2


@functools.cache
def classifier() -> Any:
    """The face classifier, loaded once a process (10 ms): the decoders' forkserver loads it
    (kiosk/ingest/warm.py), and each photo's decoding process, which searches one photo on one
    thread, uses its copy. (OpenCV does not promise that one classifier may search on two
    threads at once; the ~15 MB it holds after a search go with the process.)"""
    folder = cv2.data.haarcascades  # type: ignore[attr-defined]  # cv2's stubs miss cv2.data
    cascade = cv2.CascadeClassifier(folder + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        raise RuntimeError("OpenCV's bundled face cascade is missing from this installation")
    return cascade


def _clamp(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)
