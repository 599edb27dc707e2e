from __future__ import annotations

import pytest

from gallery.services import imaging
from tests.images import (
    open_image,
)

# --- The demo drawing -------------------------------------------------------------------------


def test_demo_image_is_the_same_png_for_the_same_prompt_and_index():
    first = imaging.draw_demo_image(prompt="a lighthouse", index=1, width=320, height=200)
    again = imaging.draw_demo_image(prompt="a lighthouse", index=1, width=320, height=200)

    assert first == again
    assert open_image(first).format == "PNG"


def test_demo_images_differ_across_index_and_prompt():
    drawings = {
        imaging.draw_demo_image(prompt=prompt, index=index, width=160, height=120)
        for prompt in ("a lighthouse", "一座灯塔")
        for index in range(3)
    }

    assert len(drawings) == 6


@pytest.mark.parametrize("size", [(1, 1), (1024, 1024), (1792, 1024), (784, 1168), (50, 900)])
def test_demo_image_has_exactly_the_size_asked_for(size):
    data = imaging.draw_demo_image(
        prompt="a lighthouse at dusk", index=0, width=size[0], height=size[1]
    )

    assert open_image(data).size == size


def test_demo_image_is_not_flat():
    image = open_image(
        imaging.draw_demo_image(prompt="a lighthouse", index=0, width=256, height=256)
    )

    assert len(image.getcolors(maxcolors=256 * 256) or range(65536)) > 100


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (-5, 10), (10_000, 10)])
def test_demo_image_refuses_impossible_sizes(size):
    with pytest.raises(ValueError, match="pixels a side"):
        imaging.draw_demo_image(prompt="x", index=0, width=size[0], height=size[1])
