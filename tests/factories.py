"""Make content folders, images and stand-in tools for tests: real files, made in the test."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from .support import LiveServer


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


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: a decompression bomb, minus the bytes."""
    data = bytearray(png(8, 8))
    struct.pack_into(">II", data, 16, width, height)  # IHDR: signature, length, type, then w, h
    struct.pack_into(">I", data, 29, zlib.crc32(data[12:29]))
    return bytes(data)


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(jpeg(64, 48))
    sof = data.index(b"\xff\xc0")  # baseline frame header: length, precision, height, width
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def sixteen_bit_grey(fmt: str, value: int) -> bytes:
    img = Image.new("I;16", (300, 200))
    img.putdata([value] * (300 * 200))
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


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


# ---- stories through a running server -----------------------------------------------------
def drop(
    server: LiveServer, content: Path, stem: str, name: str, color: int = 0, **fields: str
) -> dict[str, Any]:
    """A story and its photo dropped on the share, waited for until it is pending."""
    body = fields.pop("body", f"{name} keeps the line running.")
    photo = jpeg(color=(40 + color * 37 % 200, 120, 80 + color * 53 % 170))
    make_tree(content, {f"{stem}.md": story(name, body, **fields), f"{stem}.jpg": photo})
    return server.wait_status(f"{stem}.md", "pending")


def approved(server: LiveServer, content: Path, stem: str, name: str, **fields: str) -> dict:
    """Drop a story with a photo, wait for the watcher, approve it: the moderator's path."""
    make_tree(content, {f"{stem}.md": story(name, **fields), f"{stem}.jpg": jpeg(400, 500)})
    sub = server.wait_status(f"{stem}.md", "pending")
    return server.library.approve(sub["id"], "mod")


# ---- stand-ins for system tools -----------------------------------------------------------
def fake_tool(bin_dir: Path, name: str, log: Path, output: str = "", status: int = 0) -> None:
    """A stand-in for `name`: appends its arguments to `log`, prints `output`, exits `status`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / name
    script.write_text(
        f'#!/bin/sh\necho "{name} $*" >> "{log}"\n'
        + (f"printf '%s\\n' '{output}'\n" if output else "")
        + f"exit {status}\n"
    )
    script.chmod(0o755)


def calls(log: Path) -> list[str]:
    """The command lines the fake tools logged, in order."""
    return log.read_text().splitlines() if log.exists() else []
