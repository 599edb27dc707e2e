"""One image: its detail (page and overlay), and what can be done with it."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from gallery.models import Generation, Image
from gallery.services import downloads, generations, trash
from gallery.views.access import owned
from gallery.views.htmx import HtmxHttpRequest
from gallery.views.media import CONTENT_TYPES, missing_file

MAX_ZIP_IMAGES = 500


def user_image(request: HtmxHttpRequest, pk: int, *, live: bool = True) -> Image:
    images = Image.objects.for_user(request.user).select_related("generation")
    if live:
        images = images.live()
    return get_object_or_404(images, pk=pk)


@owned(Image)
@require_GET
@vary_on_headers("HX-Request")
def image_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    image = user_image(request, pk)
    generation = image.generation
    mine = Image.objects.for_user(request.user).live()
    context = {
        "image": image,
        "generation": generation,
        "siblings": generation.images.live().order_by("index"),
        "newer": mine.filter(pk__gt=image.pk).order_by("pk").values_list("pk", flat=True).first(),
        "older": mine.filter(pk__lt=image.pk).order_by("-pk").values_list("pk", flat=True).first(),
        "remixes": Generation.objects.for_user(request.user).live().filter(parent=generation),
        "rerun_key": generations.new_idempotency_key(),
        "request_body_json": json.dumps(generation.request_body, indent=2, ensure_ascii=False),
        "usage_json": json.dumps(generation.usage, indent=2, ensure_ascii=False),
    }
    if request.htmx:
        return render(request, "gallery/image.html#image-detail", context)
    return render(request, "gallery/image.html", context)


@owned(Image)
@require_POST
def image_favorite(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    image = user_image(request, pk)
    image.is_favorite = request.POST.get("favorite", "toggle") == "1" or (
        request.POST.get("favorite", "toggle") == "toggle" and not image.is_favorite
    )
    image.save(update_fields=["is_favorite"])
    if request.htmx:
        return render(request, "gallery/image.html#favorite-button", {"image": image})
    return redirect("gallery:image", pk=image.pk)


@owned(Image)
@require_POST
def image_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    image = user_image(request, pk)
    trash.trash_images(images=[image])
    messages.success(
        request,
        "Moved to the trash.",
        extra_tags=f"undo:{reverse('gallery:image_restore', args=[pk])}",
    )
    if request.htmx:
        return HttpResponseClientRedirect(reverse("gallery:index"))
    return redirect("gallery:index")


@owned(Image)
@require_POST
def image_restore(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    image = user_image(request, pk, live=False)
    trash.restore_images(images=[image])
    messages.success(request, "Restored.")
    if request.htmx:
        current = request.headers.get("HX-Current-URL")
        return HttpResponseClientRedirect(current if _safe(request, current) else "/")
    return redirect(request.POST.get("next") if _safe(request, request.POST.get("next")) else "/")


def _safe(request: HtmxHttpRequest, url: str | None) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    return bool(url) and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()})


@owned(Image)
@require_GET
def image_download(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    image = user_image(request, pk)
    try:
        data = downloads.original_with_provenance(image)
    except FileNotFoundError as error:
        raise missing_file(image.original, error) from error
    response = HttpResponse(
        data,
        content_type=CONTENT_TYPES.get(image.format, "application/octet-stream"),
    )
    response["Content-Disposition"] = content_disposition_header(
        True, downloads.download_name(image)
    )
    return response


@require_http_methods(["GET", "POST"])
def images_zip(request: HtmxHttpRequest) -> HttpResponse:
    wanted = request.POST.getlist("image") or request.GET.getlist("image")
    ids = [int(value) for value in wanted if value.isdigit()][:MAX_ZIP_IMAGES]
    selected = (
        Image.objects.for_user(request.user).live().filter(pk__in=ids).select_related("generation")
    )
    if not ids:
        messages.error(request, "Select at least one image to download.")
        return redirect("gallery:index")
    if selected.count() != len(set(ids)):
        raise Http404("No such image.")
    response = StreamingHttpResponse(
        downloads.stream_zip(selected.order_by("-pk").iterator(chunk_size=50)),
        content_type="application/zip",
    )
    response["Content-Disposition"] = content_disposition_header(True, "atelier-images.zip")
    return response


@owned(Generation)
@require_POST
def generation_rerun(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Generation.objects.for_user(request.user), pk=pk)
    _, created = generations.create_generation(
        user=request.user,
        params=generations.GenerationParams.from_generation(source),
        idempotency_key=request.POST.get("idempotency_key") or generations.new_idempotency_key(),
    )
    if created:
        messages.success(request, "Running it again: the new images appear at the top.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("gallery:index"))
    return redirect("gallery:index")
