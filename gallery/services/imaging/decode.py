"""Validating image bytes and making their thumbnails, with a single decode.

Pillow is told to try only the formats the images APIs return. EXIF orientation: `width` and
`height` record the picture as displayed (browsers honour the tag) and the thumbnails are turned
upright with no tag, while the original keeps its bytes (see storage.py).
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_noop
from PIL import ExifTags
from PIL import Image as PILImage

from gallery.i18n import Message

logger = logging.getLogger(__name__)

# The formats the images APIs return. Pillow is told to try only these, so a hostile payload
# never reaches the parsers of the thirty other formats it knows.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
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
    """Bytes that cannot become a gallery image. `message` is written for the user (a
    gallery.i18n.Message, read in each viewer's language); str() is its English."""

    def __init__(self, *, index: int, reason: Message) -> None:
        self.index = index
        self.reason = reason.english()  # for logs
        self.message = Message(
            gettext_noop("Image %(position)s could not be read: %(reason)s."),
            position=index + 1,
            reason=reason,
        )
        super().__init__(self.message.english())


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
class DecodedImage:
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
class EncodedPreview:
    content: bytes
    extension: str


@dataclass(frozen=True)
class GridThumbnail:
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


def decode_pixels(*, data: bytes, index: int) -> DecodedImage:
    """Validate the bytes and decode them once, into the upright pixels the thumbnails need.

    Raises InvalidImageError for empty, unknown, corrupt, truncated or oversized data.
    """
    if not data:
        raise InvalidImageError(index=index, reason=Message(gettext_noop("no data came back")))
    limit = settings.IMAGES_MAX_PIXELS
    _allow_pillow_up_to(limit)
    too_large = Message(
        gettext_noop("it has more pixels than the limit of %(limit)s"), limit=f"{limit:,}"
    )
    try:
        # Never closed: it reads from `data` in memory, and the pixels may be this very object.
        image = PILImage.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except PILImage.DecompressionBombError as error:
        raise InvalidImageError(index=index, reason=too_large) from error
    # Pillow's parsers report malformed data through many exception types (OSError, SyntaxError,
    # struct.error, ValueError, ...); whatever they raise, the bytes are not an image we keep.
    except Exception as error:
        raise InvalidImageError(
            index=index,
            reason=Message(gettext_noop("the data is not a PNG, JPEG or WebP image")),
        ) from error

    format_name = FORMAT_NAMES[image.format or ""]
    width, height = image.size
    if width * height > limit:
        raise InvalidImageError(
            index=index,
            reason=Message(
                gettext_noop("it is %(width)sx%(height)s pixels, %(too_large)s"),
                width=width,
                height=height,
                too_large=too_large,
            ),
        )
    original_is_preview = _can_be_its_own_preview(image, format_name=format_name, size=len(data))
    # Only the grid thumbnail is made from the pixels of an original that is its own preview.
    # The boxes are square, so the stored, unturned size asks for as many pixels as the shown one.
    needed = _fitted_size(
        image.size, THUMBNAIL_SMALL_BOX if original_is_preview else THUMBNAIL_LARGE_BOX
    )
    three_eighths = format_name == "jpeg" and _draft_jpeg(image, needed)
    truncated = Message(
        gettext_noop("the %(format)s data is truncated or corrupt"),
        format=FORMAT_LABELS[format_name],
    )
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
    return DecodedImage(
        format=format_name,
        width=width,
        height=height,
        icc_profile=_rgb_icc_profile(image.info.get("icc_profile")),
        pixels=pixels,
        original_is_preview=original_is_preview,
    )


def _encode_preview(decoded: DecodedImage) -> EncodedPreview:
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
    return EncodedPreview(content=content, extension=extension)


def grid_thumbnail(decoded: DecodedImage) -> GridThumbnail:
    small = _fit(decoded.pixels, THUMBNAIL_SMALL_BOX)
    if small is decoded.pixels and not decoded.original_is_preview:
        # Image.save() keeps its options on the image object, and the preview may be encoding
        # in another thread at this moment: saving one object twice at once mixes the options.
        small = small.copy()
    webp = _encoded(
        small, image_format="WEBP", icc_profile=decoded.icc_profile, options=THUMBNAIL_SMALL_WEBP
    )
    return GridThumbnail(webp=webp, placeholder_color=_average_color(small))


@contextmanager
def preview_in_background(decoded: DecodedImage) -> Iterator[Callable[[], EncodedPreview | None]]:
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
    decoded = decode_pixels(data=data, index=index)
    with preview_in_background(decoded) as preview_result:
        grid = grid_thumbnail(decoded)
        sha256 = hashlib.sha256(data).hexdigest()
        preview = preview_result()
    if preview is None:
        preview = EncodedPreview(content=data, extension=EXTENSIONS[decoded.format])
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


def decode_image(*, data: bytes) -> tuple[int, int]:
    """Decode every pixel and return the size: the floor store_image is measured against."""
    with PILImage.open(io.BytesIO(data)) as image:
        image.load()
        return image.size
