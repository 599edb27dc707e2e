"""Image files, served only to the user who may see them."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.views.decorators.http import condition, require_GET

from gallery.models import Image
from gallery.views.access import owned
from gallery.views.htmx import HtmxHttpRequest

CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
# A thumbnail's type comes from its file name: a preview is a JPEG or a WebP, or the original
# itself (a JPEG or WebP that needed no preview of its own).
EXTENSION_CONTENT_TYPES = {
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
}
ONE_YEAR = 60 * 60 * 24 * 365


def image_etag(request: HtmxHttpRequest, pk: int, variant: str = "original") -> str | None:
    sha256 = Image.objects.for_user(request.user).filter(pk=pk).values_list("sha256", flat=True)
    digest = sha256.first()
    return f"{digest[:32]}-{variant}" if digest else None


def file_response(field_file, *, content_type: str, filename: str | None = None) -> HttpResponse:
    if settings.MEDIA_ACCEL_REDIRECT_PREFIX:
        # The front server (nginx) sends the file; we only decided that this user may see it.
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_REDIRECT_PREFIX + field_file.name
    else:
        try:
            response = FileResponse(field_file.open("rb"), content_type=content_type)
        except FileNotFoundError as error:
            raise Http404("The image file is missing.") from error
    if filename:
        response["Content-Disposition"] = content_disposition_header(False, filename)
    return response


@owned(Image)
@require_GET
@condition(etag_func=lambda request, pk: image_etag(request, pk))
def image_original(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    image = get_object_or_404(Image.objects.for_user(request.user), pk=pk)
    response = file_response(
        image.original, content_type=CONTENT_TYPES.get(image.format, "application/octet-stream")
    )
    patch_cache_control(response, private=True, max_age=ONE_YEAR, immutable=True)
    return response


@owned(Image)
@require_GET
@condition(etag_func=lambda request, pk, size: image_etag(request, pk, size))
def image_thumbnail(request: HtmxHttpRequest, pk: int, size: str) -> HttpResponse:
    image = get_object_or_404(Image.objects.for_user(request.user), pk=pk)
    field_file = {"small": image.thumbnail_small, "large": image.thumbnail_large}.get(size)
    if not field_file:
        raise Http404("No such thumbnail.")
    extension = PurePosixPath(field_file.name).suffix.lower()
    content_type = EXTENSION_CONTENT_TYPES.get(extension, "application/octet-stream")
    response = file_response(field_file, content_type=content_type)
    patch_cache_control(response, private=True, max_age=ONE_YEAR, immutable=True)
    return response
