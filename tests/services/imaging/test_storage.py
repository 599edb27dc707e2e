from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.db import IntegrityError
from PIL import Image as PILImage
from PIL import ImageChops, ImageCms, ImageStat

from gallery.models import Generation, Image
from gallery.services import imaging
from gallery.services.imaging import decode
from tests.factories import personal_workspace
from tests.images import (
    close_to,
    files_under,
    make_decompression_bomb_png,
    make_image_bytes,
    open_image,
    read,
    stored_names,
)

# --- Storing results --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pillow_format", "stored_format", "extension"),
    [("PNG", "png", "png"), ("JPEG", "jpeg", "jpg"), ("WEBP", "webp", "webp")],
)
def test_store_image_records_and_saves_each_format(
    generation, media_root, pillow_format, stored_format, extension
):
    data = make_image_bytes(format=pillow_format, size=(64, 48))

    image = imaging.store_image(
        generation=generation, index=2, data=data, revised_prompt="a red fox, snowing"
    )

    image.refresh_from_db()
    digest = hashlib.sha256(data).hexdigest()
    assert image.generation == generation
    assert image.workspace_id == generation.workspace_id
    assert image.created_by_id == generation.created_by_id
    assert image.index == 2
    assert (image.format, image.width, image.height) == (stored_format, 64, 48)
    assert (image.bytes, image.sha256) == (len(data), digest)
    assert image.revised_prompt == "a red fox, snowing"
    assert image.original.name == f"w{generation.workspace_id}/originals/{digest}.{extension}"
    assert read(image.original) == data
    small = read(image.thumbnail_small)
    assert image.thumbnail_small.name == (
        f"w{generation.workspace_id}/thumbnails/{hashlib.sha256(small).hexdigest()}.webp"
    )
    assert open_image(small).format == "WEBP"
    assert open_image(small).size == (64, 48)  # never enlarged
    if pillow_format == "PNG":
        # An opaque picture's preview is a JPEG of its own.
        large = read(image.thumbnail_large)
        assert image.thumbnail_large.name == (
            f"w{generation.workspace_id}/thumbnails/{hashlib.sha256(large).hexdigest()}.jpg"
        )
        assert open_image(large).format == "JPEG"
        assert open_image(large).size == (64, 48)
    else:
        # A JPEG or WebP that fits the preview's box is its own preview.
        assert image.thumbnail_large.name == image.original.name
    assert re.fullmatch(r"#[0-9a-f]{6}", image.placeholder_color)
    assert files_under(media_root) == stored_names(image)


def test_preparing_the_same_bytes_gives_the_same_files():
    for data in (make_image_bytes(), make_image_bytes(size=(900, 700), noisy=True)):
        first = imaging.prepare_image(data=data, index=0)
        assert all(imaging.prepare_image(data=data, index=0) == first for _ in range(5))


@pytest.mark.parametrize(
    ("pillow_format", "options", "large_extension"),
    [
        ("JPEG", {}, "jpg"),  # its own preview
        ("JPEG", {"exif_orientation": 6}, "jpg"),  # an encoded one, turned upright
        ("PNG", {}, "jpg"),
        ("PNG", {"mode": "RGBA", "color": (200, 80, 40, 128)}, "webp"),
    ],
    ids=["jpeg", "jpeg-exif", "png", "png-alpha"],
)
def test_store_image_writes_what_prepare_image_makes(
    generation, pillow_format, options, large_extension
):
    data = make_image_bytes(format=pillow_format, size=(500, 300), **options)
    prepared = imaging.prepare_image(data=data, index=0)

    image = imaging.store_image(generation=generation, index=0, data=data)

    assert (image.format, image.sha256) == (prepared.format, prepared.sha256)
    assert (image.width, image.height) == (prepared.width, prepared.height)
    assert image.placeholder_color == prepared.placeholder_color
    assert read(image.thumbnail_small) == prepared.thumbnail_small
    assert read(image.thumbnail_large) == prepared.thumbnail_large
    assert image.thumbnail_large.name.endswith(f".{prepared.thumbnail_large_extension}")
    assert prepared.thumbnail_large_extension == large_extension
    assert prepared.thumbnail_large_is_original == (image.thumbnail_large == image.original)


def test_the_format_comes_from_the_bytes_not_from_a_name(generation):
    image = imaging.store_image(
        generation=generation, index=0, data=make_image_bytes(format="JPEG", size=(40, 30))
    )

    assert image.format == "jpeg"
    assert image.original.name.endswith(".jpg")


@pytest.mark.parametrize(
    ("size", "small", "large"),
    [
        ((2000, 1000), (384, 192), (1280, 640)),
        ((1000, 3000), (128, 384), (427, 1280)),
        ((1024, 1024), (384, 384), (1024, 1024)),
    ],
)
def test_thumbnails_fit_their_boxes_keeping_the_aspect_ratio(generation, size, small, large):
    image = imaging.store_image(generation=generation, index=0, data=make_image_bytes(size=size))

    assert (image.width, image.height) == size
    assert open_image(read(image.thumbnail_small)).size == small
    assert open_image(read(image.thumbnail_large)).size == large


@pytest.mark.parametrize(
    ("pillow_format", "options"),
    [
        ("JPEG", {"size": (1280, 720)}),
        ("JPEG", {"mode": "L", "color": 200}),
        ("JPEG", {"progressive": True}),
        ("WEBP", {}),
        ("WEBP", {"lossless": True}),
        ("WEBP", {"mode": "RGBA", "color": (200, 80, 40, 128)}),
    ],
    ids=[
        "jpeg-fits-the-box",
        "jpeg-grey",
        "jpeg-progressive",
        "webp",
        "webp-lossless",
        "webp-alpha",
    ],
)
def test_a_jpeg_or_webp_that_fits_the_preview_box_is_its_own_preview(
    generation, media_root, pillow_format, options
):
    data = make_image_bytes(format=pillow_format, **options)

    image = imaging.store_image(generation=generation, index=0, data=data)

    assert image.thumbnail_large.name == image.original.name
    assert read(image.thumbnail_large) == data
    # No third file: the original and the grid thumbnail are all there is.
    assert files_under(media_root) == {image.original.name, image.thumbnail_small.name}
    assert open_image(read(image.thumbnail_small)).format == "WEBP"


def animated_webp() -> bytes:
    frames = [open_image(make_image_bytes(color=color)) for color in ((250, 0, 0), (0, 250, 0))]
    out = io.BytesIO()
    frames[0].save(out, format="WEBP", save_all=True, append_images=frames[1:])
    return out.getvalue()


def cmyk_jpeg() -> bytes:
    return make_image_bytes(format="JPEG", mode="CMYK", color=(0, 0, 0, 0))


def heavy_jpeg() -> bytes:
    # Noise at quality 100: about 2 bytes a pixel, four times the limit for serving as a preview.
    return make_image_bytes(format="JPEG", size=(300, 200), noisy=True, quality=100)


@pytest.mark.parametrize(
    ("make_data", "preview_size"),
    [
        (lambda: make_image_bytes(format="JPEG", size=(1300, 650)), (1280, 640)),
        (lambda: make_image_bytes(format="WEBP", size=(650, 1300)), (640, 1280)),
        (lambda: make_image_bytes(format="JPEG", exif_orientation=8), (48, 64)),
        (lambda: make_image_bytes(format="WEBP", exif_orientation=6), (48, 64)),
        (cmyk_jpeg, (64, 48)),
        (heavy_jpeg, (300, 200)),
        (animated_webp, (64, 48)),
        (lambda: make_image_bytes(format="PNG"), (64, 48)),
    ],
    ids=[
        "jpeg-too-wide",
        "webp-too-tall",
        "jpeg-exif",
        "webp-exif",
        "jpeg-cmyk",
        "jpeg-heavy",
        "webp-animated",
        "png",
    ],
)
def test_other_originals_get_a_preview_of_their_own(
    generation, media_root, make_data, preview_size
):
    data = make_data()

    image = imaging.store_image(generation=generation, index=0, data=data)

    assert image.thumbnail_large.name != image.original.name
    assert image.thumbnail_large.name.startswith(f"w{generation.workspace_id}/thumbnails/")
    preview = open_image(read(image.thumbnail_large))
    assert preview.size == preview_size
    assert preview.getexif().get(0x0112) is None
    assert files_under(media_root) == stored_names(image)
    assert len(stored_names(image)) == 3


@pytest.mark.parametrize(
    ("options", "preview_format", "preview_mode"),
    [
        ({}, "JPEG", "RGB"),
        ({"mode": "L", "color": 120}, "JPEG", "RGB"),
        ({"mode": "RGBA", "color": (200, 80, 40, 255)}, "JPEG", "RGB"),  # alpha never used
        ({"mode": "RGBA", "color": (200, 80, 40, 128)}, "WEBP", "RGBA"),
    ],
    ids=["rgb", "grey", "rgba-opaque", "rgba-translucent"],
)
def test_an_encoded_preview_is_a_jpeg_unless_the_picture_has_transparency(
    generation, options, preview_format, preview_mode
):
    data = make_image_bytes(format="PNG", size=(200, 100), **options)

    image = imaging.store_image(generation=generation, index=0, data=data)

    preview = open_image(read(image.thumbnail_large))
    assert (preview.format, preview.mode, preview.size) == (
        preview_format,
        preview_mode,
        (200, 100),
    )
    extension = {"JPEG": "jpg", "WEBP": "webp"}[preview_format]
    assert image.thumbnail_large.name.endswith(f".{extension}")
    assert close_to(
        preview.convert("RGB").getpixel((20, 50)),
        open_image(data).convert("RGB").getpixel((20, 50)),
    )


@pytest.mark.parametrize(
    ("size", "decoded_size"),
    [
        ((1024, 1024), (384, 384)),  # 3/8: exactly the grid thumbnail, no resize
        ((1280, 720), (480, 270)),  # 3/8
        ((1100, 1100), (413, 413)),  # 3/8, sides rounded up
        ((1000, 1000), (500, 500)),  # 3/8 would be 375, too small: 1/2
        ((700, 700), (700, 700)),  # 1/2 would be 350, too small: whole
    ],
)
def test_a_jpeg_that_is_its_own_preview_is_decoded_only_as_large_as_the_grid_needs(
    size, decoded_size
):
    data = make_image_bytes(format="JPEG", size=size)

    decoded = decode.decode_pixels(data=data, index=0)
    prepared = imaging.prepare_image(data=data, index=0)

    assert decoded.original_is_preview
    assert decoded.pixels.size == decoded_size
    assert (prepared.width, prepared.height) == size
    assert open_image(prepared.thumbnail_small).size == decode._fitted_size(size, (384, 384))
    assert prepared.thumbnail_large is data


def test_a_large_jpeg_is_decoded_at_three_eighths_when_that_covers_the_preview():
    image = PILImage.open(io.BytesIO(make_image_bytes(format="JPEG", size=(3600, 2000))))

    assert decode._draft_jpeg(image, (1280, 711))

    image.load()
    assert image.size == (1350, 750)


def test_decoding_at_three_eighths_is_as_good_as_decoding_whole_and_resizing():
    data = imaging.grainy_demo_image(
        prompt="a lighthouse", index=0, width=1024, height=1024, image_format="JPEG"
    )
    reference = open_image(data).resize((384, 384), PILImage.Resampling.LANCZOS)

    decoded = decode.decode_pixels(data=data, index=0)

    assert decoded.pixels.size == (384, 384)
    difference = ImageStat.Stat(ImageChops.difference(decoded.pixels, reference))
    assert max(difference.mean) < 2


def test_a_libjpeg_that_will_not_decode_at_three_eighths_falls_back_to_draft(
    generation, monkeypatch, caplog
):
    # As if libjpeg decoded another size than the one Pillow was told to expect.
    monkeypatch.setattr(decode, "_three_eighths", lambda size: (size[0] * 3 // 8 + 1,) * 2)
    data = make_image_bytes(format="JPEG", size=(1024, 1024))

    image = imaging.store_image(generation=generation, index=0, data=data)

    assert (image.width, image.height) == (1024, 1024)
    small = open_image(read(image.thumbnail_small))
    assert small.size == (384, 384)
    assert close_to(small.getpixel((100, 200)), (200, 80, 40))
    assert close_to(small.getpixel((300, 200)), (20, 40, 220))
    assert "did not decode image 0 at 3/8 scale" in caplog.text


def test_a_truncated_jpeg_is_refused_even_when_decoded_at_a_reduced_scale(generation, media_root):
    data = make_image_bytes(format="JPEG", size=(1024, 1024), quality=95)
    assert len(data) <= 0.5 * 1024 * 1024  # would be its own preview if it were whole

    with pytest.raises(imaging.InvalidImageError, match="the JPEG data is truncated or corrupt"):
        imaging.store_image(generation=generation, index=0, data=data[: len(data) * 2 // 3])

    assert not Image.objects.exists()
    assert files_under(media_root) == set()


def test_the_original_and_the_preview_share_one_storage():
    # store_image lets thumbnail_large name the original's file, which needs one storage.
    fields = [Image._meta.get_field(name) for name in ("original", "thumbnail_large")]

    assert fields[0].storage is fields[1].storage


def test_large_jpeg_is_decoded_scaled_yet_recorded_at_full_size(generation):
    data = make_image_bytes(format="JPEG", size=(2600, 2600))

    image = imaging.store_image(generation=generation, index=0, data=data)

    assert (image.width, image.height) == (2600, 2600)
    assert open_image(read(image.thumbnail_large)).size == (1280, 1280)
    assert open_image(read(image.thumbnail_small)).size == (384, 384)


def test_placeholder_is_the_average_colour(generation):
    data = make_image_bytes(size=(100, 100), color=(200, 80, 40))  # right half (20, 40, 220)

    image = imaging.store_image(generation=generation, index=0, data=data)

    colour = tuple(int(image.placeholder_color[i : i + 2], 16) for i in (1, 3, 5))
    assert close_to(colour, (110, 60, 130), tolerance=3)


def test_transparent_png_keeps_its_alpha_and_its_visible_colour(generation):
    data = make_image_bytes(size=(64, 64), mode="RGBA", color=(0, 0, 0, 0))

    image = imaging.store_image(generation=generation, index=0, data=data)

    assert open_image(read(image.thumbnail_small)).mode == "RGBA"
    # Transparent black pixels do not count: the placeholder is the visible blue.
    colour = tuple(int(image.placeholder_color[i : i + 2], 16) for i in (1, 3, 5))
    assert close_to(colour, (20, 40, 220), tolerance=3)


def test_wholly_transparent_image_gets_the_neutral_placeholder(generation):
    transparent = open_image(make_image_bytes(size=(32, 32), mode="RGBA")).copy()
    transparent.putalpha(0)
    out = io.BytesIO()
    transparent.save(out, format="PNG")

    image = imaging.store_image(generation=generation, index=0, data=out.getvalue())

    assert image.placeholder_color == imaging.DEFAULT_PLACEHOLDER_COLOR


def test_thumbnails_keep_an_rgb_colour_profile_and_drop_any_other(generation):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    cmyk_profile = srgb[:16] + b"CMYK" + srgb[20:]  # only the header's colour space matters

    rgb = imaging.store_image(
        generation=generation, index=0, data=make_image_bytes(icc_profile=srgb)
    )
    cmyk = imaging.store_image(
        generation=generation,
        index=1,
        data=make_image_bytes(
            format="JPEG", mode="CMYK", color=(0, 0, 0, 0), icc_profile=cmyk_profile
        ),
    )

    assert open_image(read(rgb.thumbnail_small)).info.get("icc_profile") == srgb
    assert open_image(read(rgb.thumbnail_large)).info.get("icc_profile") == srgb
    assert not open_image(read(cmyk.thumbnail_small)).info.get("icc_profile")
    # CMYK all zero is white paper: the thumbnail is RGB and white on the left.
    assert close_to(open_image(read(cmyk.thumbnail_small)).getpixel((4, 4)), (255, 255, 255))


def test_sixteen_bit_greyscale_png_is_not_clipped_to_white(generation):
    grey = open_image(make_image_bytes(size=(16, 16), mode="L", color=128)).convert("I")
    wide = grey.point(lambda level: level * 256).convert("I;16")  # 128 becomes 32768
    out = io.BytesIO()
    wide.save(out, format="PNG")
    assert open_image(out.getvalue()).mode == "I;16"

    image = imaging.store_image(generation=generation, index=0, data=out.getvalue())

    left_pixel = open_image(read(image.thumbnail_small)).convert("RGB").getpixel((2, 8))
    assert close_to(left_pixel, (128, 128, 128), tolerance=4)


def test_exif_rotated_jpeg_is_recorded_and_thumbnailed_upright(generation, media_root):
    # Stored 64x48, left half orange; orientation 6 means "turn 90 degrees clockwise to show",
    # so it displays 48x64 with the orange half on top.
    data = make_image_bytes(format="JPEG", size=(64, 48), exif_orientation=6)

    image = imaging.store_image(generation=generation, index=0, data=data)

    assert (image.width, image.height) == (48, 64)
    assert read(image.original) == data  # kept byte for byte, orientation tag included
    for thumbnail in (image.thumbnail_small, image.thumbnail_large):
        upright = open_image(read(thumbnail))
        assert upright.size == (48, 64)
        assert close_to(upright.convert("RGB").getpixel((24, 6)), (200, 80, 40))
        assert close_to(upright.convert("RGB").getpixel((24, 58)), (20, 40, 220))
        # No orientation travels with the upright pixels, or viewers would turn them again.
        assert upright.getexif().get(0x0112) is None


def test_dimensions_given_are_kept_when_the_row_is_loaded_again(generation):
    data = make_image_bytes(format="JPEG", size=(64, 48), exif_orientation=8)

    image = imaging.store_image(generation=generation, index=0, data=data)

    # Django's ImageField would read the raw 64x48 from the file if it were asked to.
    assert (Image.objects.get(pk=image.pk).width, Image.objects.get(pk=image.pk).height) == (48, 64)


# --- Refusing what is not an image we keep ----------------------------------------------------


def truncated_png() -> bytes:
    data = make_image_bytes(size=(128, 128), noisy=True)
    return data[: len(data) // 2]


def truncated_jpeg() -> bytes:
    data = make_image_bytes(format="JPEG", size=(128, 128), noisy=True, quality=95)
    return data[: len(data) // 2]


def corrupt_png() -> bytes:
    data = bytearray(make_image_bytes(size=(128, 128), noisy=True))
    # Keep the header intact and scramble the compressed pixels.
    data[100:600] = bytes(range(250)) * 2
    return bytes(data)


@pytest.mark.parametrize(
    ("make_data", "reason"),
    [
        (lambda: b"", "no data came back"),
        (lambda: b"<html><body>502 Bad Gateway</body></html>", "not a PNG, JPEG or WebP image"),
        (lambda: b"\x00" * 300, "not a PNG, JPEG or WebP image"),
        (lambda: make_image_bytes(format="GIF"), "not a PNG, JPEG or WebP image"),
        (lambda: make_image_bytes(format="BMP"), "not a PNG, JPEG or WebP image"),
        (lambda: make_image_bytes()[:40], "not a PNG, JPEG or WebP image"),
        (truncated_png, "the PNG data is truncated or corrupt"),
        (truncated_jpeg, "the JPEG data is truncated or corrupt"),
        (corrupt_png, "the PNG data is truncated or corrupt"),
        (make_decompression_bomb_png, "more pixels than the limit of 64,000,000"),
    ],
    ids=[
        "empty",
        "html",
        "zeros",
        "gif",
        "bmp",
        "header-only",
        "truncated-png",
        "truncated-jpeg",
        "corrupt-png",
        "bomb",
    ],
)
def test_unusable_data_is_refused_with_a_clear_message_and_nothing_kept(
    generation, media_root, make_data, reason
):
    with pytest.raises(imaging.InvalidImageError) as raised:
        imaging.store_image(generation=generation, index=2, data=make_data())

    assert str(raised.value).startswith("Image 3 could not be read: ")
    assert reason in str(raised.value)
    assert reason in raised.value.reason
    assert raised.value.index == 2
    assert isinstance(raised.value, ValueError)
    assert not Image.objects.exists()
    assert files_under(media_root) == set()


def test_images_over_the_configured_pixel_limit_are_refused(generation, settings, media_root):
    settings.IMAGES_MAX_PIXELS = 1000

    with pytest.raises(imaging.InvalidImageError, match="it is 40x30 pixels, it has more pixels"):
        imaging.store_image(generation=generation, index=0, data=make_image_bytes(size=(40, 30)))
    imaging.store_image(generation=generation, index=1, data=make_image_bytes(size=(40, 25)))

    assert list(Image.objects.values_list("index", flat=True)) == [1]


# --- Idempotency and crashes ------------------------------------------------------------------


def test_storing_the_same_index_again_returns_the_first_image_unchanged(generation, media_root):
    first = imaging.store_image(generation=generation, index=0, data=make_image_bytes())
    files = files_under(media_root)

    again = imaging.store_image(generation=generation, index=0, data=make_image_bytes())
    different = imaging.store_image(
        generation=generation, index=0, data=make_image_bytes(color=(0, 200, 0))
    )

    assert again.pk == different.pk == first.pk
    assert different.sha256 == first.sha256
    assert Image.objects.count() == 1
    assert files_under(media_root) == files


def test_the_same_bytes_in_two_generations_share_their_files(generation, user, media_root):
    other = Generation.objects.create(
        created_by=user,
        workspace=personal_workspace(user),
        idempotency_key="key-2",
        prompt="x",
        model="demo",
    )
    data = make_image_bytes()

    first = imaging.store_image(generation=generation, index=0, data=data)
    second = imaging.store_image(generation=other, index=0, data=data)

    assert first.pk != second.pk
    assert stored_names(first) == stored_names(second)
    assert files_under(media_root) == stored_names(first)


def test_each_workspace_has_its_own_folder(generation, other_user, media_root):
    theirs = Generation.objects.create(
        created_by=other_user,
        workspace=personal_workspace(other_user),
        idempotency_key="key-2",
        prompt="x",
        model="demo",
    )
    data = make_image_bytes()

    mine = imaging.store_image(generation=generation, index=0, data=data)
    other = imaging.store_image(generation=theirs, index=0, data=data)

    assert {name.split("/")[0] for name in stored_names(mine)} == {f"w{generation.workspace_id}"}
    assert {name.split("/")[0] for name in stored_names(other)} == {f"w{theirs.workspace_id}"}
    assert files_under(media_root) == stored_names(mine) | stored_names(other)


def test_files_left_by_a_crashed_run_are_reused(generation, media_root):
    data = make_image_bytes()
    prepared = imaging.prepare_image(data=data, index=0)
    # A worker wrote the original, then died before the thumbnails and the row.
    original_name = f"w{generation.workspace_id}/originals/{prepared.sha256}.png"
    FileSystemStorage(location=media_root).save(original_name, io.BytesIO(data))

    image = imaging.store_image(generation=generation, index=0, data=data)

    assert image.original.name == original_name
    assert files_under(media_root) == stored_names(image)


def test_a_failed_write_leaves_no_file_and_no_row(generation, media_root, monkeypatch):
    real_save = FileSystemStorage.save
    calls = []

    def save_then_fail(self, name, content, max_length=None):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(self, name, content, max_length)

    monkeypatch.setattr(FileSystemStorage, "save", save_then_fail)

    with pytest.raises(OSError, match="disk full"):
        imaging.store_image(generation=generation, index=0, data=make_image_bytes())

    assert not Image.objects.exists()
    # The original written first is removed again, and no temporary file stays behind.
    assert files_under(media_root) == set()


def test_files_appear_whole_under_their_final_name(generation, media_root, monkeypatch):
    """The bytes are written to a temporary name and renamed: the final name is never partial."""
    seen = []
    real_save = FileSystemStorage._save

    def watch(self, name, content):
        final = Path(self.path(name))
        seen.append((final.exists(), Path(content.temporary_file_path()).read_bytes()))
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", watch)
    data = make_image_bytes(noisy=True)

    image = imaging.store_image(generation=generation, index=0, data=data)

    assert seen[0] == (False, data)
    assert len(seen) == 3
    assert files_under(media_root) == stored_names(image)  # no temporary file left
    assert read(image.original) == data


def test_a_concurrent_run_that_stored_the_index_first_wins(generation, media_root, monkeypatch):
    real_decode = decode.decode_pixels
    winner_data = make_image_bytes(color=(0, 200, 0))

    def decode_while_another_worker_stores(*, data, index):
        decoded = real_decode(data=data, index=index)
        monkeypatch.setattr(decode, "decode_pixels", real_decode)
        imaging.store_image(generation=generation, index=index, data=winner_data)
        return decoded

    monkeypatch.setattr(decode, "decode_pixels", decode_while_another_worker_stores)

    image = imaging.store_image(generation=generation, index=0, data=make_image_bytes())

    assert image.sha256 == hashlib.sha256(winner_data).hexdigest()
    assert Image.objects.count() == 1
    # The loser's files went; the winner's stayed.
    assert files_under(media_root) == stored_names(image)


def test_other_integrity_errors_are_not_swallowed(generation, monkeypatch):
    def fail(*args, **kwargs):
        raise IntegrityError("FOREIGN KEY constraint failed")

    monkeypatch.setattr(Image, "save", fail)

    with pytest.raises(IntegrityError):
        imaging.store_image(generation=generation, index=0, data=make_image_bytes())
