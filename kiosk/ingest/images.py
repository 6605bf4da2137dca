"""Photos -> renditions: load, orient, strip every bit of metadata, fit, write under a content hash.

`render_photo` runs in a decoding child process (kiosk/ingest/isolated.py), one photo per child:
what it allocates goes back to the system when the child exits, and the child's memory limit
bounds it. Nothing here touches process-wide state (no warning filters, no
`Image.MAX_IMAGE_PIXELS`, no `LOAD_TRUNCATED_IMAGES`) but libvips' settings, once, on first use.

Memory: Pillow holds 4 bytes per decoded pixel, however small the file (an 80 MP PNG of one
colour is a quarter of a megabyte and 320 MB decoded). JPEG is decoded smaller than it is stored
(`draft()` scales the IDCT by 1/2, 1/4, 1/8). Pillow's other decoders always produce the full
frame, so big PNG, TIFF and WebP photos go through libvips instead, which reads them a band of
rows at a time and shrinks as it reads (WebP even while decoding): an 80 MP PNG costs ~25 MB
instead of 320. A big HEIC is decoded whole by libheif and shrunk in that buffer; a big palette
or 1-bit frame is converted band by band.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

from PIL import Image, ImageCms

from ..atomic import write_atomically
from ..errors import KioskError
from . import isobmff
from .decoders import (
    VIPS_LOADERS,
    heif_plugin,
    openers,
    rgb_rows,
    shrunk,
    to_pillow,
    vips,
    vips_fitted,
)

# Formats libvips reads in bands of rows (and WebP at a reduced scale): photos with more pixels
# than STREAMED_OVER go through it. Below that Pillow is as fast and a whole frame is small.
_STREAMED = {"PNG", "TIFF", "WEBP"}
STREAMED_OVER = 4_000_000
DISPLAY_QUALITY = 85
THUMB_QUALITY = 80
# Bicubic from a draft-scaled JPEG looks like Lanczos at this size and costs 30 % less; the
# reducing gap lets Image.reduce do the cheap box-filter part of big shrinks (Pillow's docs:
# >= 3 is indistinguishable from a fair resample).
_RESAMPLE = Image.Resampling.BICUBIC
_REDUCING_GAP = 3.0
# A thumbnail is a sixth of the rendition's size and seen small on the admin page: a box-filter
# reduce does nearly all of it (1920 -> 320 px: 6 ms, against 22 for a fair bicubic).
_THUMB_REDUCING_GAP = 1.0
_SMALL_STEP = 1.5  # a reduction by less than this needs no sharper filter than an area average

_ORIENTATION_TAG = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# What decoders say about a well-formed file they lack support for (a BMP bitfields layout, a
# TIFF compression, a HEIF codec); truncated and garbled files get other words.
_UNSUPPORTED_RE = re.compile(
    r"unsupported|not supported|not available|no decoding plugin",
    re.IGNORECASE,
)
# What libvips, libheif and C++ say when an allocation fails (the decoding child's memory limit)
_OUT_OF_MEMORY_RE = re.compile(r"out of memory|memory allocation|bad_alloc", re.IGNORECASE)
# Formats whose header Pillow reads in Python (its plugins in Image.preinit), and how much of a
# file is read for it (a JPEG's EXIF, a PNG's text chunks come first)
_PLAIN_HEADERS = ("JPEG", "PNG", "GIF", "BMP")
_HEADER_BYTES = 512 * 1024
_SIXTEEN_BIT = {"I", "I;16", "I;16L", "I;16B", "I;16N"}
# Modes a big frame is converted and reduced in bands of rows (`_resizable_reduced`)
_BANDED = {"P", "PA", "1"}
_BAND_ROWS = 64  # output rows per band
# Modes that resize and then convert to RGB correctly; everything else is converted first.
_RESIZABLE = {"RGB", "L", "RGBA", "LA", "CMYK"}
# Modes whose transparency may be a colour key (info["transparency"]) rather than a channel
_KEYABLE = {"1", "L", "RGB"} | _SIXTEEN_BIT
_WHITE = (255, 255, 255)
# sRGB's red, green and blue as CIE XYZ, adapted to D50 as ICC profiles store them
_SRGB_COLORANTS = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))


@dataclass(frozen=True)
class Rendition:
    photo_hash: str  # sha256 hex of the source file's bytes
    image: str  # file name of the display rendition inside media_dir
    thumbnail: str  # file name of the admin thumbnail inside media_dir
    width: int  # of the display rendition
    height: int


class PhotoProblem(KioskError):
    """The photo cannot be shown; str(exc) is a sentence a person can act on, naming the file."""

    status = 422


def rendition_names(photo_hash: str, max_px: int, thumb_px: int) -> tuple[str, str]:
    """File names of the display rendition and the thumbnail: same photo and sizes, same names."""
    stem = photo_hash[:32]
    return f"{stem}-{max_px}.jpg", f"{stem}-t{thumb_px}.jpg"


def render_photo(
    path: Path,
    media_dir: Path,
    *,
    max_px: int,
    thumb_px: int,
    max_bytes: int,
    max_pixels: int,
) -> Rendition:
    """Write the display rendition and thumbnail of the photo at `path` into `media_dir`.

    Renditions that already exist are reused without decoding anything. Raises PhotoProblem when
    the photo itself cannot be shown; OSError (source vanished, disk full) propagates.
    """
    data = _read(path, max_bytes)
    photo_hash = hashlib.sha256(data).hexdigest()
    image_name, thumb_name = rendition_names(photo_hash, max_px, thumb_px)
    cached = _cached(media_dir, photo_hash, image_name, thumb_name)
    if cached:
        return cached
    display = _decoded(path.name, data, max_px, max_pixels)
    thumbnail = _shrink(display, thumb_px, reducing_gap=_THUMB_REDUCING_GAP)
    _write_jpeg(display, media_dir / image_name, DISPLAY_QUALITY)
    _write_jpeg(thumbnail, media_dir / thumb_name, THUMB_QUALITY)
    return Rendition(photo_hash, image_name, thumb_name, *display.size)


def _read(path: Path, max_bytes: int) -> bytes:
    name = path.name
    try:
        # stat first so a 4 GB video named .jpg is refused without reading it
        size = os.stat(path).st_size
        if size > max_bytes:
            raise _too_many_bytes(name, size, max_bytes)
        with open(path, "rb") as f:
            # read(n) allocates n bytes up front, so ask for what stat saw, then for any
            # growth (a copy still in progress) up to the limit
            data = f.read(size + 1)
            if len(data) > size:
                data += f.read(max_bytes + 1 - len(data))
    except PermissionError as exc:
        raise PhotoProblem(
            f"{name} cannot be read (permission denied): copy it again or ask whoever shared "
            "it to let everyone read it"
        ) from exc
    if len(data) > max_bytes:
        raise _too_many_bytes(name, len(data), max_bytes)
    if not data:
        raise PhotoProblem(
            f"{name} is empty (maybe it is still being copied): wait for the copy to finish "
            "or copy it again"
        )
    return data


def _too_many_bytes(name: str, size: int, max_bytes: int) -> PhotoProblem:
    return PhotoProblem(
        f"{name} is {_megabytes(size, math.ceil)} MB; the limit is "
        f"{_megabytes(max_bytes, math.floor)} MB — export a smaller JPEG"
    )


def _megabytes(size: int, rounding: Callable[[float], int]) -> str:
    # the file rounds up and the limit down, so it never reads "is 50 MB; under 50 MB"
    places = 0 if size >= 10 * 1024 * 1024 else 1
    return _number(rounding(size / 1024 / 1024 * 10**places) / 10**places)


def _number(value: float) -> str:
    """`20480` -> "20,480", `0.5` -> "0.5": never "2e+04"."""
    return f"{round(value):,}" if value == round(value) else f"{value:,}"


def _cached(media_dir: Path, photo_hash: str, image_name: str, thumb_name: str) -> Rendition | None:
    """The existing renditions, if both are there and the display one has a readable header."""
    image, thumb = media_dir / image_name, media_dir / thumb_name
    try:
        if thumb.stat().st_size == 0:
            return None
        with Image.open(image) as existing:  # reads the header only
            width, height = existing.size
    except (OSError, SyntaxError, ValueError):
        return None  # missing or damaged: render again and replace it
    return Rendition(photo_hash, image_name, thumb_name, width, height)


def _decoded(name: str, data: bytes, max_px: int, max_pixels: int) -> Image.Image:
    """Upright 8-bit sRGB RGB pixels whose long side is at most `max_px`, and nothing else."""
    img = _open(name, data, max_pixels)
    width, height = img.size
    if img.format in _STREAMED and width * height > STREAMED_OVER and vips():
        return _stream_fitted(name, img, data, max_px)  # a band of rows, never the whole frame
    if img.format == "HEIF" and img.mode == "RGB" and width * height > STREAMED_OVER and vips():
        # decoded whole by libheif (3 bytes a pixel), shrunk by libvips from that memory:
        # never also copied into Pillow's 4 bytes a pixel
        return _heif_fitted(name, img, data, max_px)
    try:
        if img.format in ("JPEG", "MPO") and max(img.size) > max_px:
            # The IDCT scales by 1/2, 1/4 or 1/8 while decoding; Pillow picks the smallest that
            # still covers the target. The long side is the same before and after rotation,
            # so the target needs no swapping for EXIF orientation.
            img.draft("RGB", _fit(img.size, max_px))
    except Exception as exc:  # decoders raise anything from OSError to struct.error on bad data
        raise _decode_failed(name, img.format, exc) from exc
    return _decode_fitted(name, img, data, max_px)


def _decode_fitted(name: str, img: Image.Image, data: bytes, max_px: int) -> Image.Image:
    """`_decoded` by Pillow: the whole frame (of a JPEG, its draft), then shrunk."""
    try:
        img.load()
        if img.format == "AVIF":
            img = _clean_aperture(img, data)
        icc = img.info.get("icc_profile")
        orientation = _orientation(img)
        img = _resizable_reduced(img, max_px)  # an exotic mode (LAB TIFF) may have none
    except Exception as exc:
        raise _decode_failed(name, img.format, exc) from exc
    img = _shrink(img, max_px)  # the full-size pixels are freed here
    img = _to_srgb(img, icc)
    img = _orient(img, orientation)
    img.info.clear()  # nothing read from the source may reach a rendition
    return img


def _stream_fitted(name: str, header: Image.Image, data: bytes, max_px: int) -> Image.Image:
    """`_decoded` by libvips: it reads a band of rows at a time and shrinks as it reads."""
    pyvips = vips()
    fmt = header.format or ""
    try:
        fitted = vips_fitted(pyvips, fmt, data, max_px)
        if not fitted.get("vips-loader").startswith(VIPS_LOADERS[fmt]):
            raise _unreadable(name)  # libvips sees another format in the bytes than Pillow
        img, icc, orientation = to_pillow(fitted)
    except pyvips.Error as exc:
        raise _decode_failed(name, fmt, exc) from exc
    img = _to_resizable(img)  # float and 32-bit grey TIFFs come out as they are stored
    img = _to_srgb(img, icc)
    img = _orient(img, orientation)
    img.info.clear()
    return img


def _heif_fitted(name: str, header: Image.Image, data: bytes, max_px: int) -> Image.Image:
    """`_decoded` of a big HEIC: libheif decodes it whole (no version here decodes a tile at a
    time), libvips shrinks that buffer in place. Orientation and profile as Pillow reads them."""
    pyvips = vips()
    try:
        heif = heif_plugin().open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        pixels, (width, height), stride = heif.data, heif.size, heif.stride
        if heif.mode != "RGB":
            raise ValueError(f"unexpected {heif.mode} picture in a file whose header says RGB")
        source = rgb_rows(pyvips, pixels, width, height, stride)
        img, _, _ = to_pillow(shrunk(source, max_px))
    except Exception as exc:  # libheif and libvips raise anything on bad data
        raise _decode_failed(name, "HEIF", exc) from exc
    img = _to_srgb(img, header.info.get("icc_profile"))
    img = _orient(img, _orientation(header))
    img.info.clear()
    return img


def _open(name: str, data: bytes, max_pixels: int) -> Image.Image:
    """Identify the format and read the header, refusing decompression bombs before decoding."""
    try:
        img = Image.open(io.BytesIO(data), formats=openers())
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(name, _header_size(data), max_pixels) from exc
    except Exception as exc:
        # libavif refuses pictures over 16384×16384 as if they were damaged: say the size
        declared = isobmff.declared_size(data)
        if declared and declared[0] * declared[1] > max_pixels:
            raise _too_many_pixels(name, declared, max_pixels) from exc
        # Image.open only says "cannot identify": ask the plugin the signature points at why
        raise _unreadable(name, _unsupported_variant(data)) from exc
    width, height = img.size
    if width * height > max_pixels:
        raise _too_many_pixels(name, img.size, max_pixels)
    if width < 1 or height < 1:
        raise _unreadable(name)
    return img


def _unsupported_variant(data: bytes) -> str | None:
    """The format of a file its decoder refuses as a variant it lacks (not as damaged), if so."""
    for fmt in openers():
        factory, accept = Image.OPEN[fmt]
        if not accept or not accept(data[:16]):
            continue
        try:
            if fmt == "HEIF":
                # a container libheif reads whole but with no picture in a codec it can decode
                # (H.266, JPEG 2000 in HEIF): pillow-heif lists no images and says nothing more
                if len(heif_plugin().open_heif(io.BytesIO(data))) == 0:
                    return fmt
            factory(io.BytesIO(data), "").close()
        except Exception as exc:
            return fmt if _says_unsupported(exc) else None
        return None
    return None


def _says_unsupported(exc: Exception) -> bool:
    return bool(_UNSUPPORTED_RE.search(str(exc)))


def _decode_failed(name: str, fmt: str | None, exc: Exception) -> Exception:
    """What a decoder's failure means: memory ran out (the caller says how much the photo may
    have), a kind of `fmt` it lacks, or a damaged file."""
    if isinstance(exc, MemoryError) or _OUT_OF_MEMORY_RE.search(str(exc)):
        return MemoryError(str(exc))
    return _unreadable(name, fmt if _says_unsupported(exc) else None)


def _clean_aperture(img: Image.Image, data: bytes) -> Image.Image:
    """`img` cropped to the AVIF's clean aperture (`clap`), which phones write to crop without
    re-encoding: libheif applies it to HEIF, Pillow's AVIF decoder ignores it. It comes before
    any rotation, as the EXIF orientation Pillow derives from `irot`/`imir` does here."""
    try:
        clap = isobmff.primary_clap(data)
    except (struct.error, IndexError, KeyError, ValueError):
        return img  # a container the decoder read but we cannot: show the whole picture
    if clap is None:
        return img
    w_n, w_d, h_n, h_d, x_n, x_d, y_n, y_d = clap
    if not (w_d and h_d and x_d and y_d):
        return img
    width, height = img.size
    crop_w, crop_h = Fraction(w_n, w_d), Fraction(h_n, h_d)
    # the offsets move the aperture's centre away from the picture's
    left = Fraction(x_n, x_d) + (width - crop_w) / 2
    top = Fraction(y_n, y_d) + (height - crop_h) / 2
    box = (math.floor(left), math.floor(top), math.floor(left + crop_w), math.floor(top + crop_h))
    if box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height or box[:2] >= box[2:]:
        return img  # an aperture outside the picture: better uncropped than refused
    return img.crop(box)


def declared_pixels(path: Path) -> int | None:
    """The pixels `path` says it has, from its first bytes, without a decoder: HEIF and AVIF
    from the container, JPEG, PNG, GIF and BMP by Pillow's own Python. None for anything else,
    or a header that is not among the first HEADER_BYTES. Safe in the server: nothing here
    decodes a pixel or runs C code on the file."""
    try:
        with path.open("rb") as f:
            head = f.read(_HEADER_BYTES)
        size = isobmff.declared_size(head)
        if size is None:
            with Image.open(io.BytesIO(head), formats=_PLAIN_HEADERS) as img:
                size = img.size
    except Exception:  # anything the header says wrong: the decoder will say what to fix
        return None
    return size[0] * size[1]


def _header_size(data: bytes) -> tuple[int, int] | None:
    """The size Image.open refused to hand over: ask the format plugins directly (header only)."""
    for fmt in openers():
        factory, accept = Image.OPEN[fmt]
        if accept and not accept(data[:16]):
            continue
        try:
            return factory(io.BytesIO(data), "").size
        except Exception:
            continue
    return None


def _too_many_pixels(name: str, size: tuple[int, int] | None, max_pixels: int) -> PhotoProblem:
    limit = f"the limit is {_megapixels(max_pixels)} megapixels — resize it"
    if size is None:
        return PhotoProblem(f"{name} has far too many pixels; {limit}")
    width, height = size
    return PhotoProblem(
        f"{name} is {width:,}×{height:,} pixels ({_megapixels(width * height)} megapixels); {limit}"
    )


def _megapixels(pixels: int) -> str:
    value = pixels / 1e6
    return _number(round(value) if value >= 10 else round(value, 1))


def _unreadable(name: str, variant_of: str | None = None) -> PhotoProblem:
    """A damaged file, or a well-formed kind of `variant_of` that the decoder lacks: copying
    that one again would not help, saving it in another format does."""
    if variant_of:
        kind = "JPEG" if variant_of == "MPO" else variant_of
        return PhotoProblem(
            f"{name} is a kind of {kind} the kiosk cannot read: save the photo as JPEG"
        )
    return PhotoProblem(
        f"{name} is not a photo Hallway Kiosk can read (it may be damaged or only partly "
        "copied): save it again as JPEG or PNG"
    )


def _orientation(img: Image.Image) -> int:
    try:
        # getexif() also reads an XMP tiff:Orientation, as exif_transpose does
        value = img.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a mangled EXIF block should not cost the photo
        return 1
    return value if value in _TRANSPOSE else 1


def _to_resizable(img: Image.Image) -> Image.Image:
    """Bring exotic modes to one that resamples correctly, keeping alpha and CMYK for later."""
    mode = img.mode
    if img.info.get("transparency") is not None and mode in _KEYABLE:
        return _key_to_alpha(img)
    if mode in _RESIZABLE:
        return img
    if mode in ("P", "PA"):
        # palette images resize as nearest-neighbour, and transparency lives in the palette
        has_alpha = mode == "PA" or "transparency" in img.info
        return img.convert("RGBA" if has_alpha else "RGB")
    if mode == "1":
        return img.convert("L")
    if mode in _SIXTEEN_BIT or mode == "F":
        return _to_8bit(img)
    if mode in ("La", "RGBa"):
        return img.convert(mode.upper())
    return img.convert("RGB")


def _resizable_reduced(img: Image.Image, max_px: int) -> Image.Image:
    """`_to_resizable(img)`; a big palette or 1-bit frame is also reduced by a whole factor
    that leaves it at least `max_px` long, band by band, so that its RGB(A) conversion (4 bytes
    a pixel where the palette frame has 1: an 80 MP GIF of one colour is 320 MB) never exists
    whole."""
    factor = max(img.size) // max_px
    if img.mode not in _BANDED or factor < 2:
        return _to_resizable(img)
    width, height = img.size
    rows = factor * _BAND_ROWS
    reduced: Image.Image | None = None
    for top in range(0, height, rows):
        # crop keeps the palette and info["transparency"], so each band converts as the whole
        band = _to_resizable(img.crop((0, top, width, min(top + rows, height)))).reduce(factor)
        if reduced is None:
            size = (math.ceil(width / factor), math.ceil(height / factor))
            reduced = Image.new(band.mode, size)
        reduced.paste(band, (0, top // factor))
    assert reduced is not None
    return reduced


def _key_to_alpha(img: Image.Image) -> Image.Image:
    """A PNG `tRNS` colour key (one value that means "transparent") made an alpha channel,
    so it is flattened like any other transparency instead of showing as a black box."""
    if img.mode in _SIXTEEN_BIT:
        # Pillow keys the 16-bit values exactly; only the grey is brought down to 8 bits
        alpha = img.convert("LA").getchannel("A")
        return Image.merge("LA", (_to_8bit(img), alpha))
    return img.convert("RGBA" if img.mode == "RGB" else "LA")


def _to_8bit(img: Image.Image) -> Image.Image:
    """Scale 16-bit (or float) grey to 0..255; a plain convert("L") clips them to white."""
    if img.mode == "F":
        _, high = cast(tuple[float, float], img.getextrema())  # one band: (low, high)
        # float TIFFs are either 0..1 or hold integer sample values
        factor = 255.0 if high <= 1.0 else (255 / 65535 if high > 255 else 1.0)
    else:
        img = img.convert("I")
        factor = 255 / 65535
    return img.point(lambda v: v * factor).convert("L")


def _shrink(
    img: Image.Image, long_side: int, *, reducing_gap: float = _REDUCING_GAP
) -> Image.Image:
    """Fit inside a `long_side` square; never enlarge."""
    if max(img.size) <= long_side:
        return img
    if max(img.size) < long_side * _SMALL_STEP:
        # The last few percent after the JPEG decoder's 1/2 scale (2016 -> 1920 px): an area
        # average (the box filter) looks the same as bicubic at this ratio and costs a third of
        # it (bilinear: 60 %); this step was a third of the whole ingest.
        return _box_in_halves(img, _fit(img.size, long_side))
    return img.resize(_fit(img.size, long_side), _RESAMPLE, reducing_gap=reducing_gap)


def _box_in_halves(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`img.resize(size, BOX)`, the top and bottom halves at once on two threads (Pillow lets go
    of the GIL while it resamples): 21 -> 12 ms for 2016 -> 1920 px. Each half reads the source
    rows it covers, so the seam is an ordinary row; rows where a source pixel's edge falls
    exactly on an output pixel's may weigh it a rounding differently from one whole pass."""
    width, height = size
    middle = height // 2
    scale = img.height / height
    bands = [(0, middle), (middle, height)]
    out: list[Image.Image] = [img, img]

    def band(i: int) -> None:
        top, bottom = bands[i]
        box = (0.0, top * scale, float(img.width), bottom * scale)
        out[i] = img.resize((width, bottom - top), Image.Resampling.BOX, box=box)

    helper = threading.Thread(target=band, args=(1,))
    helper.start()
    band(0)
    helper.join()
    whole = Image.new(img.mode, size)
    whole.paste(out[0], (0, 0))
    whole.paste(out[1], (0, middle))
    return whole


def _fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    width, height = size
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB in sRGB, transparency flattened onto white (screens show no checkerboard)."""
    alpha = None
    if img.mode in ("RGBA", "LA"):
        alpha = img.getchannel("A")
        img = img.convert(img.mode[:-1])
    if icc:
        img = _apply_profile(img, icc)
    if img.mode != "RGB":
        img = img.convert("RGB")
    if alpha is not None:
        background = Image.new("RGB", img.size, _WHITE)
        background.paste(img, mask=alpha)
        img = background
    return img


def _apply_profile(img: Image.Image, icc: bytes) -> Image.Image:
    """Convert to sRGB with the embedded profile (Display P3 phones, Adobe RGB, CMYK print)."""
    try:
        # Profiles are made per call: lcms handles must not be shared between threads.
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if _is_srgb(source):
            return img  # most cameras tag sRGB; transforming to itself costs as much as a resize
        converted = ImageCms.profileToProfile(
            img, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img  # a broken or mismatched profile: the untagged pixels are close enough
    return converted if converted is not None else img


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    """An RGB profile with sRGB's primaries, whatever its name ("sRGB IEC61966-2.1", …)."""
    info = profile.profile
    colorants = [
        c for c in (info.red_colorant, info.green_colorant, info.blue_colorant) if c is not None
    ]
    if info.xcolor_space != "RGB " or len(colorants) < 3:
        return False
    return all(
        abs(actual - expected) <= 0.002
        for (xyz, _), reference in zip(colorants, _SRGB_COLORANTS, strict=True)
        for actual, expected in zip(xyz, reference, strict=True)
    )


def _orient(img: Image.Image, orientation: int) -> Image.Image:
    # done last, on the small image: transposing 12 MP would cost more than the whole resize
    method = _TRANSPOSE.get(orientation)
    return img.transpose(method) if method is not None else img


def _write_jpeg(img: Image.Image, dest: Path, quality: int) -> None:
    """Write `dest` so readers see the old file or the whole new one, never a part.

    Names are content hashes and an existing file is trusted forever, so it must be whole and
    on disk before it gets its name: write_atomically fsyncs before the rename.
    """
    encoded = io.BytesIO()
    # No exif=, icc_profile= or xmp=: the rendition carries pixels only.
    img.save(encoded, "JPEG", quality=quality)
    write_atomically(dest, encoded.getvalue())
