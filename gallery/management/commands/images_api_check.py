"""Make one real call to the configured images API and print what came back."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gallery.services import catalog, images_api, imaging

DEFAULT_PROMPT = "A lighthouse on a cliff at dusk, watercolour"


def sniff_format(data: bytes) -> str:
    """The image format from its magic bytes (Pillow stays in gallery.services.imaging)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return "not a known image format"


class Command(BaseCommand):
    help = (
        "Make one real call to the images API (the model's provider: IMAGES_API_BASE_URL with "
        "IMAGES_API_KEY by default) and print what came back: image count, sizes, usage, "
        "timings, or the error. Exits non-zero when the call failed or any image failed or "
        "does not decode."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", help="a model id from the catalog (default: the default)")
        parser.add_argument("--n", type=int, default=1, help="how many images (default 1)")
        parser.add_argument("--prompt", default=DEFAULT_PROMPT)
        parser.add_argument("--size", default="", help="e.g. 960x960 (default: the model's)")
        parser.add_argument(
            "--response-format", default="", help="url or b64_json (default: the model's)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            spec = catalog.get_model(options["model"]) if options["model"] else None
        except catalog.UnknownModel:
            known = ", ".join(model.id for model in catalog.all_models())
            raise CommandError(f"Unknown model {options['model']!r}. Known: {known}.") from None
        spec = spec or catalog.default_model()
        request = images_api.ImageRequest(
            model=spec.id,
            prompt=options["prompt"],
            n=options["n"],
            size=options["size"] or spec.default_size,
            response_format=options["response_format"],
        )
        provider = catalog.provider_for(spec)
        where = "offline demo, no HTTP" if spec.demo else images_api.generations_url(provider)
        self.stdout.write(f"Model: {spec.id} ({spec.display_label}, {spec.dialect}) via {where}")
        try:
            for body in images_api.build_request_bodies(spec, request):
                self.stdout.write(f"Request body: {json.dumps(body, ensure_ascii=False)}")
            result = images_api.generate(request=request)
        except images_api.ImagesAPIError as error:
            self.stdout.write(f"Error kind: {error.kind} (retriable: {error.retriable})")
            self.stdout.write(f"HTTP status: {error.status or '-'}")
            self.stdout.write(f"Request id: {error.request_id or '-'}")
            if error.retry_after is not None:
                self.stdout.write(f"Retry after: {error.retry_after:g} s")
            self.stdout.write(f"Retries: {error.retries}")
            if error.detail:
                self.stdout.write(f"Detail: {error.detail}")
            raise CommandError(error.user_message) from None

        undecodable = self._print_result(result)
        failed = [image for image in result.images if image.error is not None or not image.data]
        if failed or result.missing or undecodable:
            usable = len(result.succeeded) - undecodable
            raise CommandError(f"{usable} of {result.requested_n} images came through.")

    def _print_result(self, result: images_api.GenerationResult) -> int:
        """Print the result; return how many images came back but do not decode."""
        undecodable = 0
        self.stdout.write(
            f"Images: {len(result.succeeded)} of {result.requested_n} "
            f"({len(result.images)} returned, {result.missing} missing)"
        )
        for image in result.images:
            origin = f" from {image.source_url.split('?', 1)[0]}" if image.source_url else ""
            if image.error is not None or not image.data:
                reason = image.error.user_message if image.error else "no data"
                self.stdout.write(f"  #{image.index + 1} FAILED{origin}: {reason}")
                continue
            try:
                width, height = imaging.decode_image(data=image.data)
            except Exception as error:  # whatever Pillow raises, the bytes are not an image
                undecodable += 1
                self.stdout.write(
                    f"  #{image.index + 1} FAILED{origin}: {len(image.data):,} bytes that do not "
                    f"decode as an image ({sniff_format(image.data)}: {error})"
                )
                continue
            self.stdout.write(
                f"  #{image.index + 1} {sniff_format(image.data)} {width}x{height}, "
                f"{len(image.data):,} bytes{origin}"
            )
            if image.revised_prompt:
                self.stdout.write(f"     revised prompt: {image.revised_prompt}")
        self.stdout.write(f"Created: {result.created if result.created is not None else '-'}")
        usage = json.dumps(result.usage, ensure_ascii=False) if result.usage else "-"
        self.stdout.write(f"Usage: {usage}")
        self.stdout.write(
            f"Timings: api {result.api_ms} ms, download {result.download_ms} ms; "
            f"retries: {result.retries} (+{result.download_retries} download)"
        )
        self.stdout.write(f"Request ids: {', '.join(result.request_ids) or '-'}")
        return undecodable
