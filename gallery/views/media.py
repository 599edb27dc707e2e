"""Image files, served only to members of the image's workspace."""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.storage import Storage
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import content_disposition_header, quote_etag

from gallery import policy
from gallery.models import Image
from gallery.views.access import access_image
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

logger = logging.getLogger(__name__)


def missing_file(field_file, error: Exception) -> Http404:
    """A row whose file is gone (lost storage, a failed copy): the user gets a 404, the operator
    an error in the log naming the file."""
    logger.error("Image file %s is missing from storage: %s", field_file.name, error)
    return Http404("The image file is missing.")


def file_response(field_file, *, content_type: str, filename: str | None = None) -> HttpResponse:
    if settings.MEDIA_ACCEL_REDIRECT_PREFIX:
        # The front server (nginx) sends the file; we only decided that this user may see it.
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_REDIRECT_PREFIX + field_file.name
    else:
        try:
            response = FileResponse(field_file.open("rb"), content_type=content_type)
        except FileNotFoundError as error:
            raise missing_file(field_file, error) from error
    if filename:
        response["Content-Disposition"] = content_disposition_header(False, filename)
    return response


def serve_image_file(request: HtmxHttpRequest, pk: int, *, variant: str) -> HttpResponse:
    """One of the workspace's image files, in as few queries as the check needs: the row with
    the viewer's membership, then a 304 when the browser has this version, else the file (never
    changing: cached a year). Trashed images still show (the trash page shows them)."""
    action = policy.Action.DOWNLOAD if variant == "original" else policy.Action.VIEW
    image, _ = access_image(request, pk, action, live=False, queryset=Image.objects.all())
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if variant == "original":
        field_file = image.original
        content_type = CONTENT_TYPES.get(image.format, "application/octet-stream")
    elif variant in ("small", "large"):
        field_file = image.thumbnail_small if variant == "small" else image.thumbnail_large
        extension = PurePosixPath(field_file.name).suffix.lower()
        content_type = EXTENSION_CONTENT_TYPES.get(extension, "application/octet-stream")
    else:
        raise Http404("No such thumbnail.")
    if settings.MEDIA_REDIRECTS and not is_local(field_file.storage):
        # The object store sends the file: a presigned URL only this answer knows, valid for
        # MEDIA_REDIRECT_SECONDS; the browser may reuse the redirect for half of that.
        response = HttpResponseRedirect(field_file.storage.url(field_file.name))
        patch_cache_control(response, private=True, max_age=settings.MEDIA_REDIRECT_SECONDS // 2)
        return response
    etag = quote_etag(f"{image.sha256[:32]}-{variant}")
    response = get_conditional_response(request, etag=etag) or file_response(
        field_file, content_type=content_type
    )
    response["ETag"] = etag
    patch_cache_control(response, private=True, max_age=ONE_YEAR, immutable=True)
    return response


def is_local(storage: Storage) -> bool:
    """Whether files of this storage are on this machine's disk (FileSystemStorage)."""
    try:
        storage.path("")
    except NotImplementedError:
        return False
    return True


def image_original(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return serve_image_file(request, pk, variant="original")


def image_thumbnail(request: HtmxHttpRequest, pk: int, size: str) -> HttpResponse:
    return serve_image_file(request, pk, variant=size)
