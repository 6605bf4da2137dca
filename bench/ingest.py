"""Photo ingest benchmark: kiosk.ingest.images.render_photo against plain Pillow and libvips.

Budget (issue 14): a 12 MP phone JPEG -> display rendition + thumbnail takes at most 0.6 x
libvips `thumbnail` and is at least 2 x faster than plain Pillow open -> exif_transpose ->
thumbnail. The floor beside it is what no pipeline can beat with these libraries: the JPEG
decoded at 1/2 DCT scale and one encode of it. The HEIC and PNG rows are for information.

    .venv/bin/python -m bench.ingest [--runs 7] [--drop-files 50] [--json results.json]

It also runs bench/drop_latency.py (drop -> pending, native and polling watcher).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pillow_heif  # before pyvips: see kiosk.ingest.decoders.vips
from PIL import Image, ImageChops, ImageDraw, ImageOps

from kiosk.ingest.images import DISPLAY_QUALITY, THUMB_QUALITY, render_photo
from kiosk.ingest.pipeline import Limits
from kiosk.settings import Settings

try:
    import pyvips

    # Each run decodes the file anew, as a new photo would be: libvips' operation cache would
    # otherwise answer a repeated thumbnail of the same file from memory. (The kiosk turns the
    # cache off too, process-wide, with its first big photo: the baseline must not depend on
    # which row runs first.)
    pyvips.cache_set_max(0)
except (ImportError, OSError):  # OSError: the Python package is there but libvips is not
    pyvips = None

WIDTH, HEIGHT = 4032, 3024  # a 12 MP phone sensor, stored landscape
LIMITS = Limits.from_settings(Settings())  # a default install's
MAX_PX, THUMB_PX = LIMITS.display_px, LIMITS.thumb_px
MAX_VS_LIBVIPS = 0.6
MIN_VS_PILLOW = 2.0


def phone_picture(width: int = WIDTH, height: int = HEIGHT) -> Image.Image:
    """Smooth gradients, soft texture, sensor grain and a few hard edges, like a real photo.

    Flat colour would make the JPEG decode unrealistically cheap: entropy decoding scales with
    detail, and this saves at about 4 MB at quality 92, as 12 MP phone JPEGs do.
    """
    linear = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    grain = Image.effect_noise((width, height), 5)  # Gaussian around 128
    texture = Image.effect_noise((width // 8, height // 8), 60).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    mirrored = linear.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    channels = [
        linear,
        Image.blend(radial, texture, 0.25),
        Image.blend(mirrored, texture, 0.5),
    ]
    img = Image.merge("RGB", [ImageChops.add(c, grain, 1.0, -128) for c in channels])
    draw = ImageDraw.Draw(img)
    for x in range(0, width, 240):
        draw.line((x, 0, width - x, height), fill=((x * 7) % 255, 90, 200), width=2)
    draw.ellipse((width * 0.35, height * 0.1, width * 0.65, height * 0.6), fill=(230, 190, 160))
    return img


def make_inputs(folder: Path) -> dict[str, Path]:
    """The same picture as a phone would save it: JPEG and HEIC, plus a PNG export."""
    pillow_heif.register_heif_opener()
    img = phone_picture()
    exif = Image.Exif()
    exif[0x0112] = 6  # held in portrait: stored landscape, shown rotated
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    inputs = {
        "12 MP JPEG (orientation 6)": folder / "phone.jpg",
        "12 MP HEIC (orientation 6)": folder / "phone.heic",
        "12 MP PNG (orientation 6)": folder / "phone.png",
    }
    paths = iter(inputs.values())
    img.save(next(paths), "JPEG", quality=92, exif=exif.tobytes())
    img.save(next(paths), "HEIF", quality=60, exif=exif.tobytes())
    img.save(next(paths), "PNG", compress_level=6, exif=exif.tobytes())
    return inputs


def kiosk(src: Path, out: Path) -> None:
    render_photo(src, out, **LIMITS.render_sizes())


def plain_pillow(src: Path, out: Path) -> None:
    """What the obvious code does: the whole 12 MP image is decoded and rotated first."""
    with Image.open(src) as opened:
        img = ImageOps.exif_transpose(opened)
        img.thumbnail((MAX_PX, MAX_PX))
        img.save(out / "display.jpg", "JPEG", quality=DISPLAY_QUALITY)
        img.thumbnail((THUMB_PX, THUMB_PX))
        img.save(out / "thumb.jpg", "JPEG", quality=THUMB_QUALITY)


def libvips(src: Path, out: Path) -> None:
    """libvips' own fast path: shrink-on-load, autorotate, strip on save."""
    # copy_memory: otherwise the lazy pipeline decodes the source again for the thumbnail
    display = pyvips.Image.thumbnail(str(src), MAX_PX).copy_memory()
    display.write_to_file(str(out / "display.jpg"), Q=DISPLAY_QUALITY, strip=True)
    display.thumbnail_image(THUMB_PX).write_to_file(
        str(out / "thumb.jpg"), Q=THUMB_QUALITY, strip=True
    )


def floor(src: Path, out: Path) -> None:
    """The least any pipeline must do: decode at the smallest DCT scale that still covers the
    display size (JPEG only), and encode that once."""
    with Image.open(src) as img:
        scale = MAX_PX / max(img.size)
        img.draft("RGB", (round(img.width * scale), round(img.height * scale)))
        img.save(out / "display.jpg", "JPEG", quality=DISPLAY_QUALITY)


def _timed(fn: Callable[[Path, Path], None], src: Path, scratch: Path) -> float:
    """Milliseconds for one call writing into a fresh folder, so nothing is cached."""
    out = Path(tempfile.mkdtemp(dir=scratch))
    try:
        start = time.perf_counter()
        fn(src, out)
        return (time.perf_counter() - start) * 1000
    finally:
        shutil.rmtree(out)


def _measure(src: Path, scratch: Path, runs: int) -> dict[str, float | None]:
    contenders: dict[str, Callable[[Path, Path], None]] = {
        "kiosk": kiosk,
        "pillow": plain_pillow,
    }
    if pyvips is not None:
        contenders["libvips"] = libvips
    if src.suffix == ".jpg":
        contenders["floor"] = floor
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for name, fn in list(contenders.items()):
        try:
            _timed(fn, src, scratch)  # warm-up: library loading, first-call allocations
        except Exception as exc:  # e.g. a libvips build without HEIF support
            print(f"{name} cannot process {src.name}: {exc}", file=sys.stderr)
            del contenders[name]
    # Interleaved, so a noisy neighbour slows every contender alike rather than one of them.
    for _ in range(runs):
        for name, fn in contenders.items():
            times[name].append(_timed(fn, src, scratch))
    return {
        name: statistics.median(times[name]) if times.get(name) else None
        for name in ("kiosk", "pillow", "libvips", "floor")
    }


def run(runs: int = 7) -> list[dict[str, object]]:
    """Measure every input; one dict per row of the table (times are medians in ms)."""
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        scratch = Path(tmp)
        for label, src in make_inputs(scratch).items():
            ms = _measure(src, scratch, runs)
            k, p, v = ms["kiosk"], ms["pillow"], ms["libvips"]
            vs_libvips = k / v if k and v else None
            vs_pillow = p / k if k and p else None
            budget_met = None
            if src.suffix == ".jpg" and vs_libvips is not None and vs_pillow is not None:
                budget_met = vs_libvips <= MAX_VS_LIBVIPS and vs_pillow >= MIN_VS_PILLOW
            if src.suffix == ".jpg":
                ms.update({f"{k}_ms": v for k, v in isolation_cost(src, runs).items()})
            rows.append(
                {
                    "input": label,
                    "bytes": src.stat().st_size,
                    "runs": runs,
                    "kiosk_ms": k,
                    "pillow_ms": p,
                    "libvips_ms": v,
                    "floor_ms": ms["floor"],
                    "with_faces_in_process_ms": ms.get("process_ms"),
                    "with_faces_in_child_ms": ms.get("child_ms"),
                    "kiosk_vs_libvips": vs_libvips,
                    "pillow_vs_kiosk": vs_pillow,
                    "budget_met": budget_met,
                }
            )
    return rows


# Run in a Python of its own, started with -c: a child process re-runs its parent's main
# module, and this one imports libvips and more that the kiosk's children never need.
_ISOLATION = """
import json, shutil, statistics, sys, tempfile, time
from pathlib import Path
from kiosk.faces import detect_focal
from kiosk.ingest.images import render_photo
from kiosk.ingest.isolated import render_and_frame
from kiosk.ingest.pipeline import Limits
from kiosk.settings import Settings

def in_process(src, out, limits):
    rendition = render_photo(src, out, **limits.render_sizes())
    detect_focal(out / rendition.image)

def in_child(src, out, limits):
    rendition, framing = render_and_frame(src, out, limits)
    framing.result()

if __name__ == "__main__":
    src, runs, limits = Path(sys.argv[1]), int(sys.argv[2]), Limits.from_settings(Settings())
    times = {"process": [], "child": []}
    for i in range(runs + 1):  # the first: warm-up (the forkserver starts)
        for name, fn in (("process", in_process), ("child", in_child)):
            out = Path(tempfile.mkdtemp())
            start = time.perf_counter()
            fn(src, out, limits)
            if i:
                times[name].append((time.perf_counter() - start) * 1000)
            shutil.rmtree(out)
    print(json.dumps({k: statistics.median(v) for k, v in times.items()}))
"""


def isolation_cost(src: Path, runs: int) -> dict[str, float]:
    """Median ms of render + face search in this process and in a decoding child."""
    done = subprocess.run(
        [sys.executable, "-c", _ISOLATION, str(src), str(runs)],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    return json.loads(done.stdout)


def environment() -> dict[str, object]:
    import PIL

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "pillow": PIL.__version__,
        "libvips": (
            f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}" if pyvips else None
        ),
    }


def table(rows: list[dict[str, object]]) -> str:
    def ms(value: object) -> str:
        return f"{value:.0f}" if isinstance(value, float) else "n/a"

    def ratio(value: object) -> str:
        return f"{value:.2f}×" if isinstance(value, float) else "n/a"

    def verdict(row: dict[str, object]) -> str:
        met = row["budget_met"]
        if met is None:
            return "n/a" if "JPEG" in str(row["input"]) else "(info)"
        return "yes" if met else "**no**"

    lines = [
        "| input | kiosk ms | floor ms | Pillow ms | libvips ms | kiosk/libvips (≤ "
        f"{MAX_VS_LIBVIPS}×) | Pillow/kiosk speedup (≥ {MIN_VS_PILLOW}×) | budget met? |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['input']} ({int(row['bytes']) / 1e6:.1f} MB) | {ms(row['kiosk_ms'])} "
            f"| {ms(row.get('floor_ms'))} | {ms(row['pillow_ms'])} | {ms(row['libvips_ms'])} "
            f"| {ratio(row['kiosk_vs_libvips'])} | {ratio(row['pillow_vs_kiosk'])} "
            f"| {verdict(row)} |"
        )
    for row in rows:
        inside, apart = row.get("with_faces_in_process_ms"), row.get("with_faces_in_child_ms")
        if isinstance(inside, float) and isinstance(apart, float):
            lines.append(
                f"\n{row['input']}, rendered and searched for a face: {apart:.0f} ms in a "
                f"decoding child process, as the kiosk does it; {inside:.0f} ms in this process "
                f"(the child costs {apart - inside:.0f} ms)"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per input (median)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument(
        "--drop-files", type=int, default=50, help="files for drop -> pending latency (0: skip)"
    )
    args = parser.parse_args(argv)
    rows = run(args.runs)
    env = environment()
    print(
        f"median of {args.runs} runs · Python {env['python']} · Pillow {env['pillow']} · "
        f"libvips {env['libvips'] or 'n/a'} · {env['cpus']} CPUs ({env['machine']})"
    )
    print(
        f"budget (JPEG row): ≤ {MAX_VS_LIBVIPS}× libvips and ≥ {MIN_VS_PILLOW}× faster than "
        "Pillow\n"
    )
    print(table(rows))
    drop: list[dict[str, object]] = []
    if args.drop_files:
        from bench import drop_latency  # imports this module: load it only when asked

        drop = drop_latency.run(args.drop_files)
        print("\ndrop -> pending (bench/drop_latency.py)\n")
        print(drop_latency.table(drop))
    if args.json:
        result = {"environment": env, "results": rows, "drop_latency": drop}
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
