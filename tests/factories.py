"""Make content folders, images and stand-in tools for tests: real files, made in the test."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from kiosk.ingest.decoders import openers, vips
from kiosk.ingest.images import Rendition, render_photo
from kiosk.ingest.pipeline import Limits, Prepared
from kiosk.ingest.scan import Scanner
from kiosk.ingest.story import read_story
from kiosk.library import Library
from kiosk.settings import Settings

from .support import LiveServer

openers()  # registers pillow-heif with Pillow, so tests can write HEIC photos


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


def multi_picture_jpeg() -> bytes:
    """A JPEG with a second frame (MPO), as cameras and phones write for depth or 3D."""
    first = Image.open(io.BytesIO(jpeg(400, 500)))
    second = Image.new("RGB", (400, 500), "black")
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[second])
    return buf.getvalue()


def avif_sequence() -> bytes:
    """An AVIF image sequence (.avifs): the photo, then a black frame."""
    first = Image.open(io.BytesIO(jpeg(400, 500)))
    buf = io.BytesIO()
    first.save(buf, "AVIF", save_all=True, append_images=[Image.new("RGB", (400, 500))])
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: a decompression bomb, minus the bytes."""
    data = bytearray(png(8, 8))
    struct.pack_into(">II", data, 16, width, height)  # IHDR: signature, length, type, then w, h
    struct.pack_into(">I", data, 29, zlib.crc32(data[12:29]))
    return bytes(data)


def flat_png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    """An RGB PNG of one colour, built row by row: 80 MP of it is a few hundred KB on disk and
    never a decoded image in the test's own memory."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = b"\0" + bytes(color) * width  # filter byte "none", then the pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def flat_tiff(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    """A deflate TIFF of one colour in strips, made by libvips a band at a time: like
    flat_png, huge in pixels, small on disk, never whole in the test's memory."""
    pyvips = vips()  # not `import pyvips`: pillow-heif must be loaded first (see decoders.vips)
    flat = pyvips.Image.black(width, height, bands=3).new_from_image(list(color)).cast("uchar")
    return flat.tiffsave_buffer(compression="deflate")


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(jpeg(64, 48))
    sof = data.index(b"\xff\xc0")  # baseline frame header: length, precision, height, width
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def avif_claiming(width: int, height: int) -> bytes:
    """A small AVIF whose `ispe` property (the picture size in the container) claims another."""
    data = bytearray(photo(64, 48, "AVIF", quality=50))
    at = data.index(b"ispe")  # then version and flags (4 bytes), width, height
    struct.pack_into(">II", data, at + 8, width, height)
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


def seed_pending(settings: Settings, count: int) -> None:
    """`count` pending stories of template length, each a text and a photo on the share and a
    revision in the library, written before the server starts (its first scan finds every
    fingerprint known, so nothing is ingested again). One photo is rendered; every story's
    photo and renditions are hard links to it under names of their own, so each card loads
    its own thumbnail URL: 10,000 take a few seconds, not an ingest of 10,000 photos."""
    content, media = settings.content_dir, settings.media_dir
    media.mkdir(parents=True, exist_ok=True)
    (content / "_seed.jpg").write_bytes(jpeg(1200, 1500))
    limits = Limits.from_settings(settings)
    model = render_photo(content / "_seed.jpg", media, **limits.render_sizes())
    # The plain `Key: value` header: YAML would take most of the time, in the scan and here.
    head = "Role: Receiving lead\nQuote: Every truck has a door.\nConsent: yes\n\n" + EN_TEMPLATE
    for i in range(count):
        (content / f"s{i:05}.md").write_text(f"Name: Person {i:05}\n{head}\n")
        os.link(content / "_seed.jpg", content / f"s{i:05}.jpg")
    library = Library(settings.db_path)
    try:
        for entry in Scanner(content, limits.text_bytes).scan().entries:
            photo_hash = hashlib.sha256(entry.source.encode()).hexdigest()
            image, thumbnail = (f"{photo_hash[:32]}-{n.split('-', 1)[1]}" for n in
                                (model.image, model.thumbnail))  # fmt: skip
            os.link(media / model.image, media / image)
            os.link(media / model.thumbnail, media / thumbnail)
            rendition = Rendition(photo_hash, image, thumbnail, model.width, model.height)
            prepared = Prepared(entry, read_story(entry, limits.text_bytes), rendition)
            library.record_revision(
                entry.source,
                prepared.revision_hash,
                prepared.fields(),
                body=prepared.story.body,
                html=prepared.story.html,
                text_path=entry.source,
                photo_path=entry.source.replace(".md", ".jpg"),
                rendition=rendition,
                fingerprint=entry.fingerprint,
            )
    finally:
        library.close()


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


# Stories in several scripts and lengths, as staff write them (tests/test_wall.py, test_player.py):
# template length (the examples are 100-130 words), twice that, and no spaces at all (Japanese).
EN_TEMPLATE = (
    "Marta runs the receiving desk at a cold-storage warehouse that serves forty grocery stores "
    "across the valley. Every morning she used to start with a stack of paper delivery notes, a "
    "calculator and a phone that would not stop ringing, because drivers wanted to know which "
    "door to back into. Last spring the warehouse moved its bookings online, so each truck now "
    "gets a door and a time slot before it leaves the farm, and the yard no longer fills with "
    "idling engines. Marta spends her mornings walking the dock instead, checking temperatures "
    "and talking with drivers she has known for years. On Fridays she brings cinnamon rolls "
    "from her sister's bakery, and the night crew saves her the first coffee."
)
EN_MORE = (
    "The warehouse opened in 1987 with four loading doors and a single forklift that everybody "
    "called Betty. Today it has twenty-six doors, a fleet of electric pallet trucks and a "
    "freezer hall the size of a football pitch, kept at minus twenty-five degrees all year "
    "round. Marta started there as a summer temp, sweeping the dock and labelling crates of "
    "lettuce by hand with a marker pen. She learned the job from a supervisor who could tell a "
    "late truck by the sound of its brakes, and she still keeps his old clipboard on the wall "
    "above her desk. When new staff arrive, she walks them through the freezer first, so they "
    "know what the cold feels like before anyone asks them to hurry."
)
STORIES: dict[str, dict[str, str]] = {
    "en-short": {
        "name": "Ana Ruiz",
        "role": "Swing-shift foreman",
        "quote": "We go home on time now 🍑",
        "body": "Ana keeps the bottling line running through the night.",
    },
    "en-template": {
        "name": "Marta Kowalczyk",
        "role": "Receiving lead",
        "quote": "Every truck has a door before it leaves the farm.",
        "body": EN_TEMPLATE,
    },
    "en-double": {
        "name": "Marta Nowak",
        "role": "Warehouse manager",
        "quote": "I still keep his old clipboard above my desk.",
        "body": EN_TEMPLATE + "\n\n" + EN_MORE,
    },
    "ja": {
        "name": "荒川 健二",
        "role": "経理担当",
        "quote": "農家さんには、収穫した週に支払います。",
        "language": "ja",
        "body": (
            "健二さんは、桃やプラム、アーモンドを共同で出荷する百四十の家族農家の帳簿を"
            "つけています。収穫期には計量伝票が何百枚も届き、畑の土がついたままのものも"
            "あります。以前は十月になるまで、伝票と請求書を一枚ずつ手で照合していました。"
            "今年の夏からは、伝票は計量所でスキャンされ、夜のうちに自動で照合されます。"
            "健二さんが確認するのは、数字が合わない数枚だけになりました。支払いは毎週"
            "行われるようになり、ある農家さんは、その年いちばんのネクタリンを一箱、お礼に"
            "持ってきてくれました。"
        ),
    },
    "ar": {
        "name": "سلمى الحداد",
        "role": "مشرفة المستودع",
        "quote": "كل شاحنة لها مكان، وكل سائق يعرف دوره.",
        "language": "ar",
        "body": (
            "تبدأ سلمى يومها في الخامسة صباحًا، عندما تصل أولى شاحنات الخضار إلى المستودع. "
            "كانت تسجل كل شحنة بيدها في دفتر كبير، وكان السائقون ينتظرون في الساحة ساعة أو "
            "أكثر. هذا العام صارت الشحنات تسجل عند البوابة، وتعرض الشاشات ما سيصل بعد ذلك. "
            "انخفض وقت الانتظار من خمسين دقيقة إلى عشرين، ولم تعد الخضار تذبل تحت الشمس. "
            "تقول سلمى إن أجمل ما تغير هو أنها تعود إلى بيتها قبل أن ينام أطفالها."
        ),
    },
    "he": {  # no language field: the direction comes from the text itself
        "name": "נועה לוי",
        "role": "מנהלת משמרת",
        "quote": "המכונות עובדות, ואנחנו הולכים הביתה בזמן.",
        "body": (
            "נועה מנהלת את משמרת הלילה במאפייה הגדולה בעיר. בעבר כל תקלה במכונה עצרה את הקו "
            "לשעה שלמה. היום החיישנים מתריעים לפני שמשהו נשבר, והטכנאי מגיע בזמן. הלחם יוצא "
            "לחנויות לפני השעה חמש בבוקר. נועה אומרת שהדבר הטוב ביותר הוא השקט בקשר."
        ),
    },
    "hi": {
        "name": "प्रिया वेंकटरमन",
        "role": "गुणवत्ता प्रबंधक",
        "quote": "हर पैकेट पर हमारा नाम है।",
        "language": "hi",
        "body": (
            "प्रिया एक मसाला कारखाने में गुणवत्ता की जाँच करती हैं। पहले हर नमूना हाथ से "
            "तौला जाता था और नतीजे शाम तक आते थे। अब तराजू सीधे कंप्यूटर से जुड़े हैं और "
            "गड़बड़ी तुरंत दिखती है। पिछले महीने एक भी शिकायत नहीं आई। प्रिया कहती हैं कि "
            "अब वे अपनी बेटी के साथ रात का खाना खा पाती हैं।"
        ),
    },
    "de": {
        "name": "Friederike Oberschulte-Brinkmann",
        "role": "Schichtleiterin Qualitätssicherung",
        "quote": "Jede Palette hat ihren Platz.",
        "language": "de",
        "body": (
            "Friederike leitet die Nachtschicht im Kühlhausverteilzentrum der "
            "Lebensmittelgroßhandelsgesellschaft. Früher führte jede "
            "Temperaturüberwachungsstörung zu einer stundenlangen Warenbestandsnachkontrolle. "
            "Heute melden Funksensoren jede Abweichung sofort an die "
            "Instandhaltungsbereitschaftsdienstzentrale. Die "
            "Kühlkettenunterbrechungswahrscheinlichkeit sank um zwei Drittel. Friederike sagt, "
            "das Schönste sei die Donaudampfschifffahrtsgesellschaftskapitänsmütze auf ihrem "
            "Schreibtisch."
        ),
    },
}


def colour_keyed_png(mode: str) -> bytes:
    """A 200×200 PNG whose transparency is a `tRNS` colour key, not an alpha channel: the
    background (value 0) is transparent, the square in the middle (50..149) is opaque.

    `mode` is what Pillow reads it as: "RGB" (a red square), "L" (grey 200), "I;16" (16-bit grey
    40000, shown as 8-bit 155) or "P" (a palette whose entry 0 is transparent).
    """
    if mode == "P":
        img = Image.new("P", (200, 200), 0)
        img.putpalette([0, 0, 0, 220, 30, 30])
        fill: int | tuple[int, int, int] = 1
    else:
        img = Image.new(mode, (200, 200), 0)
        fill = {"RGB": (220, 30, 30), "L": 200, "I;16": 40000}[mode]
    ImageDraw.Draw(img).rectangle((50, 50, 149, 149), fill=fill)
    buf = io.BytesIO()
    img.save(buf, "PNG", transparency=(0, 0, 0) if mode == "RGB" else 0)
    data = buf.getvalue()
    assert b"tRNS" in data
    return data


def bitfields_bmp(
    header_size: int = 40, masks: tuple[int, ...] = (0x0F00, 0x00F0, 0x000F)
) -> bytes:
    """A well-formed 16-bit BI_BITFIELDS BMP (RGB 4-4-4 by default, which Pillow cannot read),
    with a classic 40-byte header (masks after it) or a V4 (108) / V5 (124) header."""
    width, height, bpp = 40, 30, 16
    row = (width * bpp + 31) // 32 * 4
    pixels = b"\x0f\x0f" * (row // 2) * height  # every pixel 0x0f0f: full green and blue
    info = struct.pack("<IiiHHIIiiII", header_size, width, height, 1, bpp, 3, len(pixels),
                       2835, 2835, 0, 0)  # fmt: skip
    info = (info + struct.pack(f"<{len(masks)}I", *masks)).ljust(header_size, b"\0")
    offset = 14 + len(info)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + pixels


def heif_coded_as(codec: bytes) -> bytes:
    """A HEIF whose picture is declared in another codec (b"vvc1": H.266), as newer phones and
    cameras write: the container is fine, this libheif has no decoder for it."""
    data = photo(400, 500, "HEIF", quality=90)
    assert data.count(b"hvc1") == 1  # the item type in `infe`
    return data.replace(b"hvc1", codec)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _children(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, payload) of each box in `data` (plain 32-bit sizes, as Pillow writes them)."""
    boxes, at = [], 0
    while at < len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        boxes.append((kind, data[at + 8 : at + size]))
        at += size
    return boxes


def cropped_in_container(data: bytes, width: int, height: int, dx: int, dy: int) -> bytes:
    """A single-picture AVIF or HEIF (as Pillow and pillow-heif write them) with a `clap`
    (clean aperture) property added to its picture: keep width×height around the centre moved
    by (dx, dy). Phones write this to crop without re-encoding; neither library can."""
    clap = _box(b"clap", struct.pack(">IIIIiIiI", width, 1, height, 1, dx, 1, dy, 1))
    top = _children(data)
    (meta,) = [payload for kind, payload in top if kind == b"meta"]
    parts = []
    for kind, payload in _children(meta[4:]):  # meta is a full box: version and flags first
        if kind == b"iprp":
            props = dict(_children(payload))
            index = len(_children(props[b"ipco"])) + 1  # the clap's 1-based property index
            ipma = bytearray(props[b"ipma"])
            assert ipma[:4] == b"\0\0\0\0" and struct.unpack_from(">I", ipma, 4)[0] == 1
            ipma[10] += 1  # one item, 16-bit id, 8-bit associations: count, then each
            ipma.append(0x80 | index)  # essential: a reader that cannot crop must not show it
            payload = _box(b"ipco", props[b"ipco"] + clap) + _box(b"ipma", bytes(ipma))
        parts.append((kind, payload))
    grown = sum(8 + len(p) for _, p in parts) - len(meta[4:])
    for i, (kind, payload) in enumerate(parts):
        if kind == b"iloc":  # the pictures' offsets in the file move by what meta grew
            parts[i] = (kind, _shifted_iloc(payload, grown))
    new_meta = _box(b"meta", meta[:4] + b"".join(_box(k, p) for k, p in parts))
    return b"".join(new_meta if kind == b"meta" else _box(kind, p) for kind, p in top)


def _shifted_iloc(iloc: bytes, delta: int) -> bytes:
    """An `iloc` (version 0, 32-bit fields, as both libraries write it) whose pictures start
    `delta` bytes later: the base offset moves if there is one, else every extent's."""
    out = bytearray(iloc)
    offset_size, length_size, base_size = out[4] >> 4, out[4] & 0x0F, out[5] >> 4
    assert out[0] == 0 and offset_size == 4 and base_size in (0, 4)
    (count,) = struct.unpack_from(">H", out, 6)
    at = 8
    for _ in range(count):
        at += 4  # item id, data reference index
        if base_size:
            struct.pack_into(">I", out, at, struct.unpack_from(">I", out, at)[0] + delta)
            at += base_size
        (extents,) = struct.unpack_from(">H", out, at)
        at += 2
        for _ in range(extents):
            if not base_size:
                struct.pack_into(">I", out, at, struct.unpack_from(">I", out, at)[0] + delta)
            at += offset_size + length_size
    return bytes(out)
