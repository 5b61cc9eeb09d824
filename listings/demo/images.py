"""Pillow-drawn pictures for demo technologies: a sky gradient and shapes that suggest the field."""

import io
import math
import random

from PIL import Image, ImageDraw, ImageFilter

from listings.vocab import Field

WIDTH, HEIGHT = 960, 600

# sky top, sky bottom, ground, accent
PALETTES = {
    Field.AGRICULTURE: ((70, 130, 200), (190, 220, 245), (196, 160, 70), (120, 150, 50)),
    Field.ENERGY: ((20, 80, 170), (140, 200, 250), (150, 130, 110), (30, 50, 110)),
    Field.ENVIRONMENT: ((60, 120, 180), (200, 230, 240), (90, 140, 90), (235, 245, 250)),
    Field.BIOMED: ((120, 60, 120), (235, 215, 235), (150, 90, 60), (200, 60, 60)),
    Field.ELECTRONICS: ((15, 30, 60), (40, 90, 140), (20, 40, 70), (90, 220, 240)),
    Field.URBAN: ((80, 140, 210), (220, 235, 250), (160, 150, 140), (200, 120, 60)),
}
DEFAULT_PALETTE = ((90, 110, 150), (210, 220, 235), (140, 140, 130), (230, 170, 60))

CAPTIONS = {
    Field.AGRICULTURE: ("示范基地现场", "产品与原料"),
    Field.ENERGY: ("高海拔示范电站", "设备安装现场"),
    Field.ENVIRONMENT: ("监测点位现场", "治理前后对比"),
    Field.BIOMED: ("原料药材", "中试车间"),
    Field.ELECTRONICS: ("系统界面示意", "终端设备"),
    Field.URBAN: ("示范工程外景", "施工节点"),
}


def caption(field: str, position: int) -> str:
    return CAPTIONS.get(field, ("成果展示", "应用现场"))[position % 2]


def _gradient(top, bottom) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    for y in range(HEIGHT):
        t = y / (HEIGHT - 1)
        draw.line([(0, y), (WIDTH, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return image


def _mountains(draw, rng, colour, base: int) -> None:
    points, x = [(0, HEIGHT)], -60
    while x < WIDTH + 60:
        half = rng.randint(70, 140)
        points += [(x, base - rng.randint(0, 40)), (x + half, base - rng.randint(90, 230))]
        x += 2 * half
    points += [(x, base), (WIDTH, HEIGHT)]
    draw.polygon(points, fill=colour)
    for i in range(2, len(points) - 2, 2):  # snow caps: the top quarter of each peak
        (lx, ly), (px, py), (rx, ry) = points[i - 1], points[i], points[i + 1]
        cap = [(px + (lx - px) * 0.28, py + (ly - py) * 0.28), (px, py), (px + (rx - px) * 0.28, py + (ry - py) * 0.28)]
        draw.polygon(cap, fill=(245, 248, 252))


def draw(*, field: str, seed: int) -> bytes:
    rng = random.Random(seed)
    top, bottom, ground, accent = PALETTES.get(field, DEFAULT_PALETTE)
    image = _gradient(top, bottom)
    canvas = ImageDraw.Draw(image)
    canvas.ellipse([780, 50, 860, 130], fill=(255, 240, 190))  # the plateau sun
    _mountains(canvas, rng, tuple(max(0, round(c * 0.55)) for c in bottom), 400)
    canvas.rectangle([0, 400, WIDTH, HEIGHT], fill=ground)
    painter = _PAINTERS.get(field, _blocks)
    painter(canvas, rng, accent)
    image = image.filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _fields(canvas, rng, accent) -> None:  # furrows and barley ears
    for i in range(12):
        y = 410 + i * 16
        canvas.line([(0, y), (WIDTH, y + rng.randint(-8, 8))], fill=accent, width=4)
    for _ in range(40):
        x, y = rng.randint(0, WIDTH), rng.randint(420, HEIGHT)
        canvas.ellipse([x, y, x + 8, y + 22], fill=(230, 200, 90))


def _panels(canvas, rng, accent) -> None:  # rows of solar panels
    for row in range(3):
        y = 430 + row * 55
        for col in range(9):
            x = 30 + col * 105 + row * 12
            canvas.polygon(
                [(x, y + 40), (x + 20, y), (x + 110, y), (x + 90, y + 40)], fill=accent, outline=(200, 220, 240)
            )


def _water(canvas, rng, accent) -> None:  # a glacial lake with ripples
    canvas.ellipse([180, 420, 780, 560], fill=(70, 160, 190))
    for i in range(6):
        canvas.arc([240 + i * 20, 450 + i * 6, 720 - i * 20, 530 - i * 6], 190, 350, fill=accent, width=2)


def _molecules(canvas, rng, accent) -> None:  # herbs and a ring structure
    cx, cy = 480, 480
    nodes = [(cx + 70 * math.cos(a * math.pi / 3), cy + 50 * math.sin(a * math.pi / 3)) for a in range(6)]
    canvas.line([*nodes, nodes[0]], fill=accent, width=6)
    for x, y in nodes:
        canvas.ellipse([x - 12, y - 12, x + 12, y + 12], fill=(250, 250, 250), outline=accent, width=3)
    for _ in range(18):
        x = rng.randint(0, WIDTH)
        canvas.line([(x, HEIGHT), (x + rng.randint(-20, 20), 440)], fill=(90, 130, 60), width=3)


def _circuits(canvas, rng, accent) -> None:  # a circuit board
    for _ in range(28):
        x, y = rng.randint(0, WIDTH), rng.randint(410, HEIGHT)
        length = rng.randint(40, 160)
        canvas.line([(x, y), (x + length, y), (x + length, y - 30)], fill=accent, width=3)
        canvas.ellipse([x - 5, y - 5, x + 5, y + 5], fill=accent)


def _blocks(canvas, rng, accent) -> None:  # buildings
    x = 20
    while x < WIDTH:
        w, h = rng.randint(60, 120), rng.randint(60, 170)
        canvas.rectangle([x, 420 - h, x + w, 420], fill=accent, outline=(250, 240, 220), width=2)
        for wy in range(420 - h + 12, 410, 24):
            canvas.rectangle([x + 10, wy, x + w - 10, wy + 8], fill=(250, 235, 200))
        x += w + rng.randint(10, 30)


_PAINTERS = {
    Field.AGRICULTURE: _fields,
    Field.ENERGY: _panels,
    Field.ENVIRONMENT: _water,
    Field.BIOMED: _molecules,
    Field.ELECTRONICS: _circuits,
    Field.URBAN: _blocks,
}
