"""Face-aware framing on a real photograph: scikit-image's astronaut (Eileen Collins, NASA,
public domain), moved off-centre, stored sideways with an EXIF orientation, and tilted."""

from __future__ import annotations

import os
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from kiosk import faces
from kiosk.library import Library
from kiosk.model import FocalPoint

from .factories import jpeg, make_tree, story
from .support import REPO, LiveServer, make_settings

ASTRONAUT_FACE = (223, 114)  # the face's centre in the 512 x 512 original, in pixels
AT = (450, 220)  # where the astronaut goes on the larger canvas: right of and below the middle
CANVAS = (1000, 760)


def off_centre() -> Image.Image:
    canvas = Image.new("RGB", CANVAS, (40, 40, 40))
    canvas.paste(Image.fromarray(data.astronaut()), AT)
    return canvas


def sideways() -> bytes:
    """As a phone stores it: pixels turned a quarter, EXIF orientation 6 says how to show it."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = BytesIO()
    off_centre().rotate(90, expand=True).save(buf, "JPEG", quality=92, exif=exif.tobytes())
    return buf.getvalue()


def face_centre() -> tuple[float, float]:
    """Where the face is on the canvas as shown, in fractions."""
    return (AT[0] + ASTRONAUT_FACE[0]) / CANVAS[0], (AT[1] + ASTRONAUT_FACE[1]) / CANVAS[1]


def assert_frames_the_face(box: tuple[float, float, float, float] | None) -> None:
    assert box is not None
    left, top, right, bottom = box
    assert 0 <= left < right <= 1 and 0 <= top < bottom <= 1
    fx, fy = face_centre()
    assert left < fx < right and top < fy < bottom  # the face is inside
    x, y = faces.focal_point(box)
    assert abs(x - fx) < 0.04 and abs(y - fy) < 0.05, (x, y, fx, fy)
    assert fy - top > 0.7 * (bottom - fy)  # headroom: more above the face's centre than a chin
    assert right - left < 0.3 and bottom - top < 0.4  # a head, not the whole picture


def test_finds_an_off_centre_face() -> None:
    assert_frames_the_face(faces.find_focal(off_centre()))


def test_a_photo_stored_sideways_is_framed_as_shown() -> None:
    assert_frames_the_face(faces.find_focal(Image.open(BytesIO(sideways()))))


def test_a_tilted_head_is_found() -> None:
    tilted = off_centre().rotate(-15, center=(AT[0] + 223, AT[1] + 114), fillcolor=(40, 40, 40))
    box = faces.find_focal(tilted)
    assert_frames_the_face(box)


def test_no_face_and_no_opencv_give_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert faces.find_focal(Image.new("RGB", (800, 600), (120, 80, 60))) is None
    monkeypatch.setattr(faces, "cv2", None)
    assert faces.find_focal(off_centre()) is None


# ---- on ingest: the revision's focal point ---------------------------------------------------
def assert_on_the_face(focal: list[float]) -> None:
    fx, fy = face_centre()
    assert abs(focal[0] - fx) < 0.04 and abs(focal[1] - fy) < 0.05, (focal, (fx, fy))


@pytest.fixture
def server(tmp_path: Path) -> LiveServer:
    live = LiveServer(make_settings(tmp_path)).start()
    yield live
    live.stop()


def test_a_dropped_photo_is_framed_on_the_face_until_a_moderator_says_otherwise(
    server: LiveServer,
) -> None:
    content = server.settings.content_dir
    make_tree(content, {"collins.md": story("Eileen Collins"), "collins.jpg": sideways()})
    # Pending once the photo is rendered; framed on the face once the search ends.
    server.wait_status("collins.md", "pending")
    default = list(FocalPoint().pair())
    sub = server.wait_until(lambda: [s for s in server.submissions() if s["focal"] != default])[0]
    assert_on_the_face(sub["focal"])

    # The moderator's click wins, and a fixed typo (same photo) keeps it.
    server.library.patch(sub["id"], "mod", {"focal": [0.2, 0.25]})
    make_tree(content, {"collins.md": story("Eileen Collins", "Flew the shuttle, twice.")})
    fixed = server.wait_until(
        lambda: [s for s in server.submissions() if "twice" in s["body"]], timeout=10
    )[0]
    assert fixed["revision"] != sub["revision"]
    assert fixed["focal"] == [0.2, 0.25]

    # A new photo is a new picture: found again, here no face, so the default.
    make_tree(content, {"collins.jpg": jpeg()})
    plain = server.wait_until(
        lambda: [s for s in server.submissions() if s["image"] != fixed["image"]]
    )[0]
    assert plain["focal"] == list(FocalPoint().pair())


def test_without_opencv_ingest_keeps_the_default_focal_point(tmp_path: Path) -> None:
    """OpenCV is an optional extra: an install without it ingests photos with the default
    framing. Its absence is made real for a whole Python (the photo decoders included) by a
    `cv2` that fails to import, first on the path."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "cv2.py").write_text("raise ImportError(\"No module named 'cv2'\")\n")
    out = ingest_in_a_python_with(shim, tmp_path)
    assert "problems: []" in out
    assert "focal found: None" in out
    assert default_focal_recorded(tmp_path / "data")


def test_a_face_search_that_crashes_costs_the_photo_nothing(tmp_path: Path) -> None:
    """The face is searched for after the photo is rendered and handed over: OpenCV crashing
    on a photo (SIGSEGV in the decoding process) leaves that photo with the default framing,
    not with a problem. Made real by an OpenCV whose histogram step crashes the process."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(CRASHING_OPENCV)
    out = ingest_in_a_python_with(shim, tmp_path)
    assert "problems: []" in out
    assert "focal found: None" in out
    assert default_focal_recorded(tmp_path / "data")


CRASHING_OPENCV = """import importlib.abc, importlib.util, os, signal, sys

def crash(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGSEGV)

class CrashingOpenCV(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "cv2":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("cv2")
        run = spec.loader.exec_module
        def exec_module(module):
            run(module)
            sys.modules["cv2"].equalizeHist = crash
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, CrashingOpenCV())
"""


def ingest_in_a_python_with(shim: Path, tmp_path: Path) -> str:
    """Ingest a story whose photo has a face with `shim` first on the path of a separate
    Python (its photo decoders included); what it printed."""
    content = make_tree(
        tmp_path / "content", {"collins.md": story("E C"), "collins.jpg": sideways()}
    )
    script = """if __name__ == "__main__":
    import sys
    from pathlib import Path
    from kiosk.ingest.pipeline import Limits, prepare, record
    from kiosk.ingest.scan import Scanner
    from kiosk.library import Library
    from kiosk.settings import Settings
    content, data = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    (data / "media").mkdir(parents=True)
    limits = Limits.from_settings(Settings())
    (entry,) = Scanner(content, limits.text_bytes).scan().entries
    item = prepare(entry, limits, media_dir=data / "media", content_dir=content)
    print("problems:", item.problems, flush=True)
    assert item.rendition is not None
    print("focal found:", item.framing.result(timeout=60) if item.framing else None)
    record(Library(data / "kiosk.db"), item)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), str(REPO)])}
    done = subprocess.run(
        [sys.executable, "-c", script, str(content), str(tmp_path / "data")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def default_focal_recorded(data: Path) -> bool:
    library = Library(data / "kiosk.db")
    try:
        (sub,) = library.submissions()
        return bool(sub["focal"] == list(FocalPoint().pair()))
    finally:
        library.close()
