"""Make content folders and images for tests: real files, made in the test."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw


def photo(
    width: int = 800,
    height: int = 1000,
    fmt: str = "JPEG",
    mode: str = "RGB",
    orientation: int | None = None,
    gps: bool = False,
    color: tuple[int, int, int] = (200, 120, 80),
    **save: object,
) -> bytes:
    """An image with a light 'head' in its upper third, so orientation and crops can be checked."""
    img = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(img)
    r = min(width, height) // 6
    cx, cy = width // 2, height // 3
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(250, 220, 190))
    draw.rectangle((0, 0, width // 10, height // 10), fill=(0, 0, 255))  # top-left marker
    if mode != "RGB":
        img = img.convert(mode)
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
        exif[0x010F] = "PhoneMaker"
    if len(exif) and fmt in {"JPEG", "PNG", "WEBP", "TIFF"}:
        save["exif"] = exif.tobytes()
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


def jpeg(width: int = 800, height: int = 1000, **kw: object) -> bytes:
    return photo(width, height, "JPEG", **kw)


def png(width: int = 800, height: int = 1000, **kw: object) -> bytes:
    return photo(width, height, "PNG", **kw)


def story(name: str, body: str = "Keeps the line running.", **fields: str) -> str:
    """A story file with a YAML header."""
    head = "\n".join(f"{k}: {v}" for k, v in {"name": name, **fields}.items())
    return f"---\n{head}\n---\n{body}\n"


def make_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write {relative path: text or bytes} under root; returns root."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root
