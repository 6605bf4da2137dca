"""Face detection on ingest: what `kiosk.faces.detect_focal` adds to rendering a photo.

Detection runs on the display rendition, after render_photo; the baseline is render_photo
itself on the same 12 MP phone JPEG, measured in the same run. With a face, the first (upright)
pass finds it; without one, every tilt in faces.TILTS is tried, the worst case.

    .venv/bin/python -m bench.faces [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from bench.ingest import HEIGHT, LIMITS, WIDTH, phone_picture
from kiosk import faces
from kiosk.ingest.images import render_photo


def portrait() -> Image.Image:
    """A 12 MP picture with scikit-image's astronaut off-centre in it, about head-sized."""
    from skimage import data  # in the test extra: benches run from a test install

    picture = phone_picture()
    face = Image.fromarray(data.astronaut()).resize((1600, 1600))
    picture.paste(face, (WIDTH - 1600 - 300, (HEIGHT - 1600) // 3))
    return picture


def no_face() -> Image.Image:
    """A real photograph in which the cascade finds nothing (scikit-image's Hubble deep field:
    its coffee cup, cat and rocket all give the cascade a false face), at 12 MP."""
    from skimage import data

    sky = Image.fromarray(data.hubble_deep_field())
    return sky.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)


def run(runs: int = 7) -> list[dict[str, object]]:
    """One row per picture: render ms and detect ms (medians), and whether a face was found."""
    if faces.cv2 is None:
        return []
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        scratch = Path(tmp)
        pictures = (("astronaut", portrait()), ("Hubble deep field, no face", no_face()))
        for label, picture in pictures:
            src = scratch / f"{label.replace(' ', '-')}.jpg"
            picture.save(src, "JPEG", quality=92)
            render, detect, found = [], [], None
            for i in range(runs + 1):  # the first is a warm-up: loading the cascade
                media = scratch / f"media-{i}"
                media.mkdir()
                start = time.perf_counter()
                rendition = render_photo(src, media, **LIMITS.render_sizes())
                rendered = time.perf_counter()
                found = faces.detect_focal(media / rendition.image)
                done = time.perf_counter()
                shutil.rmtree(media)
                if i:
                    render.append((rendered - start) * 1000)
                    detect.append((done - rendered) * 1000)
            rows.append(
                {
                    "input": f"12 MP JPEG, {label}",
                    "runs": runs,
                    "render_ms": statistics.median(render),
                    "detect_ms": statistics.median(detect),
                    "found": found is not None,
                }
            )
    return rows


def table(rows: list[dict[str, object]]) -> str:
    if not rows:
        return "OpenCV (the `faces` extra) is not installed: nothing to measure."
    lines = [
        "| input | render ms (baseline) | detect ms | detect/render | face found? |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        render, detect = float(row["render_ms"]), float(row["detect_ms"])  # type: ignore[arg-type]
        lines.append(
            f"| {row['input']} | {render:.0f} | {detect:.0f} | {detect / render:.2f}× "
            f"| {'yes' if row['found'] else 'no'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per picture (median)")
    args = parser.parse_args(argv)
    print(table(run(args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
