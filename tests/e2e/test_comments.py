"""Pinning a comment: click "Pin a point", click the image, write, send; the numbered marker
sits where the click was, and stays on that spot of the image at another window size."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from gallery.models import Comment
from gallery.services import imaging
from tests.e2e.test_teams import log_in
from tests.factories import make_generation
from tests.images import make_image_bytes


def marker_position(page: Page) -> tuple[float, float]:
    """The marker's centre as fractions of the image's box."""
    image = page.locator("[data-pin-surface] img").bounding_box()
    marker = page.locator("a.pin-marker").first.bounding_box()
    return (
        (marker["x"] + marker["width"] / 2 - image["x"]) / image["width"],
        (marker["y"] + marker["height"] / 2 - image["y"]) / image["height"],
    )


def test_pin_a_comment_and_see_its_marker(page: Page, user):
    generation = make_generation(created_by=user, prompt="a pinned fox", n=1, model="demo")
    image = imaging.store_image(
        generation=generation, index=0, data=make_image_bytes(format="PNG", size=(400, 300))
    )
    page = log_in(page, user)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{page.base_url}/images/{image.pk}/")
    page.get_by_role("button", name="Pin a point").click()
    box = page.locator("[data-pin-surface] img").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
    expect(page.get_by_text("Pinned at 25% across, 75% down.")).to_be_visible()
    page.get_by_label("Add a comment").fill("The tail <b>here</b>")
    page.get_by_role("button", name="Comment", exact=True).click()

    marker = page.locator("a.pin-marker")
    expect(marker).to_have_text("1")
    comment = Comment.objects.get()
    assert abs(comment.x - 0.25) < 0.01
    assert abs(comment.y - 0.75) < 0.01
    expect(page.locator(f"#comment-{comment.pk}")).to_contain_text("The tail <b>here</b>")
    x, y = marker_position(page)
    assert abs(x - 0.25) < 0.02
    assert abs(y - 0.75) < 0.02

    # A narrow window shows the image smaller; the marker stays on the same spot of it.
    page.set_viewport_size({"width": 600, "height": 800})
    x, y = marker_position(page)
    assert abs(x - 0.25) < 0.02
    assert abs(y - 0.75) < 0.02
    marker.click()
    expect(page).to_have_url(f"{page.base_url}/images/{image.pk}/#comment-{comment.pk}")
