"""kiosk.ingest.images: real photos made in the test, checked by what a screen would show."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageCms, ImageDraw, JpegImagePlugin

from kiosk.ingest import decoders, images
from kiosk.ingest.images import PhotoProblem, Rendition, render_photo, rendition_names
from kiosk.ingest.pipeline import Limits
from kiosk.settings import Settings

from .factories import (
    avif_claiming,
    bitfields_bmp,
    colour_keyed_png,
    cropped_in_container,
    heif_coded_as,
    jpeg,
    jpeg_claiming,
    multi_picture_jpeg,
    photo,
    png,
    png_claiming,
    sixteen_bit_grey,
)

BACKGROUND = (200, 120, 80)  # factories.photo's default colour
BLUE = (0, 0, 255)  # its top-left marker
HEAD = (250, 220, 190)  # its light 'head' at (w/2, h/3)
WHITE = (255, 255, 255)


DEFAULTS = Limits.from_settings(Settings())


def render(path: Path, media: Path, **overrides: int) -> Rendition:
    """render_photo with a default install's sizes and limits, except `overrides`."""
    sizes = {
        "max_px": DEFAULTS.display_px,
        "thumb_px": DEFAULTS.thumb_px,
        "max_bytes": DEFAULTS.photo_bytes,
        "max_pixels": DEFAULTS.photo_pixels,
    }
    return render_photo(path, media, **(sizes | overrides))


def close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def reencode(data: bytes, fmt: str, **save: object) -> bytes:
    """The same picture (and its EXIF) in another format."""
    with Image.open(io.BytesIO(data)) as img:
        if "exif" in img.info:
            save.setdefault("exif", img.info["exif"])
        buf = io.BytesIO()
        img.save(buf, fmt, **save)
    return buf.getvalue()


def opened(media: Path, name: str) -> Image.Image:
    img = Image.open(media / name)
    img.load()
    return img


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    return folder


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir()
    return folder


@pytest.fixture(params=["whole", "streamed"])
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test runs twice: PNG, TIFF, WebP and HEIC decoded whole by Pillow, as small ones
    are, and through libvips, as big ones are. A person sees no difference in the rendition."""
    if request.param == "streamed":
        assert decoders.vips() is not None, "libvips is missing: apt install libvips42"
        monkeypatch.setattr(images, "STREAMED_OVER", 0)
    return str(request.param)


def leftovers(media: Path) -> list[str]:
    return sorted(p.name for p in media.iterdir() if not p.name.endswith(".jpg"))


# --- formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("babette.jpg", lambda: jpeg(400, 500)),
        ("babette.png", lambda: png(400, 500)),
        ("babette.webp", lambda: photo(400, 500, "WEBP", quality=90)),
        ("babette.gif", lambda: photo(400, 500, "GIF")),
        ("babette.tif", lambda: photo(400, 500, "TIFF")),
        ("babette.bmp", lambda: photo(400, 500, "BMP")),
        ("babette.heic", lambda: photo(400, 500, "HEIF", quality=90)),
        ("babette.avif", lambda: photo(400, 500, "AVIF", quality=90)),
        ("babette-camera.jpg", multi_picture_jpeg),
    ],
)
@pytest.mark.usefixtures("decoder")
def test_every_supported_format_renders(src: Path, media: Path, name: str, make) -> None:
    result = render(write(src, name, make()), media)

    display = opened(media, result.image)
    assert display.format == "JPEG" and display.mode == "RGB"
    assert display.size == (result.width, result.height) == (400, 500)
    assert close(display.getpixel((200, 166)), HEAD)
    assert close(display.getpixel((10, 10)), BLUE, 40)
    assert close(display.getpixel((390, 490)), BACKGROUND)
    assert opened(media, result.thumbnail).size == (256, 320)


def test_animated_gif_shows_its_first_frame(src: Path, media: Path) -> None:
    frames = [Image.new("RGB", (120, 90), c) for c in ((220, 30, 30), (30, 220, 30), BLUE)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    result = render(write(src, "wave.gif", buf.getvalue()), media)

    assert close(opened(media, result.image).getpixel((60, 45)), (220, 30, 30))


# --- orientation ---------------------------------------------------------------------------

ORIENTED = [
    ("jpg", lambda o: jpeg(800, 600, orientation=o)),
    ("png", lambda o: png(800, 600, orientation=o)),
    ("webp", lambda o: photo(800, 600, "WEBP", orientation=o, quality=90)),
    ("tif", lambda o: photo(800, 600, "TIFF", orientation=o)),
    ("heic", lambda o: reencode(jpeg(800, 600, orientation=o), "HEIF", quality=90)),
    ("avif", lambda o: reencode(jpeg(800, 600, orientation=o), "AVIF", quality=90)),
]


@pytest.mark.parametrize(("ext", "make"), ORIENTED, ids=[e for e, _ in ORIENTED])
@pytest.mark.parametrize(
    ("orientation", "marker_corner"),
    [(6, "top-right"), (8, "bottom-left")],  # 6: turn clockwise to view; 8: anticlockwise
)
@pytest.mark.usefixtures("decoder")
def test_exif_orientation_is_baked_in(
    src: Path, media: Path, ext: str, make, orientation: int, marker_corner: str
) -> None:
    result = render(write(src, f"held-upright.{ext}", make(orientation)), media)

    display = opened(media, result.image)
    assert display.size == (result.width, result.height) == (600, 800)
    corners = {
        "top-left": (10, 10),
        "top-right": (589, 10),
        "bottom-left": (10, 789),
        "bottom-right": (589, 789),
    }
    blue = {name for name, xy in corners.items() if close(display.getpixel(xy), BLUE, 40)}
    assert blue == {marker_corner}
    assert not display.getexif()  # nothing left for a browser to rotate a second time


def test_orientation_with_draft_decoding_of_a_large_jpeg(src: Path, media: Path) -> None:
    # 4000x3000 with max_px 1000: decoded at 1/2 scale by the DCT, then resized and turned
    result = render(write(src, "big.jpg", jpeg(4000, 3000, orientation=6)), media,
                          max_px=1000)  # fmt: skip

    display = opened(media, result.image)
    assert display.size == (750, 1000)
    assert close(display.getpixel((740, 10)), BLUE, 40)
    assert close(display.getpixel((10, 10)), BACKGROUND)
    # the head sits a third down the stored (landscape) picture: two thirds across once turned
    assert close(display.getpixel((500, 500)), HEAD)


def test_the_last_shrink_in_halves_leaves_no_seam(src: Path, media: Path) -> None:
    """2016 -> 1920 px (after the 1/2 DCT scale) is resampled as two halves on two threads:
    the rendition must be the one picture a single pass makes, no row lost, doubled or shifted
    at the seam."""
    # Black, then a steep ramp across the middle, then white: a row's brightness says where
    # it came from (a row is about 2.5 levels down the ramp).
    ramp = Image.linear_gradient("L").resize((4032, 224))
    picture = Image.new("L", (4032, 3024), 0)
    picture.paste(ramp, (0, 1400))
    picture.paste(255, (0, 1624, 4032, 3024))
    data = io.BytesIO()
    picture.save(data, "JPEG", quality=95)
    result = render(write(src, "ramp.jpg", data.getvalue()), media, max_px=1920)

    display = opened(media, result.image).convert("L")
    with Image.open(io.BytesIO(data.getvalue())) as one_pass:
        one_pass.draft("L", (1920, 1440))
        expected = one_pass.resize((1920, 1440), Image.Resampling.BOX)
    column = [(display.getpixel((960, y)), expected.getpixel((960, y))) for y in range(1440)]
    assert max(abs(a - b) for a, b in column) <= 3  # type: ignore[operator]


@pytest.mark.parametrize(("name", "fmt"), [("phone.avif", "AVIF"), ("phone.heic", "HEIF")])
def test_a_crop_stored_in_the_container_is_applied(
    src: Path, media: Path, name: str, fmt: str
) -> None:
    # the clean aperture keeps the top-left quarter: 200×250 around a centre moved (-100, -125)
    data = cropped_in_container(photo(400, 500, fmt, quality=90), 200, 250, -100, -125)

    display = opened(media, render(write(src, name, data), media).image)

    assert display.size == (200, 250)
    assert close(display.getpixel((10, 10)), BLUE, 40)
    assert close(display.getpixel((190, 166)), HEAD)  # the head's left edge, now on the right
    assert close(display.getpixel((190, 245)), BACKGROUND)


# --- metadata ---------------------------------------------------------------------------

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude='
    b'"52,31.2N"/></rdf:RDF></x:xmpmeta>'
)
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
# sRGB's colorants (CIE XYZ, D50), for hand-made profiles
SRGB_RED = (0.4361, 0.2225, 0.0139)
SRGB_GREEN = (0.3851, 0.7169, 0.0971)
SRGB_BLUE = (0.1431, 0.0606, 0.7141)


def rgb_profile(red: tuple, green: tuple, blue: tuple) -> bytes:
    """A minimal ICC v2 matrix/TRC display profile: these colorants, gamma 2.2."""

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    name = b"test RGB"
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233) + b"\0\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(name) + 1) + name + b"\0" + b"\0" * 78
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(*red)),
            (b"gXYZ", xyz(*green)), (b"bXYZ", xyz(*blue)), (b"rTRC", curve), (b"gTRC", curve),
            (b"bTRC", curve)]  # fmt: skip
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = struct.pack(">I", offset + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
    header += b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 28
    header += s15(0.9642) + s15(1.0) + s15(0.8249)
    return header.ljust(128, b"\0") + struct.pack(">I", len(tags)) + table + body


def swapped_primaries() -> bytes:
    """A profile saying the first channel is sRGB's green and the second its red."""
    return rgb_profile(SRGB_GREEN, SRGB_RED, SRGB_BLUE)


@pytest.mark.parametrize(
    ("fmt", "profile"),
    [("JPEG", None), ("JPEG", SRGB), ("JPEG", "swapped"), ("PNG", SRGB), ("WEBP", "swapped")],
)
@pytest.mark.usefixtures("decoder")
def test_all_metadata_is_stripped(src: Path, media: Path, fmt: str, profile: object) -> None:
    extra: dict[str, object] = {}
    if profile:
        extra["icc_profile"] = swapped_primaries() if profile == "swapped" else profile
    if fmt == "JPEG":
        extra |= {"xmp": XMP, "comment": b"taken at the Spree depot"}
    data = photo(600, 400, fmt, orientation=6, gps=True, **extra)
    with Image.open(io.BytesIO(data)) as source:  # the test is only worth it if they were there
        assert source.getexif().get_ifd(0x8825)
        assert ("icc_profile" in source.info) == bool(profile)

    result = render(write(src, f"babette.{fmt.lower()}", data), media)

    for name in (result.image, result.thumbnail):
        out = opened(media, name)
        assert not out.getexif()
        assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment"} & set(out.info)
        raw = (media / name).read_bytes()
        for secret in (b"PhoneMaker", b"Exif", b"GPSLatitude", b"Spree", b"ICC_PROFILE"):
            assert secret not in raw


# --- colour and modes ------------------------------------------------------------------------


def test_cmyk_jpeg_keeps_its_colours(src: Path, media: Path) -> None:
    data = jpeg(1600, 2000, mode="CMYK", quality=95)
    with Image.open(io.BytesIO(data)) as source:
        assert source.mode == "CMYK"

    result = render(write(src, "print.jpg", data), media, max_px=500)  # draft path too

    display = opened(media, result.image)
    assert display.size == (400, 500)
    assert close(display.getpixel((350, 450)), BACKGROUND)
    assert close(display.getpixel((200, 166)), HEAD)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.usefixtures("decoder")
def test_embedded_colour_profile_is_converted_to_srgb(src: Path, media: Path, fmt: str) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (220, 30, 30)).save(buf, fmt, icc_profile=swapped_primaries())

    display = opened(media, render(write(src, f"wide.{fmt.lower()}", buf.getvalue()),
                                         media).image)  # fmt: skip

    assert close(display.getpixel((150, 100)), (30, 220, 30), 16)  # what the profile means


@pytest.mark.usefixtures("decoder")
def test_srgb_profiles_are_not_transformed(
    src: Path, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Any name: cameras write "sRGB IEC61966-2.1", Pillow "sRGB built-in"; the primaries count.
    profile = rgb_profile(SRGB_RED, SRGB_GREEN, SRGB_BLUE)
    path = write(src, "phone.jpg", jpeg(400, 300, icc_profile=profile))
    monkeypatch.setattr(
        ImageCms, "profileToProfile", lambda *a, **k: pytest.fail("transformed sRGB to sRGB")
    )

    display = opened(media, render(path, media).image)

    assert close(display.getpixel((390, 290)), BACKGROUND)


@pytest.mark.usefixtures("decoder")
def test_broken_icc_profile_is_ignored(src: Path, media: Path) -> None:
    path = write(src, "odd.jpg", jpeg(300, 300, icc_profile=b"not really a profile" * 10))

    display = opened(media, render(path, media).image)

    assert close(display.getpixel((290, 290)), BACKGROUND)
    assert "icc_profile" not in display.info


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
@pytest.mark.usefixtures("decoder")
def test_16_bit_grey_keeps_its_brightness(src: Path, media: Path, fmt: str) -> None:
    path = write(src, f"scan.{fmt.lower()}", sixteen_bit_grey(fmt, 40000))  # 61 % grey

    display = opened(media, render(path, media).image)

    r, g, b = display.getpixel((150, 100))
    assert r == g == b and abs(r - 40000 * 255 // 65535) <= 3


def transparent_square(mode: str) -> Image.Image:
    """A red square on a transparent background, in `mode`."""
    img = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(img).rectangle((50, 50, 149, 149), fill=(220, 30, 30, 255))
    if mode == "P":
        paletted = Image.new("P", img.size, 0)
        paletted.putpalette([0, 0, 0, 220, 30, 30])
        ImageDraw.Draw(paletted).rectangle((50, 50, 149, 149), fill=1)
        paletted.info["transparency"] = 0
        return paletted
    if mode == "LA":
        return img.convert("LA")
    return img


@pytest.mark.parametrize(
    ("mode", "fmt"), [("RGBA", "PNG"), ("P", "PNG"), ("P", "GIF"), ("LA", "PNG"), ("RGBA", "WEBP")]
)
@pytest.mark.usefixtures("decoder")
def test_transparency_is_flattened_onto_white(src: Path, media: Path, mode: str, fmt: str) -> None:
    img = transparent_square(mode)
    buf = io.BytesIO()
    img.save(buf, fmt, **({"transparency": 0} if mode == "P" else {}))

    display = opened(media, render(write(src, f"logo.{fmt.lower()}", buf.getvalue()),
                                         media).image)  # fmt: skip

    assert close(display.getpixel((10, 10)), WHITE, 8)  # not black
    red = (220, 30, 30) if mode != "LA" else (87, 87, 87)  # LA holds red's luminance
    assert close(display.getpixel((100, 100)), red, 12)


@pytest.mark.parametrize(
    ("mode", "square"),
    [("RGB", (220, 30, 30)), ("L", (200,) * 3), ("I;16", (155,) * 3), ("P", (220, 30, 30))],
)
@pytest.mark.usefixtures("decoder")
def test_colour_keyed_transparency_is_flattened_onto_white(
    src: Path, media: Path, mode: str, square: tuple[int, int, int]
) -> None:
    data = colour_keyed_png(mode)
    with Image.open(io.BytesIO(data)) as source:  # a colour key, not an alpha channel
        assert source.mode == mode and "transparency" in source.info

    display = opened(media, render(write(src, "logo.png", data), media).image)

    assert close(display.getpixel((10, 10)), WHITE, 8)  # the keyed background: not black
    assert close(display.getpixel((190, 190)), WHITE, 8)
    assert close(display.getpixel((100, 100)), square, 8)


@pytest.mark.parametrize("mode", ["1", "L"])
@pytest.mark.usefixtures("decoder")
def test_black_and_white_and_grey_become_rgb(src: Path, media: Path, mode: str) -> None:
    path = write(src, "grey.png", png(300, 300, mode=mode))

    display = opened(media, render(path, media).image)

    assert display.mode == "RGB"
    r, g, b = display.getpixel((150, 100))
    assert r == g == b and r > 128  # the light head, in grey


# --- sizes ------------------------------------------------------------------------------------


def test_large_jpeg_is_decoded_at_a_reduced_dct_scale(
    src: Path, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[tuple[int, int]] = []
    real_load = JpegImagePlugin.JpegImageFile.load

    def spy(self: JpegImagePlugin.JpegImageFile):  # the size decoded, after draft()
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy)
    # 1/4 scale (1000×750) still covers 960×720; 1/8 (500×375) would not
    result = render(write(src, "phone.jpg", jpeg(4000, 3000, orientation=8)), media,
                          max_px=960)  # fmt: skip

    assert decoded[0] == (1000, 750)
    assert (result.width, result.height) == (720, 960)


@pytest.mark.usefixtures("decoder")
def test_large_photo_fits_max_px_and_thumbnail_is_made_from_it(src: Path, media: Path) -> None:
    result = render(write(src, "big.jpg", jpeg(4000, 3000)), media)

    assert (result.width, result.height) == (1920, 1440)
    assert opened(media, result.image).size == (1920, 1440)
    assert opened(media, result.thumbnail).size == (320, 240)


def test_small_photo_is_not_enlarged(src: Path, media: Path) -> None:
    result = render(write(src, "small.png", png(640, 480)), media, thumb_px=100)

    assert opened(media, result.image).size == (640, 480)
    assert opened(media, result.thumbnail).size == (100, 75)


def test_names_follow_content_and_sizes(src: Path, media: Path) -> None:
    data = jpeg(500, 400)
    first = render(write(src, "a.jpg", data), media)
    renamed = render(write(src, "b.jpg", data), media)
    smaller = render(write(src, "c.jpg", data), media, max_px=300, thumb_px=64)

    assert first.photo_hash == hashlib.sha256(data).hexdigest()
    assert first == renamed
    assert (first.image, first.thumbnail) == rendition_names(first.photo_hash, 1920, 320)
    assert first.image == f"{first.photo_hash[:32]}-1920.jpg"
    assert first.thumbnail == f"{first.photo_hash[:32]}-t320.jpg"
    assert smaller.photo_hash == first.photo_hash
    assert {smaller.image, smaller.thumbnail}.isdisjoint({first.image, first.thumbnail})
    assert (smaller.width, smaller.height) == (300, 240)


# --- the cache ---------------------------------------------------------------------------------


def test_existing_renditions_are_reused_without_decoding(
    src: Path, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(src, "babette.jpg", jpeg(2400, 3000))
    first = render(path, media)
    stamps = {p.name: p.stat().st_mtime_ns for p in media.iterdir()}

    def no_decoding(*args: object) -> None:
        raise AssertionError("decoded a photo whose renditions exist")

    monkeypatch.setattr(images, "_decode_fitted", no_decoding)
    again = render(path, media)

    assert again == first == Rendition(first.photo_hash, first.image, first.thumbnail, 1536, 1920)
    assert {p.name: p.stat().st_mtime_ns for p in media.iterdir()} == stamps


@pytest.mark.parametrize("damage", ["thumbnail missing", "display empty", "display garbage"])
def test_missing_or_damaged_renditions_are_made_again(src: Path, media: Path, damage: str) -> None:
    path = write(src, "babette.jpg", jpeg(400, 500))
    first = render(path, media)
    if damage == "thumbnail missing":
        (media / first.thumbnail).unlink()
    else:
        (media / first.image).write_bytes(b"" if damage == "display empty" else b"\x00" * 100)

    assert render(path, media) == first
    assert opened(media, first.image).size == (400, 500)
    assert opened(media, first.thumbnail).size == (256, 320)


# --- photos that cannot be shown ----------------------------------------------------------------


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def ppm() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buf, "PPM")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("babette.jpg", lambda: b"Babette Ruiz\nSwing-shift foreman\n"),  # a story saved as .jpg
        ("babette.jpg", lambda: os.urandom(5000)),
        ("babette.jpg", lambda: truncated(jpeg(1200, 900))),
        ("babette.jpg", lambda: truncated(jpeg(4000, 3000))),  # the draft-decoding path
        ("babette.png", lambda: truncated(png(600, 500))),
        ("babette.heic", lambda: truncated(photo(400, 500, "HEIF"))),
        ("babette.bmp", lambda: truncated(photo(400, 500, "BMP"))),
        ("babette.ppm", ppm),  # Pillow reads it, but it is not a format staff can be asked for
        ("babette.jpg", lambda: b"\xff\xd8\xff\xe0" + b"\x00" * 200),  # a JPEG start, then nothing
    ],
    ids=["text", "random", "truncated-jpeg", "truncated-big-jpeg", "truncated-png",
         "truncated-heic", "truncated-bmp", "unsupported", "header-only"],
)  # fmt: skip
@pytest.mark.usefixtures("decoder")
def test_unreadable_photos_are_a_photo_problem(src: Path, media: Path, name: str, make) -> None:
    with pytest.raises(PhotoProblem) as problem:
        render(write(src, name, make()), media)

    message = str(problem.value)
    assert message.startswith(f"{name} is not a photo Hallway Kiosk can read")
    assert "save it again as JPEG or PNG" in message
    assert list(media.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "make", "kind"),
    [
        ("babette.bmp", bitfields_bmp, "BMP"),  # 40-byte header, 4-4-4 bitfields
        ("babette.bmp", lambda: bitfields_bmp(108), "BMP"),  # V4 header
        ("babette.bmp", lambda: bitfields_bmp(124, (0x0F00, 0xF0, 0xF, 0xF000)), "BMP"),  # V5
        ("babette.heic", lambda: heif_coded_as(b"vvc1"), "HEIF"),
    ],
    ids=["bmp-bitfields", "bmp-v4", "bmp-v5", "heif-vvc"],
)
@pytest.mark.usefixtures("decoder")
def test_a_well_formed_variant_the_decoder_lacks_is_not_called_damaged(
    src: Path, media: Path, name: str, make, kind: str
) -> None:
    with pytest.raises(PhotoProblem) as problem:
        render(write(src, name, make()), media)

    assert str(problem.value) == (
        f"{name} is a kind of {kind} the kiosk cannot read: save the photo as JPEG"
    )
    assert list(media.iterdir()) == []


def test_empty_file_is_probably_still_being_copied(src: Path, media: Path) -> None:
    with pytest.raises(PhotoProblem, match=r"^babette\.jpg is empty \(maybe it is still being"):
        render(write(src, "babette.jpg", b""), media)


def test_file_over_the_byte_limit_is_refused_before_reading(
    src: Path, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(src, "babette.jpg", jpeg(1000, 1000) + os.urandom(300_000))
    monkeypatch.setattr(images, "open", lambda *a: pytest.fail("read the file"), raising=False)

    with pytest.raises(PhotoProblem) as problem:
        render(path, media, max_bytes=200 * 1024)

    size_mb = path.stat().st_size / 1024 / 1024
    assert str(problem.value) == (
        f"babette.jpg is {-(-size_mb * 10 // 1) / 10:g} MB; the limit is 0.1 MB "
        "— export a smaller JPEG"
    )


def test_file_that_grows_past_the_limit_while_read_is_refused(
    src: Path, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(src, "babette.jpg", jpeg(1000, 1000) + os.urandom(300_000))
    real_stat = os.stat

    def stat_before_the_copy_finished(p, *args, **kwargs):
        result = real_stat(p, *args, **kwargs)
        if Path(p) != path:
            return result
        fields = list(result)
        fields[6] = 1000  # st_size
        return os.stat_result(fields)

    monkeypatch.setattr(os, "stat", stat_before_the_copy_finished)
    with pytest.raises(PhotoProblem, match=r"^babette\.jpg is 0\.2 MB; the limit is 0\.1 MB"):
        render(path, media, max_bytes=150 * 1024)


def test_byte_limit_message_in_whole_megabytes() -> None:
    problem = images._too_many_bytes("babette.jpg", 62 * 1024 * 1024 - 5, 50 * 1024 * 1024)
    assert str(problem) == "babette.jpg is 62 MB; the limit is 50 MB — export a smaller JPEG"
    problem = images._too_many_bytes("video.jpg", 20_000 * 1024 * 1024, 50 * 1024 * 1024)
    assert str(problem) == "video.jpg is 20,000 MB; the limit is 50 MB — export a smaller JPEG"


# Real 20000×20000 files would need 400 MB of memory to make; a patched header is what matters,
# and it could not be decoded anyway, so the message proves the check ran before decoding.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("make", [png_claiming, jpeg_claiming])
@pytest.mark.parametrize(
    ("width", "height", "sentence"),
    [
        (20000, 20000, "20,000×20,000 pixels (400 megapixels); the limit is 80 megapixels"),
        (10000, 9000, "10,000×9,000 pixels (90 megapixels); the limit is 80 megapixels"),
    ],
)
def test_decompression_bomb_is_refused_from_its_header(
    src: Path, media: Path, make, width: int, height: int, sentence: str
) -> None:
    with pytest.raises(PhotoProblem) as problem:
        render(write(src, "bomb.png", make(width, height)), media)

    assert str(problem.value) == f"bomb.png is {sentence} — resize it"
    assert list(media.iterdir()) == []


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(
    ("width", "height", "sentence"),
    [
        (17000, 17000, "17,000×17,000 pixels (289 megapixels)"),  # past libavif's own limit
        (65535, 65535, "65,535×65,535 pixels (4,295 megapixels)"),
        (10000, 9000, "10,000×9,000 pixels (90 megapixels)"),
    ],
)
def test_an_avif_too_big_for_its_decoder_gets_the_size_message(
    src: Path, media: Path, width: int, height: int, sentence: str
) -> None:
    with pytest.raises(PhotoProblem) as problem:
        render(write(src, "babette.avif", avif_claiming(width, height)), media)

    assert str(problem.value) == (
        f"babette.avif is {sentence}; the limit is 80 megapixels — resize it"
    )


@pytest.mark.parametrize(
    ("size", "sentence"),
    [
        ((3_000_000, 2_000_000), "3,000,000×2,000,000 pixels (6,000,000 megapixels)"),
        ((12_000, 9_000), "12,000×9,000 pixels (108 megapixels)"),
        ((400, 300), "400×300 pixels (0.1 megapixels)"),
        (None, "has far too many pixels"),
    ],
)
def test_pixel_limit_messages_read_as_plain_numbers(
    size: tuple[int, int] | None, sentence: str
) -> None:
    problem = str(images._too_many_pixels("babette.png", size, 80_000_000))
    verb = "" if size is None else "is "
    assert problem == f"babette.png {verb}{sentence}; the limit is 80 megapixels — resize it"


def test_pixel_limit_is_configurable(src: Path, media: Path) -> None:
    path = write(src, "babette.jpg", jpeg(400, 300))
    with pytest.raises(
        PhotoProblem, match=r"400×300 pixels \(0\.1 megapixels\); the limit is 0\.1 megapixels"
    ):
        render(path, media, max_pixels=100_000)
    assert render(path, media, max_pixels=120_000).width == 400


# --- writing --------------------------------------------------------------------------------


def test_no_temporary_files_are_left_behind(src: Path, media: Path) -> None:
    for i in range(3):
        render(write(src, f"p{i}.jpg", jpeg(300 + i, 300)), media)

    assert leftovers(media) == []
    assert len(list(media.glob("*.jpg"))) == 6
    assert all(
        p.stat().st_mode & 0o044 == 0o044 for p in media.iterdir()
    )  # a web server reads them


def test_disk_full_propagates_and_leaves_no_partial_files(
    src: Path, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(src, "babette.jpg", jpeg(800, 600))
    real_save = Image.Image.save
    saves: list[object] = []

    def save_then_fill_the_disk(self: Image.Image, fp, *args, **kwargs) -> None:
        saves.append(fp)
        if len(saves) == 2:  # the display rendition is written, the thumbnail is not
            fp.write(b"\xff\xd8partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save_then_fill_the_disk)
    with pytest.raises(OSError) as error:
        render(path, media)
    assert not isinstance(error.value, PhotoProblem) and error.value.errno == errno.ENOSPC

    display, thumbnail = rendition_names(hashlib.sha256(path.read_bytes()).hexdigest(), 1920, 320)
    assert sorted(p.name for p in media.iterdir()) == [display]  # complete, under its final name
    assert opened(media, display).size == (800, 600)

    monkeypatch.setattr(Image.Image, "save", real_save)
    assert render(path, media).thumbnail == thumbnail  # the next scan finishes the job
    assert opened(media, thumbnail).size == (320, 240)


def test_concurrent_calls_are_safe(src: Path, media: Path) -> None:
    sizes = [(1200, 900), (1600, 1200), (2400, 1800)]  # all 800×600 on screen
    paths = [write(src, f"p{i}.jpg", jpeg(*sizes[i % 3])) for i in range(12)]
    results: list[Rendition] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(paths))

    def work(path: Path) -> None:
        try:
            start.wait()
            results.append(render(path, media, max_px=800))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert len({r.image for r in results}) == 3  # same bytes, same names, rendered in a race
    assert leftovers(media) == []
    for r in results:
        assert opened(media, r.image).size == (r.width, r.height) == (800, 600)


@pytest.mark.parametrize("fmt", ["GIF", "PNG"])
def test_a_big_palette_photo_is_converted_in_bands_and_looks_the_same(
    src: Path, media: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """A 3000 × 2000 palette picture (1 byte a pixel; RGBA would be 4) shown at 400 px is
    converted and reduced by 7 a band of rows at a time: colours, transparency and the place
    of things are as they were."""
    monkeypatch.setattr(images, "STREAMED_OVER", 10_000_000)  # Pillow's path for the PNG too
    img = Image.new("P", (3000, 2000), 0)
    img.putpalette([0, 0, 0, 220, 30, 30, *BLUE])
    draw = ImageDraw.Draw(img)
    draw.rectangle((1500, 0, 2999, 999), fill=1)  # red: the top right quarter
    draw.rectangle((0, 1000, 1499, 1999), fill=2)  # blue: the bottom left quarter
    buf = io.BytesIO()
    img.save(buf, fmt, transparency=0)  # the rest is transparent

    display = opened(media, render(write(src, f"big.{fmt.lower()}", buf.getvalue()),
                                   media, max_px=400).image)  # fmt: skip

    assert display.size == (400, 267)
    assert close(display.getpixel((300, 60)), (220, 30, 30))
    assert close(display.getpixel((100, 200)), BLUE)
    assert close(display.getpixel((100, 60)), (255, 255, 255))
    assert close(display.getpixel((300, 200)), (255, 255, 255))


def test_padded_heic_rows_are_read_without_their_padding() -> None:
    """libheif may pad each row of the decoded picture; the padding is no pixel."""
    rows = [bytes([10, 20, 30, 40, 50, 60]) + b"\xff\xee", bytes([1, 2, 3, 4, 5, 6]) + b"\xdd\xcc"]
    padded = decoders.rgb_rows(decoders.vips(), b"".join(rows), 2, 2, 8)
    unpadded = decoders.rgb_rows(decoders.vips(), b"".join(r[:6] for r in rows), 2, 2, 6)

    expected = bytes([10, 20, 30, 40, 50, 60, 1, 2, 3, 4, 5, 6])
    assert (padded.width, padded.height, padded.bands) == (2, 2, 3)
    assert padded.write_to_memory() == unpadded.write_to_memory() == expected


def test_a_heic_after_a_streamed_png(tmp_path: Path) -> None:
    """libvips brings Debian's libheif (for a HEIF loader the kiosk never uses) and pillow-heif
    a newer one of the same names: loaded in the wrong order, the next HEIC crashed the whole
    server. A fresh process loads libvips first (as `decoders.vips()` may be called before any
    photo is opened), streams a big PNG and then reads a HEIC."""
    write(tmp_path, "big.png", png(2400, 2000))
    write(tmp_path, "phone.heic", photo(400, 500, "HEIF"))
    script = f"""
from pathlib import Path
from kiosk.ingest import decoders, images
folder = Path({str(tmp_path)!r})
assert decoders.vips() is not None
for name in ("big.png", "phone.heic"):
    images.render_photo(folder / name, folder, max_px=800, thumb_px=200,
                        max_bytes=50 << 20, max_pixels=80_000_000)
assert "pyvips" in __import__("sys").modules
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert len(list(tmp_path.glob("*-800.jpg"))) == 2


def test_a_big_png_renders_without_libvips_too(
    src: Path, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without libvips (`kiosk doctor` warns) a big PNG is decoded whole: more memory, same
    picture."""
    monkeypatch.setattr(images, "vips", lambda: None)
    monkeypatch.setattr(images, "STREAMED_OVER", 0)
    result = render(write(src, "wall.png", png(1200, 1600, orientation=6)), media, max_px=800)

    display = opened(media, result.image)
    assert display.size == (result.width, result.height) == (800, 600)
    assert close(display.getpixel((790, 10)), BLUE, 40)  # orientation 6: the marker top right
