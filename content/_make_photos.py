"""Draw the six example portraits in this folder (flat illustrations of invented people).

Run `python content/_make_photos.py`; it needs only Pillow. Each portrait is 1200 x 1500 px, drawn
at 2x and downsampled; the face sits at about (50 %, 30 %), the slideshow's default focal point.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
W, H, S = 1200, 1500, 2  # output size and supersampling factor
CX, CY, A, B = 600, 450, 180, 232  # face centre and half-axes, in output pixels
EYE_Y, LIFT, FOOT = CY + 12, -75, 1600  # LIFT raises the clothes so the neck is not too long
WHITE, INK, SILVER, BLUE = (255, 255, 255), (43, 33, 29), (217, 221, 224), (30, 136, 200)

# One line of looks per person: colours are hex, the rest picks a shape.
PEOPLE = {
    "babette-ruiz.jpg": "bg=#3c8d8f skin=#c98e62 hair=#3a2418 style=hat_long top=vest "
    "cloth=#e4ef3a hat=hardhat hat_color=#f4f3ee",
    "marcus-oyelaran/photo.jpg": "bg=#8fb996 skin=#6b4428 hair=#1d1512 style=short "
    "top=cardigan cloth=#d9a23a shirt=#bcd6ef glasses=round frame=#1d1a1a",
    "priya-venkataraman.jpg": "bg=#a497d6 skin=#a8714a hair=#20161a style=long top=blazer "
    "cloth=#3b3f4a shirt=#2aa198 lanyard=yes smile=closed",
    "photos/tomasz-wisniewski.png": "bg=#7fb3d5 skin=#f0c9a6 hair=#8a5a35 style=none "
    "beard=#7a4d2c top=jacket cloth=#3e6b48 hat=beanie hat_color=#e0662f",
    "imani-greer.jpg": "bg=#f2a97e skin=#8a5634 hair=#2a1a14 style=curly top=polo "
    "cloth=#24355c headset=yes",
    "kenji-arakawa.jpg": "bg=#e9c46a skin=#e3b48a hair=#c4c4c4 brow=#7d7d7d style=side "
    "top=plaid cloth=#b23a3a glasses=rect frame=#6b4a2e eyes=happy smile=closed",
}


def rgb(code: str) -> tuple[int, int, int]:
    return tuple(int(code[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def mix(c1: tuple[int, ...], c2: tuple[int, ...], t: float) -> tuple[int, ...]:
    return tuple(round(a + (b - a) * t) for a, b in zip(c1, c2, strict=True))


class Pen:
    """ImageDraw in output-pixel coordinates (shifted down by dy) on a canvas S times larger."""

    def __init__(self, img: Image.Image, dy: float = 0) -> None:
        self.draw, self.dy = ImageDraw.Draw(img), dy

    def __getattr__(self, name: str):
        def call(xy, *args, **kw):
            kw.update({k: round(kw[k] * S) for k in ("width", "radius") if k in kw})
            pts = xy if isinstance(xy[0], tuple) else zip(xy[::2], xy[1::2], strict=True)
            xy = [(x * S, (y + self.dy) * S) for x, y in pts]
            return getattr(self.draw, name)(xy, *args, **kw)

        return call


def box(x: float, y: float, rx: float, ry: float | None = None) -> list[float]:
    return [x - rx, y - (ry or rx), x + rx, y + (ry or rx)]


def bez(p0, p1, p2, n: int = 24) -> list:
    """Points on a quadratic Bezier curve."""
    ts = [i / n for i in range(n + 1)]
    return [tuple((1 - t) ** 2 * a + 2 * (1 - t) * t * b + t * t * c
                  for a, b, c in zip(p0, p1, p2, strict=True)) for t in ts]  # fmt: skip


def mirror(pts: list) -> list:
    return [(2 * CX - x, y) for x, y in reversed(pts)]


def head(pad: float = 0, t0: float = 0, t1: float = 2 * math.pi, n: int = 90) -> list:
    """Outline of the head: an oval whose lower half narrows towards the chin."""
    ts = [t0 + (t1 - t0) * i / n for i in range(n + 1)]
    return [(CX + (A + pad) * math.cos(t) * (1 - 0.2 * max(0, math.sin(t)) ** 2),
             CY + (B + pad) * math.sin(t)) for t in ts]  # fmt: skip


def hair_cap(top: float, side: float = 0.0, pad: float = 12) -> list:
    """Hair over the top of the head down to a curved hairline; `side` sweeps it to one side."""
    inner = []
    for i in range(41):
        t = 2 * math.pi + 0.1 - (math.pi + 0.2) * i / 40
        x, up = CX + A * 0.97 * math.cos(t), max(0.0, -math.sin(t))
        inner.append((x, CY - 0.05 * B - (top - 0.05) * B * up + side * B * 0.25 * (x - CX) / A))
    return head(pad, math.pi - 0.12, 2 * math.pi + 0.12) + inner


def body() -> list:
    left = [(40, FOOT), (70, 1180), *bez((70, 1180), (90, 945), (270, 930))]
    return left + [(CX - 95, 868)] + mirror(left + [(CX - 95, 868)])


def clipped(img: Image.Image, shape: list, paint) -> None:
    """Run paint(pen) on a copy of img and keep the result only inside the polygon `shape`."""
    layer, mask = img.copy(), Image.new("L", img.size, 0)
    paint(Pen(layer, LIFT))
    Pen(mask, LIFT).polygon(shape, fill=255)
    img.paste(layer, (0, 0), mask)


def clothes(img: Image.Image, p: dict) -> None:
    """Shoulders and clothing, drawn in coordinates where the neckline is at y = 868."""
    pen, c, kind = Pen(img, LIFT), p["cloth"], p["top"]
    shade = mix(c, INK, 0.3)
    pen.polygon(body(), fill=rgb("#2b3a55") if kind == "vest" else c)
    if kind == "vest":  # navy tee under a hi-vis vest with reflective bands
        vest = [(CX - 100, 868), *body()[:27][::-1], (CX - 150, FOOT), (CX - 105, 1120)]
        for side in (vest, mirror(vest)):
            pen.polygon(side, fill=c)
            clipped(
                img,
                side,
                lambda q: [q.rectangle([0, y, W, y + 36], fill=SILVER) for y in (1250, 1390)],
            )
    elif kind == "plaid":  # flannel check over a grey tee

        def check(q: Pen) -> None:
            for x in range(30, W, 120):
                q.rectangle([0, x + 890, W, x + 924], fill=shade)
                q.rectangle([x, 860, x + 34, FOOT], fill=shade)
                q.line([x + 70, 860, x + 70, FOOT], fill=rgb("#e8c872"), width=5)

        clipped(img, body(), check)
        pen.polygon([(CX - 115, 868), (CX + 115, 868), (CX, 1120)], fill=rgb("#9aa0a6"))
    elif kind in ("cardigan", "blazer"):  # an open front showing the shirt underneath
        pen.polygon([(CX - 125, 868), (CX + 125, 868), (CX, 1230)], fill=p["shirt"])
        for s in (-1, 1):
            pen.line([(CX + s * 125, 868), (CX, 1230), (CX, FOOT)], fill=shade, width=8)
        for y in (1300, 1410) if kind == "cardigan" else ():
            pen.ellipse(box(CX - 22, y, 12), fill=shade)
    elif kind == "jacket":  # work jacket with a stand-up collar, zip and a reflective band
        clipped(img, body(), lambda q: q.rectangle([0, 1290, W, 1340], fill=SILVER))
        pen.rounded_rectangle([CX - 120, 830, CX + 120, 930], radius=40, fill=shade)
        pen.line([CX, 900, CX, FOOT], fill=mix(c, INK, 0.55), width=7)
        return
    elif kind == "polo":  # placket, buttons and a star-of-life badge
        pen.rectangle([CX - 16, 880, CX + 16, 1060], fill=shade)
        for y in (950, 1020):
            pen.ellipse(box(CX, y, 9), fill=WHITE)
        pen.ellipse(box(CX + 260, 1130, 48), fill=WHITE)
        for dx, dy in ((34, 0), (17, 29), (-17, 29)):
            pen.line([CX + 260 - dx, 1130 - dy, CX + 260 + dx, 1130 + dy], fill=BLUE, width=14)
    pen.chord(box(CX, 868, 92, 72), 0, 180, fill=p["skin"])  # neckline
    if kind in ("polo", "cardigan", "plaid"):  # collar points
        col = mix(p["shirt"], WHITE, 0.5) if kind == "cardigan" else shade
        for s in (-1, 1):
            pen.polygon([(CX + s * 100, 850), (CX + s * 20, 915), (CX + s * 60, 960)], fill=col)
    if p.get("lanyard"):
        for s in (-1, 1):
            pen.line([CX + s * 80, 880, CX, 1180], fill=BLUE, width=12)
        pen.rounded_rectangle([CX - 58, 1170, CX + 58, 1320], radius=12, fill=WHITE)
        pen.rectangle([CX - 58, 1190, CX + 58, 1215], fill=BLUE)
        pen.rectangle([CX - 30, 1230, CX + 30, 1290], fill=rgb("#b8c4cc"))


def hair_back(pen: Pen, p: dict) -> None:
    """Hair that hangs behind the head and neck."""
    hair, style = p["hair"], p["style"]
    if style == "curly":
        for i in range(22):
            t = math.pi * (0.86 + 1.28 * i / 21)
            x, y = CX + (A + 55) * math.cos(t), CY - 20 + (B + 60) * math.sin(t)
            pen.ellipse(box(x, y, 78), fill=hair)
        pen.ellipse(box(CX, CY - 30, A + 75, B + 60), fill=hair)
    if style in ("long", "hat_long"):
        bottom = 900 if style == "long" else 740
        pen.rounded_rectangle([CX - A - 48, CY - 60, CX + A + 48, bottom], radius=120, fill=hair)
        pen.ellipse(box(CX, CY - 40, A + 48, B + 20), fill=hair)


def hair_front(pen: Pen, p: dict) -> None:
    """Hair over the forehead, and long locks over the shoulders."""
    hair, style = p["hair"], p["style"]
    tops = {"short": (0.64, 0, 6), "side": (0.6, 0.9), "long": (0.5,), "curly": (0.55,)}
    if style in tops or style == "hat_long":
        pen.polygon(hair_cap(*tops.get(style, (0.4,))), fill=hair)
    if style == "long":  # centre parting and locks
        y = CY - 0.5 * B
        pen.polygon([(CX - 16, y), (CX + 16, y), (CX, y - 70)], fill=p["skin"])
        for s in (-1, 1):
            fall = bez((CX + s * (A + 48), CY + 200), (CX + s * (A + 66), 850), (CX + s * 250, 990))
            lock = [(CX + s * (A - 10), CY - 80), (CX + s * (A + 48), CY - 40), *fall]
            pen.polygon(lock + [(CX + s * (A - 6), 900), (CX + s * (A - 20), CY + 150)], fill=hair)
    if style == "side":  # a comb line across the sweep
        line = bez((CX - 110, CY - B + 20), (CX + 20, CY - B - 10), (CX + A - 20, CY - 120))
        pen.line(line, fill=mix(hair, INK, 0.25), width=6, joint="curve")
    if style == "curly":  # a soft, bumpy hairline
        for i in range(11):
            t = math.pi * (1.12 + 0.76 * i / 10)
            x, y = CX + A * 0.92 * math.cos(t), CY - 30 + B * 0.68 * math.sin(t)
            pen.ellipse(box(x, y, 30), fill=hair)


def face(pen: Pen, p: dict) -> None:
    skin, frame = p["skin"], p.get("frame")
    if p.get("beard"):
        lip = [
            (CX - A * 0.9, CY + 30),
            *bez((CX - 135, CY + 95), (CX - 60, CY + 70), (CX, CY + 82)),
        ]
        jaw = head(16, 0.02 * math.pi, 0.98 * math.pi)
        pen.polygon(jaw + lip + mirror(lip)[1:], fill=p["beard"])
    for s in (-1, 1):  # cheeks, eyes, brows
        ex = CX + s * 72
        pen.ellipse(box(CX + s * 112, CY + 88, 34, 20), fill=mix(skin, rgb("#e8606a"), 0.15))
        if p.get("eyes") == "happy":
            pen.arc(box(ex, EYE_Y + 10, 22, 18), 200, 340, fill=INK, width=9)
        else:
            pen.ellipse(box(ex, EYE_Y, 16, 20), fill=INK)
            pen.ellipse(box(ex - 5, EYE_Y - 7, 6), fill=WHITE)
        brow = p.get("brow", p["hair"])
        pen.arc(box(ex + s * 4, EYE_Y - 40, 44, 22), 200, 340, fill=brow, width=11)
    pen.ellipse(box(CX, CY + 66, 19, 14), fill=mix(skin, INK, 0.16))  # nose
    if p.get("smile") == "closed":
        pen.arc(box(CX, CY + 110, 54, 42), 25, 155, fill=mix(skin, rgb("#7a2e35"), 0.6), width=10)
    else:
        pen.chord(box(CX, CY + 135, 62, 48), 0, 180, fill=WHITE)
        pen.chord(box(CX, CY + 148, 52, 33), 0, 180, fill=rgb("#7a2e35"))
        pen.chord(box(CX, CY + 174, 30, 8), 180, 360, fill=rgb("#d9707a"))
    for s in (-1, 1) if frame else ():
        ex = CX + s * 72
        if p["glasses"] == "round":
            pen.ellipse(box(ex, EYE_Y, 48), outline=frame, width=8)
        else:
            pen.rounded_rectangle(box(ex, EYE_Y, 54, 38), radius=16, outline=frame, width=9)
        pen.line([ex + s * 50, EYE_Y - 8, CX + s * (A + 6), EYE_Y - 2], fill=frame, width=8)
        pen.arc(box(CX, EYE_Y + 2, 24, 18), 200, 340, fill=frame, width=8)  # bridge


def headwear(pen: Pen, p: dict) -> None:
    hat, dark, rrect = p.get("hat_color"), rgb("#2e2f33"), pen.rounded_rectangle
    if p.get("hat") == "hardhat":
        pen.chord([CX - A - 30, 130, CX + A + 30, 590], 180, 360, fill=hat)
        rrect([CX - 34, 134, CX + 34, 360], radius=30, fill=mix(hat, INK, 0.1))
        rrect([CX - A - 66, 342, CX + A + 66, 378], radius=18, fill=mix(hat, INK, 0.15))
        pen.ellipse(box(CX - 110, 230, 26, 40), fill=mix(hat, WHITE, 0.6))
    elif p.get("hat") == "beanie":
        pen.chord([CX - A - 22, CY - B - 40, CX + A + 22, CY + 80], 180, 360, fill=hat)
        rrect([CX - A - 30, CY - 150, CX + A + 30, CY - 60], radius=30, fill=mix(hat, INK, 0.15))
        for x in range(CX - A - 10, CX + A + 30, 34):
            pen.line([x, CY - 140, x, CY - 70], fill=mix(hat, INK, 0.3), width=6)
    if p.get("headset"):
        pen.arc(box(CX, CY - 10, A + 70, B + 95), 195, 345, fill=dark, width=22)
        rrect(box(CX + A + 20, EYE_Y + 30, 36, 62), radius=26, fill=dark)
        rrect(box(CX - A - 22, EYE_Y + 20, 22, 46), radius=16, fill=dark)
        boom = bez((CX + A, CY + 180), (CX + 160, CY + 170), (CX + 108, CY + 156))
        pen.line([(CX + A + 10, EYE_Y + 70), *boom], fill=dark, width=10, joint="curve")
        pen.ellipse(box(CX + 104, CY + 156, 16), fill=dark)


def portrait(p: dict) -> Image.Image:
    img = Image.new("RGB", (W * S, H * S), p["bg"])
    pen, skin = Pen(img), p["skin"]
    pen.ellipse(box(CX, CY + 80, 470), fill=mix(p["bg"], WHITE, 0.18))
    for x, y, r in ((140, 180, 26), (1060, 300, 18), (1010, 760, 30), (170, 640, 14)):
        pen.ellipse(box(x, y, r), fill=mix(p["bg"], WHITE, 0.35))  # confetti
    hair_back(pen, p)
    pen.rectangle([CX - 84, CY + 120, CX + 84, 900], fill=skin)  # neck
    pen.chord(box(CX, CY + B - 30, 84, 60), 0, 180, fill=mix(skin, INK, 0.1))
    clothes(img, p)
    for s in (-1, 1):  # ears
        pen.ellipse(box(CX + s * (A - 4), EYE_Y + 40, 30, 50), fill=skin)
        pen.ellipse(box(CX + s * (A + 2), EYE_Y + 40, 13, 26), fill=mix(skin, INK, 0.22))
    pen.polygon(head(), fill=skin)
    hair_front(pen, p)
    face(pen, p)
    headwear(pen, p)
    return img.resize((W, H), Image.LANCZOS)


def main() -> None:
    for rel, spec in PEOPLE.items():
        looks = dict(item.split("=") for item in spec.split())
        img = portrait({k: rgb(v) if v.startswith("#") else v for k, v in looks.items()})
        out = HERE / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        img.save(out, quality=88, optimize=True)  # the format follows the suffix (.jpg or .png)
        print(f"wrote {out.relative_to(HERE)}")


if __name__ == "__main__":
    main()
