"""Image bytes: the demo provider's drawing, validation, storage, thumbnails and provenance.

The only module that imports Pillow, so decoding untrusted bytes happens in one audited place.

Storing a result (`store_image`) keeps the original byte for byte under its SHA-256 (what the
provider sent is what a download returns), and writes its thumbnails under the hashes of their
own bytes: a WebP for the grid and a preview for the lightbox (a JPEG, or a WebP when the picture
has transparency). A JPEG or WebP original that fits the preview's box needs no preview of its
own: thumbnail_large then names the original's file. Every file is complete before its name
exists, so a worker that dies mid-way leaves at worst an unreferenced finished file, which a
re-run reuses.

EXIF orientation: the original keeps its orientation tag (provenance: the stored bytes are the
provider's), while `width` and `height` record the picture as displayed (browsers honour the
tag) and the thumbnails are turned upright with no tag. Django's ImageField would fill its
width_field/height_field with the raw, unturned size if it ever measured the file itself (it
does when a file is assigned to `original` after the instance exists), so store_image passes
every field to the constructor and Django trusts the dimensions given, never opening the file.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import logging
import math
import os
import random
import re
import secrets
import struct
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from PIL import ExifTags, ImageDraw, ImageFilter, ImageFont
from PIL import Image as PILImage

from gallery.models import Generation, Image

logger = logging.getLogger(__name__)

# The demo drawing renders its soft layers on a canvas this big and scales them up: blurred
# shapes look the same at any size, and blurring 256 px costs a fraction of blurring 1024 px.
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


# --- Storing a result -------------------------------------------------------------------------

# The formats the images APIs return. Pillow is told to try only these, so a hostile payload
# never reaches the parsers of the thirty other formats it knows.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
ACCEPTED_FORMATS_TEXT = "a PNG, JPEG or WebP image"
# Pillow calls a JPEG that carries a multi-picture index "MPO"; browsers show it as a JPEG.
FORMAT_NAMES = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "WEBP": "webp"}
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}
FORMAT_LABELS = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP"}

# thumbnail_small fills a grid cell of up to 192 CSS pixels on a 2x screen; thumbnail_large is
# the lightbox's preview.
THUMBNAIL_SMALL_BOX = (384, 384)
THUMBNAIL_LARGE_BOX = (1280, 1280)
# Thumbnails are made on the way from an API response to a card, so libwebp runs at its fastest
# method: at the same quality setting the picture is as faithful (same PSNR) as at method 2,
# which takes 1.6 times as long for files 10-15% smaller on photographs, or method 4 (its
# default), four times as long for 4-7% smaller still.
THUMBNAIL_SMALL_WEBP = {"quality": 80, "method": 0}
# An encoded preview of an opaque picture is a JPEG: libjpeg-turbo encodes a megapixel in about
# a third of the time libwebp needs even at method 0, at the same fidelity (PSNR within 0.4 dB
# either way on photographs and on smooth drawings), for a file about twice the size; a preview
# is fetched one at a time, when the lightbox opens. Pictures with transparency keep WebP.
THUMBNAIL_LARGE_JPEG = {"quality": 85}
THUMBNAIL_LARGE_WEBP = {"quality": 82, "method": 0}
# A JPEG or WebP original that fits the preview's box and needs no turning is its own preview:
# thumbnail_large names the original's file, and nothing is encoded a second time. Not when it
# is heavier than this (4 bits a pixel, 512 kB at 1024x1024, a JPEG of quality 95 or so): the
# lightbox would then fetch several times the bytes of an encoded preview.
ORIGINAL_AS_PREVIEW_FORMATS = frozenset({"jpeg", "webp"})
# Modes every browser shows as they are (a CMYK JPEG's colours depend on the browser).
ORIGINAL_AS_PREVIEW_MODES = frozenset({"L", "RGB", "RGBA"})
ORIGINAL_AS_PREVIEW_MAX_BYTES_PER_PIXEL = 0.5
# Downscale first by the largest whole factor (a cheap box filter) that leaves the bicubic pass
# at least this much to smooth: 1024 -> 512 -> 384 costs half of a bicubic 1024 -> 384.
REDUCING_GAP = 1.25
DEFAULT_PLACEHOLDER_COLOR = "#888888"

ORIENTATION_TRANSPOSES = {
    2: PILImage.Transpose.FLIP_LEFT_RIGHT,
    3: PILImage.Transpose.ROTATE_180,
    4: PILImage.Transpose.FLIP_TOP_BOTTOM,
    5: PILImage.Transpose.TRANSPOSE,
    6: PILImage.Transpose.ROTATE_270,
    7: PILImage.Transpose.TRANSVERSE,
    8: PILImage.Transpose.ROTATE_90,
}


class InvalidImageError(ValueError):
    """Bytes that cannot become a gallery image. The message is written for the user."""

    def __init__(self, *, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason
        super().__init__(f"Image {index + 1} could not be read: {reason}.")


@dataclass(frozen=True)
class PreparedImage:
    """Everything store_image writes for one image, computed with a single decode."""

    format: str
    width: int  # as displayed, after the EXIF orientation
    height: int
    sha256: str
    thumbnail_small: bytes
    # The preview's bytes: the original's own when it serves as the preview.
    thumbnail_large: bytes
    thumbnail_large_extension: str
    thumbnail_large_is_original: bool
    placeholder_color: str


@dataclass(frozen=True)
class _Decoded:
    format: str
    width: int  # as displayed
    height: int
    icc_profile: bytes | None
    # Upright, in RGB or RGBA, fitting THUMBNAIL_LARGE_BOX: the pixels of an encoded preview, or,
    # when the original is the preview, whatever the grid thumbnail is made from (a JPEG's is
    # then decoded at a reduced scale, just larger than THUMBNAIL_SMALL_BOX).
    pixels: PILImage.Image
    original_is_preview: bool


@dataclass(frozen=True)
class _EncodedPreview:
    content: bytes
    extension: str


@dataclass(frozen=True)
class _GridThumbnail:
    webp: bytes
    placeholder_color: str


def _allow_pillow_up_to(pixels: int) -> None:
    # Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that, inside Image.open. Our
    # check against IMAGES_MAX_PIXELS, right after open, is the one that tells the user why;
    # Pillow's stays as the backstop for sizes far beyond any limit we would configure.
    if PILImage.MAX_IMAGE_PIXELS is not None and pixels > PILImage.MAX_IMAGE_PIXELS:
        PILImage.MAX_IMAGE_PIXELS = pixels


def _orientation(image: PILImage.Image) -> int:
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    # A malformed EXIF block must not cost the user the image: it is then shown as stored.
    except Exception:
        return 1
    return value if value in ORIENTATION_TRANSPOSES else 1


def _rgb_icc_profile(profile: bytes | None) -> bytes | None:
    # The thumbnails are RGB: a CMYK or greyscale original's profile would misdescribe them, and
    # they are better off with none (browsers then assume sRGB). Bytes 16-20 of an ICC header
    # name the colour space it describes.
    if profile and profile[16:20] == b"RGB ":
        return profile
    return None


def _displayable(image: PILImage.Image) -> PILImage.Image:
    """The image in a mode WebP can store: RGB, or RGBA when it has transparency."""
    if image.mode in {"RGB", "RGBA"}:
        return image
    if image.mode in {"I", "I;16", "I;16B", "I;16L"}:
        # 16-bit greyscale: convert() would clip every value above 255 to white.
        return image.convert("I").point(lambda level: level / 256).convert("L").convert("RGB")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _fitted_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    if width <= box[0] and height <= box[1]:
        return size
    scale = min(box[0] / width, box[1] / height)
    return (max(1, round(width * scale)), max(1, round(height * scale)))


def _fit(image: PILImage.Image, box: tuple[int, int]) -> PILImage.Image:
    size = _fitted_size(image.size, box)
    if size == image.size:
        return image
    return image.resize(size, PILImage.Resampling.BICUBIC, reducing_gap=REDUCING_GAP)


def _three_eighths(size: tuple[int, int]) -> tuple[int, int]:
    # What libjpeg decodes at 3/8: each side rounded up.
    return (-(-size[0] * 3 // 8), -(-size[1] * 3 // 8))


def _draft_jpeg(image: PILImage.Image, size: tuple[int, int]) -> bool:
    """Have libjpeg decode the JPEG at the smallest scale whose picture still covers `size`.

    libjpeg scales while decoding, much faster than a full decode and a resize, and still
    reads every byte (truncation is still caught). Pillow's draft() offers 1/2, 1/4 and 1/8;
    libjpeg also decodes at 3/8, which makes a 1024-pixel side exactly the grid thumbnail's
    384: no resize at all, in half the time of decoding at 1/2 and resizing, and as sharp. Pillow
    has no API for it, so for 3/8 this sets what draft() sets (the tile's extent, the size, and
    the decoder's scale denominator: 3, which libjpeg rounds up to 3/8) and returns True. Were
    another libjpeg or Pillow to decode a different size, load() fails and _decode decodes again
    through draft() alone.
    """
    width, height = image.size
    scaled = _three_eighths(image.size)
    # draft() reckons its scale by whole divisions; from 1/4 down, it goes below 3/8 itself.
    reductions = min(width // size[0], height // size[1])
    if reductions >= 4 or scaled[0] < size[0] or scaled[1] < size[1] or len(image.tile) != 1:
        image.draft(image.mode, size)
        return False
    tile = image.tile[0]
    left, top = tile.extents[:2] if tile.extents else (0, 0)
    image.tile = [tile._replace(extents=(left, top, left + scaled[0], top + scaled[1]))]
    image._size = scaled
    image.decoderconfig = (3, 0)
    return True


def _encoded(
    image: PILImage.Image, *, image_format: str, icc_profile: bytes | None, options: dict[str, int]
) -> bytes:
    out = io.BytesIO()
    # Only the colour profile travels with the pixels: the EXIF stays behind, or a viewer would
    # turn the already upright thumbnail a second time.
    image.save(out, format=image_format, icc_profile=icc_profile or b"", **options)
    return out.getvalue()


def _average_color(image: PILImage.Image) -> str:
    # Pillow resamples RGBA with premultiplied alpha, so transparent pixels do not darken the
    # average; a wholly transparent image keeps the neutral default.
    pixel = image.resize((1, 1), PILImage.Resampling.BOX).getpixel((0, 0))
    assert isinstance(pixel, tuple)
    if len(pixel) == 4 and pixel[3] == 0:
        return DEFAULT_PLACEHOLDER_COLOR
    return "#{:02x}{:02x}{:02x}".format(*pixel[:3])


def _can_be_its_own_preview(image: PILImage.Image, *, format_name: str, size: int) -> bool:
    """Whether the original file, as it is, can serve as the preview (see ORIGINAL_AS_PREVIEW_*).

    Asked before the pixels are decoded: a JPEG's and a WebP's EXIF is read when they are opened.
    """
    width, height = image.size
    return (
        format_name in ORIGINAL_AS_PREVIEW_FORMATS
        and image.mode in ORIGINAL_AS_PREVIEW_MODES
        and width <= THUMBNAIL_LARGE_BOX[0]
        and height <= THUMBNAIL_LARGE_BOX[1]
        and size <= ORIGINAL_AS_PREVIEW_MAX_BYTES_PER_PIXEL * width * height
        and getattr(image, "n_frames", 1) == 1
        and _orientation(image) == 1
    )


def _decode(*, data: bytes, index: int) -> _Decoded:
    """Validate the bytes and decode them once, into the upright pixels the thumbnails need.

    Raises InvalidImageError for empty, unknown, corrupt, truncated or oversized data.
    """
    if not data:
        raise InvalidImageError(index=index, reason="no data came back")
    limit = settings.IMAGES_MAX_PIXELS
    _allow_pillow_up_to(limit)
    too_large = f"it has more pixels than the limit of {limit:,}"
    try:
        # Never closed: it reads from `data` in memory, and the pixels may be this very object.
        image = PILImage.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except PILImage.DecompressionBombError as error:
        raise InvalidImageError(index=index, reason=too_large) from error
    # Pillow's parsers report malformed data through many exception types (OSError, SyntaxError,
    # struct.error, ValueError, ...); whatever they raise, the bytes are not an image we keep.
    except Exception as error:
        raise InvalidImageError(
            index=index, reason=f"the data is not {ACCEPTED_FORMATS_TEXT}"
        ) from error

    format_name = FORMAT_NAMES[image.format or ""]
    width, height = image.size
    if width * height > limit:
        raise InvalidImageError(index=index, reason=f"it is {width}x{height} pixels, {too_large}")
    original_is_preview = _can_be_its_own_preview(image, format_name=format_name, size=len(data))
    # Only the grid thumbnail is made from the pixels of an original that is its own preview.
    # The boxes are square, so the stored, unturned size asks for as many pixels as the shown one.
    needed = _fitted_size(
        image.size, THUMBNAIL_SMALL_BOX if original_is_preview else THUMBNAIL_LARGE_BOX
    )
    three_eighths = format_name == "jpeg" and _draft_jpeg(image, needed)
    truncated = f"the {FORMAT_LABELS[format_name]} data is truncated or corrupt"
    try:
        image.load()
    except Exception as error:
        if not three_eighths:
            raise InvalidImageError(index=index, reason=truncated) from error
        # Bad data, or a libjpeg that did not decode at 3/8 (see _draft_jpeg): decode again.
        image = PILImage.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        image.draft(image.mode, needed)
        try:
            image.load()
        except Exception as second_error:
            raise InvalidImageError(index=index, reason=truncated) from second_error
        logger.warning("libjpeg did not decode image %s at 3/8 scale: %r", index, error)
    orientation = _orientation(image)
    if orientation in {5, 6, 7, 8}:
        width, height = height, width
    # Resize before turning: the box is square, and turning the smaller image is cheaper.
    pixels = _fit(_displayable(image), THUMBNAIL_LARGE_BOX)
    if transpose := ORIENTATION_TRANSPOSES.get(orientation):
        pixels = pixels.transpose(transpose)
    return _Decoded(
        format=format_name,
        width=width,
        height=height,
        icc_profile=_rgb_icc_profile(image.info.get("icc_profile")),
        pixels=pixels,
        original_is_preview=original_is_preview,
    )


def _encode_preview(decoded: _Decoded) -> _EncodedPreview:
    pixels = decoded.pixels
    # Many PNGs carry an alpha channel they never use: their preview can be a JPEG too.
    if pixels.mode == "RGBA" and pixels.getchannel("A").getextrema()[0] == 255:
        pixels = pixels.convert("RGB")
    if pixels.mode == "RGB":
        options, image_format, extension = THUMBNAIL_LARGE_JPEG, "JPEG", "jpg"
    else:
        options, image_format, extension = THUMBNAIL_LARGE_WEBP, "WEBP", "webp"
    content = _encoded(
        pixels, image_format=image_format, icc_profile=decoded.icc_profile, options=options
    )
    return _EncodedPreview(content=content, extension=extension)


def _grid_thumbnail(decoded: _Decoded) -> _GridThumbnail:
    small = _fit(decoded.pixels, THUMBNAIL_SMALL_BOX)
    if small is decoded.pixels and not decoded.original_is_preview:
        # Image.save() keeps its options on the image object, and the preview may be encoding
        # in another thread at this moment: saving one object twice at once mixes the options.
        small = small.copy()
    webp = _encoded(
        small, image_format="WEBP", icc_profile=decoded.icc_profile, options=THUMBNAIL_SMALL_WEBP
    )
    return _GridThumbnail(webp=webp, placeholder_color=_average_color(small))


@contextmanager
def _preview_in_background(decoded: _Decoded) -> Iterator[Callable[[], _EncodedPreview | None]]:
    """Encode the preview beside the rest of the work; what is yielded waits for the result.

    The result is None when the original file is the preview. Encoding is the costliest step
    and releases the GIL, so it runs beside the grid thumbnail, the hash and the file writes.
    """
    if decoded.original_is_preview:
        yield lambda: None
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="preview") as encoder:
        yield encoder.submit(_encode_preview, decoded).result


def prepare_image(*, data: bytes, index: int) -> PreparedImage:
    """Validate image bytes and make everything store_image writes, without writing it.

    Raises InvalidImageError for empty, unknown, corrupt, truncated or oversized data.
    """
    decoded = _decode(data=data, index=index)
    with _preview_in_background(decoded) as preview_result:
        grid = _grid_thumbnail(decoded)
        sha256 = hashlib.sha256(data).hexdigest()
        preview = preview_result()
    if preview is None:
        preview = _EncodedPreview(content=data, extension=EXTENSIONS[decoded.format])
    return PreparedImage(
        format=decoded.format,
        width=decoded.width,
        height=decoded.height,
        sha256=sha256,
        thumbnail_small=grid.webp,
        thumbnail_large=preview.content,
        thumbnail_large_extension=preview.extension,
        thumbnail_large_is_original=decoded.original_is_preview,
        placeholder_color=grid.placeholder_color,
    )


class _FinishedTempFile(File):
    """A complete file on disk that FileSystemStorage moves into place with one rename."""

    def temporary_file_path(self) -> str:
        return self.file.name


def _local_path(storage: Storage, name: str) -> str | None:
    try:
        return storage.path(name)
    except NotImplementedError:
        return None


def _save_content_addressed(*, storage: Storage, name: str, data: bytes) -> tuple[str, bool]:
    """Save data under name unless a file already has that name; return (name, written).

    The name is a hash of the content, so an existing file holds the same bytes, and as every
    write below is atomic it is never a torn one.
    """
    if storage.exists(name):
        return name, False
    final_path = _local_path(storage, name)
    if final_path is None:
        # Object stores (S3 and the like) make an object visible only once its upload completed.
        saved = storage.save(name, ContentFile(data))
    else:
        # FileSystemStorage writes straight to the final name, so a crash would leave half a
        # file there. Write beside it under a temporary name, then let the storage rename it:
        # a rename within one directory is atomic.
        directory, filename = os.path.split(final_path)
        os.makedirs(directory, exist_ok=True)
        temp_path = os.path.join(directory, f".{filename}.{secrets.token_hex(6)}.part")
        # 0o666 through the umask, as FileSystemStorage creates files (mkstemp would make 0o600).
        descriptor = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(descriptor, "wb") as temp_file:
                temp_file.write(data)
            with open(temp_path, "rb") as finished:
                saved = storage.save(name, _FinishedTempFile(finished, name=filename))
        finally:
            if os.path.exists(temp_path):
                os.unlink(temp_path)
    if saved != name:
        # Another worker saved the same content between exists() and save(): keep theirs.
        storage.delete(saved)
        return name, False
    return name, True


def _discard_unreferenced(written: list[tuple[Storage, str]]) -> None:
    for storage, name in written:
        referenced = Image.objects.filter(
            Q(original=name) | Q(thumbnail_small=name) | Q(thumbnail_large=name)
        ).exists()
        if not referenced:
            storage.delete(name)


def store_image(
    *, generation: Generation, index: int, data: bytes, revised_prompt: str = ""
) -> Image:
    """Validate one image of a generation's result, save it with its thumbnails, and record it.

    Idempotent: if the generation already has an image at this index it is returned unchanged,
    so a generation re-run after a worker died never duplicates rows or files. Call it outside
    a long transaction: its files are written first and its row inserted last.

    Raises InvalidImageError (nothing written) when the bytes are not an image we keep.
    """
    existing = Image.objects.filter(generation=generation, index=index).first()
    if existing is not None:
        return existing

    try:
        decoded = _decode(data=data, index=index)
    except InvalidImageError as error:
        logger.warning(
            "Refused image %s of generation %s: %s (%r)",
            index,
            generation.pk,
            error.reason,
            error.__cause__,
        )
        raise

    fields = {
        field: Image._meta.get_field(field)
        for field in ("original", "thumbnail_small", "thumbnail_large")
    }
    # upload_to reads owner_id from the instance, and the names must be known before the row
    # is built: assigning a file to `original` after __init__ makes Django re-read it for its
    # raw dimensions (see "EXIF orientation" in the module docstring).
    naming = Image(owner_id=generation.owner_id, generation=generation, index=index)
    written: list[tuple[Storage, str]] = []

    def save(field: str, content: bytes, *, digest: str, extension: str) -> str:
        storage = fields[field].storage
        name = fields[field].generate_filename(naming, f"{digest}.{extension}")
        name, was_written = _save_content_addressed(storage=storage, name=name, data=content)
        if was_written:
            written.append((storage, name))
        return name

    try:
        # What prepare_image does, with the writes moved under the preview's encoding.
        with _preview_in_background(decoded) as preview_result:
            grid = _grid_thumbnail(decoded)
            sha256 = hashlib.sha256(data).hexdigest()
            original = save("original", data, digest=sha256, extension=EXTENSIONS[decoded.format])
            small = save(
                "thumbnail_small",
                grid.webp,
                digest=hashlib.sha256(grid.webp).hexdigest(),
                extension="webp",
            )
            preview = preview_result()
        if preview is None:
            # Both fields name one file (they share the default storage); the trash deletes a
            # file only once no row names it in any field.
            large = original
        else:
            large = save(
                "thumbnail_large",
                preview.content,
                digest=hashlib.sha256(preview.content).hexdigest(),
                extension=preview.extension,
            )
        # Every field, the dimensions included, goes through __init__: Django then trusts the
        # width and height given (EXIF-oriented) instead of reading the raw ones from the file.
        image = Image(
            generation=generation,
            owner_id=generation.owner_id,
            index=index,
            original=original,
            format=decoded.format,
            width=decoded.width,
            height=decoded.height,
            bytes=len(data),
            sha256=sha256,
            thumbnail_small=small,
            thumbnail_large=large,
            placeholder_color=grid.placeholder_color,
            revised_prompt=revised_prompt,
        )
        with transaction.atomic():
            image.save(force_insert=True)
    except IntegrityError:
        # Another run of this generation stored this index first: its row wins.
        _discard_unreferenced(written)
        winner = Image.objects.filter(generation=generation, index=index).first()
        if winner is None:
            raise
        return winner
    except Exception:
        _discard_unreferenced(written)
        raise
    return image


# --- Provenance in downloaded files ------------------------------------------------------------

# XMP properties with a standard home go there, where photo tools look; the rest go into our
# own namespace. The URI only names the namespace (.invalid never resolves).
ATELIER_XMP_NAMESPACE = "https://atelier.invalid/ns/xmp/1.0/"
XMP_STANDARD_PROPERTIES = {
    "title": ("dc", "title"),
    "description": ("dc", "description"),
    "software": ("xmp", "CreatorTool"),
}
XMP_LANGUAGE_ALTERNATIVES = {("dc", "title"), ("dc", "description")}
XMP_NAMESPACES = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "atelier": ATELIER_XMP_NAMESPACE,
}
JPEG_XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
JPEG_EXTENDED_XMP_SIGNATURE = b"http://ns.adobe.com/xmp/extension/\x00"
# A JPEG segment holds 65,533 bytes after its length field, the XMP signature included.
JPEG_XMP_MAX_BYTES = 65_533 - len(JPEG_XMP_SIGNATURE)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_TEXT_CHUNKS = {b"tEXt", b"zTXt", b"iTXt"}
# Characters XML 1.0 cannot carry at all, even escaped.
XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
XML_NAME_FORBIDDEN = re.compile(r"[^A-Za-z0-9_.-]")
WEBP_XMP_FLAG = 0x04
WEBP_ALPHA_FLAG = 0x10
# Chunks that come before XMP in an extended WebP (the container's required order).
WEBP_CHUNKS_BEFORE_XMP = {b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L", b"EXIF"}


def embed_provenance(*, data: bytes, image_format: str, metadata: dict[str, str]) -> bytes:
    """The original file with metadata (prompt, parameters, ...) embedded, pixels untouched.

    PNG: one tEXt chunk per entry (iTXt, UTF-8, when a value is not plain ASCII), keyed by the
    metadata key. JPEG and WebP: one XMP packet, inserted into the file as it is; "Title",
    "Description" and "Software" become dc:title, dc:description and xmp:CreatorTool, other
    keys atelier:<key> ("atelier:provenance" becomes atelier:provenance). Entries already in
    the file under the same keys (a PNG's text, a JPEG's or WebP's XMP) are replaced.

    A JPEG's XMP segment holds 64 kB: beyond that the longest values are cut, ending in "…".
    Raises ValueError when the data is not a file of that format or a key cannot be stored.
    """
    normalized = image_format.lower().replace("jpg", "jpeg")
    if normalized == "png":
        return _embed_png_text(data=data, metadata=metadata)
    if normalized == "jpeg":
        return _embed_jpeg_xmp(data=data, metadata=metadata)
    if normalized == "webp":
        return _embed_webp_xmp(data=data, metadata=metadata)
    raise ValueError(f"Provenance cannot be embedded in {image_format!r} files.")


def _png_chunk(chunk_type: bytes, payload: bytes) -> bytes:
    checksum = zlib.crc32(chunk_type + payload)
    return struct.pack(">I", len(payload)) + chunk_type + payload + struct.pack(">I", checksum)


def _png_keyword(key: str) -> bytes:
    # The PNG specification's keyword rules: 1-79 Latin-1 characters, no edge or double spaces.
    if not 1 <= len(key) <= 79 or key != key.strip() or "  " in key or not key.isprintable():
        raise ValueError(f"{key!r} cannot be a PNG text keyword.")
    try:
        return key.encode("latin-1")
    except UnicodeEncodeError as error:
        raise ValueError(f"{key!r} cannot be a PNG text keyword.") from error


def _embed_png_text(*, data: bytes, metadata: dict[str, str]) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("The data is not a PNG file.")
    keywords = {key: _png_keyword(key) for key in metadata}
    chunks: list[bytes] = []
    position = len(PNG_SIGNATURE)
    while position < len(data):
        if position + 12 > len(data):
            raise ValueError("The PNG file is truncated.")
        (length,) = struct.unpack(">I", data[position : position + 4])
        chunk_type = data[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(data):
            raise ValueError("The PNG file is truncated.")
        replaced = (
            chunk_type in PNG_TEXT_CHUNKS
            and data[position + 8 : end - 4].split(b"\x00", 1)[0] in keywords.values()
        )
        if not replaced:
            chunks.append(data[position:end])
        position = end
        if chunk_type == b"IEND":
            break
    if not chunks or chunks[0][4:8] != b"IHDR":
        raise ValueError("The PNG file has no header chunk.")

    text_chunks = []
    for key, raw_value in metadata.items():
        # A NUL would end the text early for every reader: the format has no escape for it.
        value = raw_value.replace("\x00", "")
        if value.isascii():
            text_chunks.append(_png_chunk(b"tEXt", keywords[key] + b"\x00" + value.encode()))
        else:
            # Keyword, compression flag and method, empty language tag and translated keyword.
            payload = keywords[key] + b"\x00\x00\x00\x00\x00" + value.encode()
            text_chunks.append(_png_chunk(b"iTXt", payload))
    # Right after the header, so readers that stop at the pixels (Pillow's open) still see it.
    return PNG_SIGNATURE + chunks[0] + b"".join(text_chunks) + b"".join(chunks[1:])


def _xmp_property(key: str) -> tuple[str, str]:
    if standard := XMP_STANDARD_PROPERTIES.get(key.casefold()):
        return standard
    local = key.removeprefix("atelier:")
    local = XML_NAME_FORBIDDEN.sub("_", local) or "_"
    if not (local[0].isalpha() or local[0] == "_"):
        local = f"_{local}"
    return "atelier", local


def _xmp_packet(metadata: dict[str, str]) -> bytes:
    elements = []
    for key, value in metadata.items():
        prefix, local = _xmp_property(key)
        text = escape(XML_FORBIDDEN.sub("", value))
        if (prefix, local) in XMP_LANGUAGE_ALTERNATIVES:
            text = f'<rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt>'
        elements.append(f"<{prefix}:{local}>{text}</{prefix}:{local}>")
    namespaces = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in XMP_NAMESPACES.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {namespaces}>{"".join(elements)}</rdf:Description>'
        "</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="r"?>'
    ).encode()


def _xmp_packet_within(metadata: dict[str, str], max_bytes: int) -> bytes:
    kept = {key: len(value) for key, value in metadata.items()}
    while True:
        shown = {
            key: value if kept[key] == len(value) else value[: kept[key]] + "…"
            for key, value in metadata.items()
        }
        packet = _xmp_packet(shown)
        excess = len(packet) - max_bytes
        if excess <= 0:
            return packet
        longest = max(kept, key=lambda key: kept[key], default=None)
        if longest is None or kept[longest] == 0:
            raise ValueError("The metadata keys alone do not fit in a JPEG XMP segment.")
        # Cut by the bytes over, converted to characters at this value's own bytes per
        # character (three for Chinese), plus one: it fits within a round or two.
        shown_bytes = len(escape(shown[longest]).encode())
        bytes_per_character = shown_bytes / max(1, len(shown[longest]))
        cut = math.ceil(excess / bytes_per_character) + 1
        kept[longest] = max(0, kept[longest] - cut)


def _embed_jpeg_xmp(*, data: bytes, metadata: dict[str, str]) -> bytes:
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("The data is not a JPEG file.")
    packet = _xmp_packet_within(metadata, JPEG_XMP_MAX_BYTES)
    segment_payload = JPEG_XMP_SIGNATURE + packet
    xmp_segment = b"\xff\xe1" + struct.pack(">H", len(segment_payload) + 2) + segment_payload

    # Walk the application segments that open the file. JFIF (APP0) and Exif (APP1) must come
    # first, so the XMP goes right after them; earlier XMP packets are dropped.
    out = [data[:2]]
    inserted = False
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            break
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        end = position + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("The JPEG file is truncated.")
        payload = data[position + 4 : end]
        leads = marker == 0xE0 or (marker == 0xE1 and payload.startswith(b"Exif\x00"))
        if not leads and not inserted:
            out.append(xmp_segment)
            inserted = True
        if not (
            marker == 0xE1 and payload.startswith((JPEG_XMP_SIGNATURE, JPEG_EXTENDED_XMP_SIGNATURE))
        ):
            out.append(data[position:end])
        position = end
    if not inserted:
        out.append(xmp_segment)
    out.append(data[position:])
    return b"".join(out)


def _webp_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    position = 12
    while position < len(data):
        if position + 8 > len(data):
            raise ValueError("The WebP file is truncated.")
        fourcc = data[position : position + 4]
        (size,) = struct.unpack("<I", data[position + 4 : position + 8])
        end = position + 8 + size + (size & 1)
        if position + 8 + size > len(data):
            raise ValueError("The WebP file is truncated.")
        yield fourcc, data[position:end]
        position = end


def _webp_canvas(fourcc: bytes, chunk: bytes) -> tuple[int, int, bool]:
    """Width, height and whether there is alpha, from a simple WebP's only image chunk."""
    payload = chunk[8:]
    if fourcc == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        (bits,) = struct.unpack("<I", payload[1:5])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool(bits >> 28 & 1)
    if fourcc == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", payload[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    raise ValueError("The WebP file's image data is not VP8 or VP8L.")


def _embed_webp_xmp(*, data: bytes, metadata: dict[str, str]) -> bytes:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("The data is not a WebP file.")
    chunks = [(fourcc, chunk) for fourcc, chunk in _webp_chunks(data) if fourcc != b"XMP "]
    if not chunks:
        raise ValueError("The WebP file has no image data.")
    first_fourcc, first_chunk = chunks[0]
    if first_fourcc == b"VP8X":
        flags = first_chunk[8] | WEBP_XMP_FLAG
        chunks[0] = (first_fourcc, first_chunk[:8] + bytes([flags]) + first_chunk[9:])
    else:
        # A simple WebP (one VP8 or VP8L chunk) carries no metadata: it becomes an extended one,
        # whose VP8X header repeats the canvas size. The image data itself is not touched.
        width, height, has_alpha = _webp_canvas(first_fourcc, first_chunk)
        flags = WEBP_XMP_FLAG | (WEBP_ALPHA_FLAG if has_alpha else 0)
        header = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
        header += (height - 1).to_bytes(3, "little")
        chunks.insert(0, (b"VP8X", b"VP8X" + struct.pack("<I", len(header)) + header))

    packet = _xmp_packet(metadata)
    xmp_chunk = b"XMP " + struct.pack("<I", len(packet)) + packet + b"\x00" * (len(packet) & 1)
    after = max(
        (
            position
            for position, (fourcc, _) in enumerate(chunks)
            if fourcc in WEBP_CHUNKS_BEFORE_XMP
        ),
        default=0,
    )
    chunks.insert(after + 1, (b"XMP ", xmp_chunk))
    body = b"WEBP" + b"".join(chunk for _, chunk in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- Benchmark support (bench_pipeline cannot import Pillow itself) ----------------------------


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


def decode_image(*, data: bytes) -> tuple[int, int]:
    """Decode every pixel and return the size: the floor store_image is measured against."""
    with PILImage.open(io.BytesIO(data)) as image:
        image.load()
        return image.size
