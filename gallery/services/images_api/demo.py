"""The offline demo provider: no HTTP, images drawn locally."""

from __future__ import annotations

import re
import time
from typing import Any

from gallery.services.catalog import ModelSpec
from gallery.services.images_api.dialects import ImageRequest, clean, per_image_values
from gallery.services.images_api.responses import GenerationResult, ResultImage


def demo_dimensions(*, size: str, aspect_ratio: str, resolution: str = "") -> tuple[int, int]:
    """Width and height of a demo image: the aspect ratio when one is chosen (scaled to the
    size's long side, or ~1024 px, 2048 for "2k"), else the size, else 1024x1024."""
    long_side = 2048 if resolution == "2k" else 1024
    width = height = 0
    match = re.fullmatch(r"(\d{1,5})x(\d{1,5})", size)
    if match:
        width, height = int(match.group(1)), int(match.group(2))
        long_side = max(width, height)
    ratio = re.fullmatch(r"(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)", aspect_ratio)
    if ratio and float(ratio.group(1)) > 0 and float(ratio.group(2)) > 0:
        across, down = float(ratio.group(1)), float(ratio.group(2))
        if across >= down:
            return long_side, max(1, round(long_side * down / across))
        return max(1, round(long_side * across / down)), long_side
    if width and height:
        return width, height
    return long_side, long_side


def generate_demo(
    spec: ModelSpec, request: ImageRequest, bodies: list[dict[str, Any]]
) -> GenerationResult:
    # Imported here: imaging is the only package that imports Pillow, and real calls never
    # need it loaded in this module.
    from gallery.services.imaging import draw_demo_image

    started = time.perf_counter()
    prompt = request.prompt.strip()
    size = clean(request.size) or spec.default_size
    aspect_ratios = per_image_values(request.aspect_ratio, n=request.n, name="aspect_ratio")
    resolutions = per_image_values(request.resolution, n=request.n, name="resolution")
    results = []
    for index in range(request.n):
        width, height = demo_dimensions(
            size=size, aspect_ratio=aspect_ratios[index], resolution=resolutions[index]
        )
        data = draw_demo_image(prompt=prompt, index=index, width=width, height=height)
        results.append(ResultImage(index=index, data=data, content_type="image/png"))
    return GenerationResult(
        model=spec.id,
        images=results,
        requested_n=request.n,
        created=int(time.time()),
        usage=None,
        request_bodies=bodies,
        api_ms=round((time.perf_counter() - started) * 1000),
        download_ms=0,
        demo=True,
    )
