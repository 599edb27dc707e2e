"""One image: its detail (page and overlay), and what can be done with it."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from gallery import policy
from gallery.models import Generation, Image, Membership
from gallery.services import boards, budgets, comments, downloads, generations, trash
from gallery.views.access import access_generation, access_image, member_view, object_view
from gallery.views.htmx import HtmxHttpRequest
from gallery.views.media import CONTENT_TYPES, missing_file

MAX_ZIP_IMAGES = 500


@object_view(access_image, policy.Action.VIEW)
@require_GET
@vary_on_headers("HX-Request")
def image_detail(request: HtmxHttpRequest, image: Image, membership: Membership) -> HttpResponse:
    generation = image.generation
    mine = Image.objects.for_member(membership).live()
    context = {
        "image": image,
        "generation": generation,
        "siblings": generation.images.live().order_by("index"),
        "newer": mine.filter(pk__gt=image.pk).order_by("pk").values_list("pk", flat=True).first(),
        "older": mine.filter(pk__lt=image.pk).order_by("-pk").values_list("pk", flat=True).first(),
        "remixes": Generation.objects.for_member(membership).live().filter(parent=generation),
        "rerun_key": generations.new_idempotency_key(),
        "request_body_json": json.dumps(generation.request_body, indent=2, ensure_ascii=False),
        "usage_json": json.dumps(generation.usage, indent=2, ensure_ascii=False),
        "image_boards": boards.boards_for_image(membership=membership, image=image),
        "comments": comments.thread(image=image),
    }
    if request.htmx:
        return render(request, "gallery/image.html#image-detail", context)
    return render(request, "gallery/image.html", context)


@object_view(access_image, policy.Action.FAVORITE)
@require_POST
def image_favorite(request: HtmxHttpRequest, image: Image, membership: Membership) -> HttpResponse:
    image.is_favorite = request.POST.get("favorite", "toggle") == "1" or (
        request.POST.get("favorite", "toggle") == "toggle" and not image.is_favorite
    )
    image.save(update_fields=["is_favorite"])
    if request.htmx:
        return render(request, "gallery/image.html#favorite-button", {"image": image})
    return redirect("gallery:image", pk=image.pk)


@object_view(access_image, policy.Action.TRASH)
@require_POST
def image_delete(request: HtmxHttpRequest, image: Image, membership: Membership) -> HttpResponse:
    trash.trash_images(images=[image])
    messages.success(
        request,
        _("Moved to the trash."),
        extra_tags=f"undo:{reverse('gallery:image_restore', args=[image.pk])}",
    )
    gallery_url = reverse("gallery:index", kwargs={"slug": membership.workspace.slug})
    if request.htmx:
        return HttpResponseClientRedirect(gallery_url)
    return redirect(gallery_url)


@object_view(access_image, policy.Action.RESTORE, live=False)
@require_POST
def image_restore(request: HtmxHttpRequest, image: Image, membership: Membership) -> HttpResponse:
    trash.restore_images(images=[image])
    messages.success(request, _("Restored."))
    gallery_url = reverse("gallery:index", kwargs={"slug": membership.workspace.slug})
    if request.htmx:
        current = request.headers.get("HX-Current-URL")
        return HttpResponseClientRedirect(current if _safe(request, current) else gallery_url)
    following = request.POST.get("next")
    return redirect(following if _safe(request, following) else gallery_url)


def _safe(request: HtmxHttpRequest, url: str | None) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    return bool(url) and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()})


@object_view(access_image, policy.Action.DOWNLOAD)
@require_GET
def image_download(request: HtmxHttpRequest, image: Image, membership: Membership) -> HttpResponse:
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


@member_view(policy.Action.DOWNLOAD)
@require_http_methods(["GET", "POST"])
def images_zip(request: HtmxHttpRequest, membership: Membership) -> HttpResponse:
    wanted = request.POST.getlist("image") or request.GET.getlist("image")
    ids = [int(value) for value in wanted if value.isdigit()][:MAX_ZIP_IMAGES]
    selected = (
        Image.objects.for_member(membership).live().filter(pk__in=ids).select_related("generation")
    )
    if not ids:
        messages.error(request, _("Select at least one image to download."))
        return redirect("gallery:index", slug=membership.workspace.slug)
    if selected.count() != len(set(ids)):
        raise Http404("No such image.")
    response = StreamingHttpResponse(
        downloads.stream_zip(selected.order_by("-pk").iterator(chunk_size=50)),
        content_type="application/zip",
    )
    response["Content-Disposition"] = content_disposition_header(True, "atelier-images.zip")
    return response


@object_view(access_generation, policy.Action.GENERATE)
@require_POST
def generation_rerun(
    request: HtmxHttpRequest, source: Generation, membership: Membership
) -> HttpResponse:
    try:
        _generation, created = generations.create_generation(
            membership=membership,
            params=generations.GenerationParams.from_generation(source),
            idempotency_key=request.POST.get("idempotency_key")
            or generations.new_idempotency_key(),
        )
    except budgets.LimitReached as limit:
        messages.error(request, str(limit))
        created = False
    if created:
        messages.success(request, _("Running it again: the new images appear at the top."))
    gallery_url = reverse("gallery:index", kwargs={"slug": membership.workspace.slug})
    if request.htmx:
        return HttpResponseClientRedirect(gallery_url)
    return redirect(gallery_url)
