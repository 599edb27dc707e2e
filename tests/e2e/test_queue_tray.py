"""The queue tray: generations under way or failed live in a compact tray above the grid, with
their place in line, cancel, retry and dismiss (with undo); failures never push the images off
the first screen."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from gallery.models import Generation
from tests.e2e.axe import audit_everywhere
from tests.e2e.test_gallery import add_images
from tests.factories import make_generation

LONG_ERROR = (
    "The image service refused the prompt: it says the request was rejected by its safety "
    "system. Rephrase the prompt and try again; nothing was charged for this attempt."
)


def test_six_failures_leave_the_images_on_the_first_screen(signed_in: Page, user):
    add_images(user, [f"fox {number}" for number in range(8)])
    for number in range(6):
        make_generation(
            created_by=user,
            prompt=f"a failed fox number {number}",
            n=1,
            model="demo",
            size="960x960",
            status=Generation.Status.FAILED,
            error_message=LONG_ERROR,
        )
    page = signed_in
    page.goto(page.base_url + "/")
    expect(page.locator("#queue-summary")).to_have_text("6 failed")
    expect(page.locator("#queue-list .queue-item")).to_have_count(6)
    expect(page.locator("#grid figure.tile").first).to_be_in_viewport()
    assert page.locator("#queue-tray").bounding_box()["height"] < 280

    def tray_with_failures(page: Page) -> None:
        page.goto(page.base_url + "/")
        expect(page.locator("#queue-list .queue-item")).to_have_count(6)

    audit_everywhere(page, tray_with_failures, name="a tray of failures")


def test_dismiss_then_undo_from_the_keyboard(signed_in: Page, user):
    failed = make_generation(
        created_by=user,
        prompt="a fox to dismiss",
        n=1,
        model="demo",
        size="960x960",
        status=Generation.Status.FAILED,
        error_message="Refused.",
    )
    page = signed_in
    page.goto(page.base_url + "/")
    row = page.locator(f"#queue-item-{failed.pk}")
    row.get_by_role("button", name=re.compile("^Dismiss")).focus()
    page.keyboard.press("Enter")
    expect(row).to_contain_text("Dismissed")
    expect(page.locator("#queue-summary")).to_have_text("")
    undo = row.get_by_role("button", name="Undo")
    expect(undo).to_be_focused()
    failed.refresh_from_db()
    assert failed.deleted_at is not None

    page.keyboard.press("Enter")
    expect(row).to_have_attribute("data-status", "failed")
    expect(page.locator("#queue-summary")).to_have_text("1 failed")
    failed.refresh_from_db()
    assert failed.deleted_at is None


def test_queued_rows_show_their_place_and_can_be_canceled(signed_in: Page, user):
    page = signed_in
    page.goto(page.base_url + "/")
    prompt = page.get_by_label("Prompt", exact=True)
    for text in ("the first fox in line", "the second fox in line"):
        prompt.fill(text)
        page.get_by_role("button", name="Generate").click()
        expect(page.locator("#queue-list .queue-item").first).to_contain_text(text)
    rows = page.locator("#queue-list .queue-item")
    expect(rows.nth(0).locator(".queue-position")).to_have_text("#2 in line")
    expect(rows.nth(1).locator(".queue-position")).to_have_text("#1 in line")
    expect(page.locator("#queue-summary")).to_have_text("2 queued")

    rows.nth(1).get_by_role("button", name="Cancel").click()
    expect(rows.nth(1)).to_have_attribute("data-status", "canceled")
    expect(rows.nth(1).get_by_role("button", name="Retry")).to_be_focused()
    expect(page.locator("#queue-summary")).to_have_text("1 queued")
    assert Generation.objects.get(prompt="the second fox in line").status == "queued"
    assert Generation.objects.get(prompt="the first fox in line").status == "canceled"
