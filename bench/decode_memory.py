"""Peak memory of a real `kiosk serve` while it ingests a drop of huge-but-small photos.

A single-colour 8944×8944 PNG is 80 megapixels (just under the default `max_megapixels`) in a
quarter of a megabyte: decoded whole, it is 320 MB of pixels. The drops: four of them at once,
one alone, an 80 MP TIFF, one and two 48 MP HEICs (an iPhone's full resolution), a handful of
hostile files (the test suite's kinds), and four 12 MP JPEGs (the baseline, measured in the
same run).

Each photo is decoded in a child process (kiosk/ingest/isolated.py), so two figures are given:
the server's own peak RSS (VmHWM), against the budget of issue 14 (≤ 150 MB for any drop), and
the peak of everything the server runs, summed as PSS (shared pages counted once), sampled every
20 ms: the server, multiprocessing's forkserver and resource tracker, and the decoders. Each drop
lands on a server that has already ingested one small photo, the state every drop but the very
first meets.

    .venv/bin/python -m bench.decode_memory [--json PATH]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.server import serve, wait_http
from tests.factories import flat_png, flat_tiff, jpeg, photo, png_claiming, sixteen_bit_grey, story
from tests.support import TreeMemory, descendants, free_port, peak_rss_mb, pss_mb

SIDE = 8944  # 8944² = 79.99 MP, under the default limit of 80
BUDGET_MB = 150.0


def ingested(db: Path) -> int:
    """Submissions the server has recorded, read without the server's help."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    except sqlite3.Error:
        return 0


def drop_peak(folder: Path, photos: dict[str, bytes], timeout: float = 300) -> dict[str, float]:
    """Start a server on an empty folder, let it ingest one small JPEG story (so Pillow, OpenCV
    and a face detector are loaded, as on any server that has seen a photo), then drop
    `photos` (name -> bytes) with a story each at once; return its peak RSS when idle and
    after they are all ingested, and the seconds the drop took."""
    content, data = folder / "content", folder / "data"
    content.mkdir()
    port = free_port()
    proc = serve(content, data, port)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        idle = peak_rss_mb(proc.pid)
        (content / "warmup.jpg").write_bytes(jpeg())
        (content / "warmup.md").write_text(story("Warm Up"))
        _wait_ingested(data / "kiosk.db", 1, proc, timeout)
        idle_tree = sum(pss_mb(p) for p in [proc.pid, *descendants(proc.pid)])
        start = time.perf_counter()
        with TreeMemory(proc.pid) as tree:
            for name, data_bytes in photos.items():
                stem = Path(name).stem
                (content / name).write_bytes(data_bytes)
                (content / f"{stem}.md").write_text(story(stem.title()))
            _wait_ingested(data / "kiosk.db", len(photos) + 1, proc, timeout)
        seconds = time.perf_counter() - start
        return {
            "idle_mb": idle,
            "peak_mb": peak_rss_mb(proc.pid),
            "idle_tree_mb": idle_tree,
            "tree_peak_mb": tree.peak_mb,
            "seconds": seconds,
        }
    finally:
        proc.terminate()
        proc.wait()


def _wait_ingested(db: Path, count: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while ingested(db) < count:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise TimeoutError(f"{count} stories not ingested (server {proc.poll()})")
        time.sleep(0.05)


def huge_pngs(count: int) -> dict[str, bytes]:
    return {f"wall{i}.png": flat_png(SIDE, SIDE, (40 * i, 120, 200 - 30 * i)) for i in range(count)}


def huge_tiff() -> dict[str, bytes]:
    """An 80 MP deflate TIFF in strips, made by libvips a band at a time (never whole here)."""
    return {"scan.tif": flat_tiff(SIDE, SIDE, (180, 140, 90))}


def iphone_heics(count: int) -> dict[str, bytes]:
    """48 MP HEICs (8064×6048, an iPhone's full resolution), each a different picture (the same
    bytes twice would be decoded once: renditions are named by content)."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    photos = {}
    for i in range(count):
        img = Image.open(io.BytesIO(photo(1008, 756, "PNG", color=(40 * i, 90, 60))))
        buf = io.BytesIO()
        img.resize((8064, 6048)).save(buf, "HEIF", quality=60)
        photos[f"iphone{i}.heic"] = buf.getvalue()
    return photos


def hostile() -> dict[str, bytes]:
    """The kinds of bad file tests/test_ingest.py drops, each with a story."""
    good = jpeg()
    return {
        "corrupt.jpg": os.urandom(5000),
        "truncated.jpg": good[: len(good) // 2],
        "bomb.png": png_claiming(30000, 30000),
        "deep.png": sixteen_bit_grey("PNG", 30000),
        "cmyk.jpg": jpeg(mode="CMYK"),
        "textual.jpg": b"I am a text file",
        "cut.png": flat_png(SIDE, SIDE, (10, 20, 30))[:60_000],  # an 80 MP PNG, half copied
        "flat.gif": huge_gif(),
    }


def huge_gif() -> bytes:
    """An 80 MP GIF of one colour: 60 KB, 80 MB as a palette frame, 320 MB as RGB."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("P", (SIDE, SIDE), 1).save(buf, "GIF")
    return buf.getvalue()


def run() -> list[dict[str, object]]:
    cases = {
        "4 × 12 MP JPEG (baseline)": {
            f"phone{i}.jpg": jpeg(4032, 3024, color=(30 * i, 90, 60)) for i in range(4)
        },
        "1 × 80 MP PNG": huge_pngs(1),
        "4 × 80 MP PNG at once": huge_pngs(4),
        "1 × 80 MP TIFF (deflate)": huge_tiff(),
        "1 × 48 MP HEIC": iphone_heics(1),
        "2 × 48 MP HEIC at once": iphone_heics(2),
        "hostile files (8, one an 80 MP GIF)": hostile(),
    }
    rows: list[dict[str, object]] = []
    baseline = None
    for label, photos in cases.items():
        with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
            measured = drop_peak(Path(tmp), photos)
        baseline = baseline or measured["tree_peak_mb"]
        rows.append(
            {
                "drop": label,
                "file_kb": sum(len(b) for b in photos.values()) / 1024,
                **measured,
                "vs_baseline": measured["tree_peak_mb"] / baseline,
                "budget_met": measured["peak_mb"] <= BUDGET_MB,
            }
        )
    return rows


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| drop | files KB | server idle RSS MB | server peak RSS MB "
        f"| ≤ {BUDGET_MB:.0f} MB? | all processes idle PSS MB | all processes peak PSS MB "
        "| vs baseline | seconds |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['drop']} | {r['file_kb']:.0f} | {r['idle_mb']:.0f} | {r['peak_mb']:.0f} "
            f"| {'yes' if r['budget_met'] else '**no**'} | {r['idle_tree_mb']:.0f} "
            f"| {r['tree_peak_mb']:.0f} | {r['vs_baseline']:.2f}× | {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    rows = run()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
