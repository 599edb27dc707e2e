"""The gallery as a person uses it: scroll, search, overlay, favorite, delete and undo, remix."""

from __future__ import annotations

import re

from django.utils import timezone
from playwright.sync_api import Page, expect

from gallery.models import Generation, Image
from gallery.services import imaging
from tests.factories import make_generation
from tests.images import make_image_bytes


def add_images(user, prompts: list[str]) -> list[Image]:
    made = []
    for number, prompt in enumerate(prompts):
        generation = make_generation(
            created_by=user, prompt=prompt, n=1, model="demo", size="960x960"
        )
        data = make_image_bytes(format="PNG", size=(24, 24), color=(number * 4 % 255, 90, 160))
        made.append(imaging.store_image(generation=generation, index=0, data=data))
    return made


def test_scrolling_down_loads_the_next_page(signed_in: Page, user):
    add_images(user, [f"fox number {number}" for number in range(60)])
    page = signed_in
    page.goto(page.base_url + "/")
    tiles = page.locator("#grid figure.tile")
    expect(tiles).to_have_count(48)
    page.locator("#load-more").scroll_into_view_if_needed()
    expect(tiles).to_have_count(60)
    expect(page.locator("#load-more")).to_have_count(0)
    expect(page).to_have_url(page.base_url + "/w/ada/")  # loading more does not change the URL


def test_search_as_you_type_in_english_and_chinese(signed_in: Page, user):
    add_images(user, ["a watercolor fox", "画一只猫在月亮上", "a neon city at night"])
    page = signed_in
    page.goto(page.base_url + "/")
    search = page.get_by_role("searchbox", name="Search prompts")

    search.fill("watercolor")
    expect(page.locator("#grid figure.tile")).to_have_count(1)
    expect(page.locator("#grid img")).to_have_attribute("alt", "a watercolor fox")
    expect(page).to_have_url(re.compile(r"\?q=watercolor"))

    search.fill("一只猫")
    expect(page.locator("#grid img")).to_have_attribute("alt", "画一只猫在月亮上")
    expect(page.locator("#grid figure.tile")).to_have_count(1)

    search.fill("zebra")
    expect(page.get_by_role("heading", name="Nothing matches")).to_be_visible()

    page.go_back()
    expect(page.locator("#grid img")).to_have_attribute("alt", "画一只猫在月亮上")


def test_the_overlay_opens_moves_with_the_arrows_and_closes_with_escape(signed_in: Page, user):
    older, newer = add_images(user, ["the older image", "the newer image"])
    page = signed_in
    page.goto(page.base_url + "/")
    page.locator(f"#tile-{newer.pk} a").click()

    overlay = page.locator("#overlay")
    expect(overlay).to_be_visible()
    expect(overlay.get_by_role("heading", name="the newer image")).to_be_visible()
    expect(page).to_have_url(page.base_url + f"/images/{newer.pk}/")

    page.keyboard.press("ArrowRight")
    expect(overlay.get_by_role("heading", name="the older image")).to_be_visible()
    expect(page).to_have_url(page.base_url + f"/images/{older.pk}/")
    page.keyboard.press("ArrowLeft")
    expect(overlay.get_by_role("heading", name="the newer image")).to_be_visible()

    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()
    expect(page).to_have_url(page.base_url + "/w/ada/")

    # The same URL is a page of its own, e.g. after a reload.
    page.goto(page.base_url + f"/images/{older.pk}/")
    expect(page.get_by_role("heading", name="the older image")).to_be_visible()


def test_favorite_from_the_overlay(signed_in: Page, user):
    (image,) = add_images(user, ["a fox to love"])
    page = signed_in
    page.goto(page.base_url + "/")
    page.locator(f"#tile-{image.pk} a").click()
    page.get_by_role("button", name="☆ Favorite").click()
    expect(page.get_by_role("button", name="★ Favorite")).to_have_attribute("aria-pressed", "true")
    assert Image.objects.get(pk=image.pk).is_favorite

    page.keyboard.press("Escape")
    page.get_by_label("★ Favorites").check()
    expect(page.locator("#grid figure.tile")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"favorites=1"))


def test_delete_then_undo(signed_in: Page, user):
    keep, victim = add_images(user, ["a fox to keep", "a fox to delete"])
    page = signed_in
    page.goto(page.base_url + f"/images/{victim.pk}/")
    page.get_by_role("button", name="Delete").click()

    expect(page).to_have_url(page.base_url + "/w/ada/")
    expect(page.get_by_role("status").filter(has_text="Moved to the trash.")).to_be_visible()
    expect(page.locator("#grid figure.tile")).to_have_count(1)
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#grid figure.tile")).to_have_count(2)
    assert Image.objects.get(pk=victim.pk).deleted_at is None
    assert keep.pk != victim.pk


def test_remix_edits_the_prompt_and_links_the_new_generation(signed_in: Page, user):
    (image,) = add_images(user, ["a fox in the snow"])
    page = signed_in
    page.goto(page.base_url + f"/images/{image.pk}/")
    page.get_by_role("link", name="Remix").click()

    expect(page.get_by_text("Remixing")).to_be_visible()
    prompt = page.get_by_label("Prompt", exact=True)
    expect(prompt).to_have_value("a fox in the snow")
    prompt.fill("a fox in the snow, at night")
    page.get_by_role("button", name="Generate").click()

    row = page.locator("#queue-list .queue-item").first
    expect(row).to_contain_text("a fox in the snow, at night")
    child = Generation.objects.get(prompt="a fox in the snow, at night")
    assert child.parent_id == image.generation_id


def test_emptying_the_trash_asks_first(signed_in: Page, user):
    (image,) = add_images(user, ["a fox for the trash"])
    Image.objects.filter(pk=image.pk).update(deleted_at=timezone.now())
    page = signed_in
    page.goto(page.base_url + "/w/ada/trash/")

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Empty trash").click()
    expect(page.locator(".grid figure.tile")).to_have_count(1)
    assert Image.objects.filter(pk=image.pk).exists()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Empty trash").click()
    expect(page.get_by_role("heading", name="The trash is empty")).to_be_visible()
    assert not Image.objects.filter(pk=image.pk).exists()
