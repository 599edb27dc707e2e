"""The offline demo provider's drawing, and grainy variants of it for benchmarks."""

from __future__ import annotations

import colorsys
import hashlib
import io
import random

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFilter, ImageFont

DEMO_CANVAS_SIDE = 256
DEMO_MAX_SIDE = 8192
# Pillow's built-in font covers Latin scripts only; other characters would draw as boxes.
DEMO_LABEL_MAX_CODEPOINT = 0x17F


def _hsv_to_rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return (round(red * 255), round(green * 255), round(blue * 255))


def _demo_label(*, prompt: str, index: int) -> str:
    latin = "".join(ch for ch in prompt if ord(ch) <= DEMO_LABEL_MAX_CODEPOINT)
    words = " ".join(latin.split()[:6])
    if len(words) > 48:
        words = words[:47].rstrip() + "…"
    tag = f"demo #{index + 1}"
    return f"{words}  ·  {tag}" if words else tag


def draw_demo_image(*, prompt: str, index: int, width: int, height: int) -> bytes:
    """A pleasant abstract PNG for the offline demo provider, the same for the same inputs.

    The palette comes from the prompt alone, so the n images of one generation look like a
    family; the layout comes from prompt and index, so they still differ.
    """
    if not (1 <= width <= DEMO_MAX_SIDE and 1 <= height <= DEMO_MAX_SIDE):
        raise ValueError(
            f"Demo images are 1 to {DEMO_MAX_SIDE} pixels a side, not {width}x{height}."
        )
    prompt_digest = hashlib.sha256(prompt.encode()).digest()
    # hashlib rather than hash(): str hashes are salted per process, and a re-run must redraw
    # the same image.
    rng = random.Random(hashlib.sha256(f"{index}\x00{prompt}".encode()).digest())  # noqa: S311

    base_hue = int.from_bytes(prompt_digest[:4]) / 2**32
    # Analogous, split-complementary, complementary or triadic, chosen by the prompt.
    offset = (0.08, 0.42, 0.5, 0.33, 0.58, 0.12)[prompt_digest[4] % 6]
    hue = base_hue + rng.uniform(-0.05, 0.05)
    palette = [
        _hsv_to_rgb(hue + shift, rng.uniform(0.45, 0.9), rng.uniform(0.6, 0.98))
        for shift in (0, offset, -offset / 2, 0.04, offset + 0.05)
    ]
    shadow = _hsv_to_rgb(hue + offset / 2, rng.uniform(0.4, 0.75), rng.uniform(0.1, 0.28))

    scale = DEMO_CANVAS_SIDE / max(width, height)
    small = (max(1, round(width * scale)), max(1, round(height * scale)))
    ramp = (
        PILImage.linear_gradient("L")
        .rotate(rng.uniform(0, 360), resample=PILImage.Resampling.BILINEAR)
        .resize(small)
    )
    canvas = PILImage.composite(
        PILImage.new("RGB", small, palette[0]), PILImage.new("RGB", small, shadow), ramp
    )
    # An RGBA drawer on an RGB image blends each translucent shape into what is below it.
    draw = ImageDraw.Draw(canvas, "RGBA")
    side = max(small)
    for _ in range(rng.randint(5, 9)):
        radius = rng.uniform(0.08, 0.45) * side
        x, y = rng.uniform(0, small[0]), rng.uniform(0, small[1])
        colour = rng.choice(palette)
        draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius), fill=(*colour, rng.randint(70, 180))
        )
    canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(6, 14)))
    vignette = PILImage.radial_gradient("L").resize(small).point(lambda level: level // 2)
    canvas = PILImage.composite(PILImage.new("RGB", small, shadow), canvas, vignette)

    image = canvas.resize((width, height), PILImage.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image, "RGBA")
    unit = min(width, height)
    for _ in range(rng.randint(3, 7)):
        radius = rng.uniform(0.03, 0.2) * unit
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        colour = rng.choice(palette)
        box = (x - radius, y - radius, x + radius, y + radius)
        kind = rng.random()
        if kind < 0.45:
            draw.ellipse(box, fill=(*colour, rng.randint(100, 210)))
        elif kind < 0.8:
            outline = (255, 255, 255, rng.randint(80, 170))
            draw.ellipse(box, outline=outline, width=max(1, round(unit / 220)))
        else:
            sides = rng.randint(3, 6)
            draw.regular_polygon(
                (x, y, radius),
                sides,
                rotation=rng.uniform(0, 360),
                fill=(*colour, rng.randint(100, 210)),
            )

    font_size = max(8, round(unit / 42))
    if unit >= 96:
        font = ImageFont.load_default(size=font_size)
        anchor_at = (font_size, height - font_size)
        label = _demo_label(prompt=prompt, index=index)
        left, top, right, bottom = draw.textbbox(anchor_at, label, font=font, anchor="ls")
        pad = font_size // 2
        draw.rounded_rectangle(
            (left - pad, top - pad, right + pad, bottom + pad), radius=pad, fill=(0, 0, 0, 96)
        )
        draw.text(anchor_at, label, font=font, anchor="ls", fill=(255, 255, 255, 225))

    out = io.BytesIO()
    # Smooth gradients compress well even at level 1, and level 6 would triple the time.
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


# Benchmark support (bench_pipeline cannot import Pillow itself)


def grainy_demo_image(
    *, prompt: str, index: int, width: int, height: int, image_format: str
) -> bytes:
    """The demo drawing with film grain, as PNG, JPEG or WebP, for benchmarks.

    Smooth drawings compress and decode unrealistically fast; grain brings file sizes and decode
    times to those of the photographic images real models return (a 1024x1024 PNG of about
    1.4 MB, a JPEG of about 200 kB). The grain is random: two calls differ.
    """
    drawing = PILImage.open(
        io.BytesIO(draw_demo_image(prompt=prompt, index=index, width=width, height=height))
    ).convert("RGB")
    grain = PILImage.merge("RGB", [PILImage.effect_noise((width, height), 40) for _ in range(3)])
    grainy = PILImage.blend(drawing, grain, 0.12)
    out = io.BytesIO()
    options = {"JPEG": {"quality": 90}, "WEBP": {"quality": 90}}.get(image_format.upper(), {})
    grainy.save(out, format=image_format.upper(), **options)
    return out.getvalue()
