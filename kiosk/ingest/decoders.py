"""The decoders behind kiosk.ingest.images, loaded when the first photo needs them.

Pillow reads every format the kiosk takes; its HEIF/AVIF plugin (pillow-heif) is registered on
first use, 7 MB an idle server need not hold. libvips (pyvips) reads big PNG, TIFF and WebP
photos a band of rows at a time and shrinks them as it reads: it is loaded after pillow-heif
(its own libheif would otherwise take pillow-heif's place and crash a later HEIC read), with no
operation cache, one thread, and none of its untrusted loaders (ImageMagick, PDF, FITS…).
Here are the libvips pipelines and the hand-over to Pillow; images.py does everything else.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from PIL import Image

log = logging.getLogger(__name__)

# MPO is what Pillow calls a JPEG with extra frames (many phones and cameras write those).
READABLE = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "TIFF", "BMP", "HEIF", "AVIF"}
# libvips' loader for each format it streams: a photo it reads as anything else is refused
VIPS_LOADERS = {"PNG": "pngload", "TIFF": "tiffload", "WEBP": "webpload"}


@functools.cache
def openers() -> list[str]:
    """Pillow's formats the kiosk reads, registering the HEIF/AVIF plugin on first use: it is
    7 MB the server need not hold before a photo arrives. (Only formats whose plugin is
    present: naming a missing one makes Image.open raise KeyError.)"""
    import pillow_heif

    pillow_heif.register_heif_opener()
    Image.init()
    return [fmt for fmt in Image.ID if fmt in READABLE]


def heif_plugin() -> Any:
    """pillow_heif, registered with Pillow."""
    openers()
    import pillow_heif

    return pillow_heif


@functools.cache
def vips() -> Any:
    """pyvips with libvips loaded, or None (then big photos are decoded whole, as Pillow does).

    Loaded on the first big photo: it maps ~35 MB of shared libraries.
    """
    # pillow-heif first: libvips loads Debian's libheif for its own HEIF loader, and a
    # pillow-heif loaded after it binds to that older library's functions and crashes
    openers()
    try:
        import pyvips
    except (ImportError, OSError) as exc:  # OSError: the Python package is there, libvips not
        log.warning(
            "libvips is missing (%s): big PNG, TIFF and WebP photos are decoded whole, up to "
            "320 MB each; install the libvips42 package",
            str(exc).splitlines()[0],
        )
        return None
    pyvips.cache_set_max(0)  # the operation cache would keep every photo's pixels alive
    pyvips.concurrency_set(1)  # ingest runs photos in parallel; one thread each is enough
    pyvips.block_untrusted_set(True)  # no ImageMagick, PDF, FITS, MAT… loader, ever
    return pyvips


def rgb_rows(pyvips: Any, pixels: Any, width: int, height: int, stride: int) -> Any:
    """A libvips image over the RGB bytes `pixels` (`stride` bytes a row), not a copy."""
    if stride == width * 3:
        return pyvips.Image.new_from_memory(pixels, width, height, 3, "uchar")
    # padded rows: read them as bytes, cut the padding, fold 3 bytes into a pixel
    rows = pyvips.Image.new_from_memory(pixels, stride, height, 1, "uchar")
    return rows.crop(0, 0, width * 3, height).bandfold(factor=3)


def shrunk(source: Any, max_px: int) -> Any:
    """A box shrink by a whole factor, then Lanczos for the rest: what libvips' thumbnail does,
    minus its colour handling (Pillow's own follows) and ~13 MB of buffers."""
    factor = max(source.width, source.height) // max_px
    if factor >= 2:
        source = source.shrink(factor, factor)
    ratio = max(source.width, source.height) / max_px
    return source.reduce(ratio, ratio) if ratio > 1 else source


def vips_fitted(pyvips: Any, fmt: str, data: bytes, max_px: int) -> Any:
    """The photo in `data` fitted inside `max_px`, as a libvips pipeline that reads it top to
    bottom. fail_on: a truncated or damaged file is refused, as Pillow refuses it, instead of
    padded with grey."""
    if fmt != "WEBP":
        source = getattr(pyvips.Image, VIPS_LOADERS[fmt] + "_buffer")(
            data, access="sequential", fail_on="error"
        )
        if not source.hasalpha():
            return shrunk(source, max_px)
    # WebP is decoded at a reduced scale by libwebp itself; alpha is premultiplied for the
    # shrink, or transparent pixels' colours would bleed into the edges
    return pyvips.Image.thumbnail_buffer(
        data, max_px, height=max_px, size="down", no_rotate=True, option_string="fail_on=error"
    )


def to_pillow(fitted: Any) -> tuple[Image.Image, bytes | None, int]:
    """A fitted libvips image as a Pillow image in a mode `_to_resizable` takes, with its ICC
    profile and EXIF orientation."""
    fields = fitted.get_fields()
    icc = fitted.get("icc-profile-data") if "icc-profile-data" in fields else None
    orientation = fitted.get("orientation") if "orientation" in fields else 1
    if fitted.bands == 1 and fitted.format in ("float", "double"):
        mode, raw = "F", "F;32NF"  # scaled to 8 bits as Pillow's own float TIFFs are
        fitted = fitted.cast("float")
    elif fitted.bands == 1 and fitted.format in ("int", "uint", "short", "char"):
        mode, raw = "I", "I;32N"
        fitted = fitted.cast("int")
    else:
        if fitted.format != "uchar" or fitted.bands > 4:
            # 16-bit RGB or grey, CMYK with alpha, extra channels: libvips knows each one's scale
            fitted = fitted.colourspace("b-w" if fitted.bands <= 2 else "srgb").cast("uchar")
            fitted = fitted[:4] if fitted.bands > 4 else fitted
        cmyk = fitted.bands == 4 and fitted.interpretation == "cmyk"
        mode = raw = {1: "L", 2: "LA", 3: "RGB", 4: "CMYK" if cmyk else "RGBA"}[fitted.bands]
    img = Image.frombuffer(
        mode, (fitted.width, fitted.height), fitted.write_to_memory(), "raw", raw, 0, 1
    )
    return img, icc, orientation if orientation in range(2, 9) else 1
