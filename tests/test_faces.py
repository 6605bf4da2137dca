"""Face-aware framing on a real photograph: scikit-image's astronaut (Eileen Collins, NASA,
public domain), moved off-centre, stored sideways with an EXIF orientation, and tilted."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image
from skimage import data

from kiosk import faces

ASTRONAUT_FACE = (223, 114)  # the face's centre in the 512 x 512 original, in pixels
AT = (450, 220)  # where the astronaut goes on the larger canvas: right of and below the middle
CANVAS = (1000, 760)


def off_centre() -> Image.Image:
    canvas = Image.new("RGB", CANVAS, (40, 40, 40))
    canvas.paste(Image.fromarray(data.astronaut()), AT)
    return canvas


def assert_frames_the_face(box: tuple[float, float, float, float] | None) -> None:
    assert box is not None
    left, top, right, bottom = box
    assert 0 <= left < right <= 1 and 0 <= top < bottom <= 1
    fx, fy = (AT[0] + ASTRONAUT_FACE[0]) / CANVAS[0], (AT[1] + ASTRONAUT_FACE[1]) / CANVAS[1]
    assert left < fx < right and top < fy < bottom  # the face is inside
    x, y = faces.focal_point(box)
    assert abs(x - fx) < 0.04 and abs(y - fy) < 0.05, (x, y, fx, fy)
    assert fy - top > 0.7 * (bottom - fy)  # headroom: more above the face's centre than a chin
    assert right - left < 0.3 and bottom - top < 0.4  # a head, not the whole picture


def test_finds_an_off_centre_face() -> None:
    assert_frames_the_face(faces.find_focal(off_centre()))


def test_a_photo_stored_sideways_is_framed_as_shown() -> None:
    """A phone's photo: pixels turned a quarter, EXIF orientation 6 says how to show it."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = BytesIO()
    off_centre().rotate(90, expand=True).save(buf, "JPEG", quality=92, exif=exif.tobytes())
    assert_frames_the_face(faces.find_focal(Image.open(buf)))


def test_a_tilted_head_is_found() -> None:
    tilted = off_centre().rotate(-15, center=(AT[0] + 223, AT[1] + 114), fillcolor=(40, 40, 40))
    box = faces.find_focal(tilted)
    assert_frames_the_face(box)


def test_no_face_and_no_opencv_give_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert faces.find_focal(Image.new("RGB", (800, 600), (120, 80, 60))) is None
    monkeypatch.setattr(faces, "cv2", None)
    assert faces.find_focal(off_centre()) is None
