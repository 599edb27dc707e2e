"""No keyboard dead ends: Enter and Ctrl+Enter generate, focus stays where the person is after
every swap, Escape closes what is open, the images are a few Tab stops away, and on a phone a
new generation is seen and said."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from gallery.models import Generation, Image
from tests.e2e.axe import PHONE
from tests.e2e.test_gallery import add_images


def focused(page: Page) -> str:
    """A short description of the focused element: its id, or its tag and text."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            if (!el || el === document.body) return "body";
            return el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}:${el.textContent.trim()}`;
        }"""
    )


def test_enter_and_ctrl_enter_generate_and_focus_stays_put(signed_in: Page, user):
    page = signed_in
    page.goto(page.base_url + "/")
    prompt = page.get_by_label("Prompt", exact=True)
    cards = page.locator("#queue-list .queue-item")

    prompt.fill("the first fox")
    page.get_by_role("button", name="Generate").click()
    expect(cards).to_have_count(1)
    expect(page.locator("#generate-submit")).to_be_focused()

    # After the first generation the form was swapped in by htmx; Enter in "Number of images"
    # must still generate (it used to press the hidden no-JS "Show this model's options").
    prompt.fill("the second fox")
    number = page.get_by_label("Number of images")
    number.fill("2")
    number.press("Enter")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("the second fox")
    expect(page.locator("#id_n")).to_be_focused()
    expect(page.locator("header.site-header")).to_have_count(1)  # no page inside the page

    prompt.fill("the third fox")
    prompt.press("Control+Enter")
    expect(cards).to_have_count(3)
    expect(page.locator("#id_prompt")).to_be_focused()
    assert list(Generation.objects.order_by("id").values_list("prompt", "n")) == [
        ("the first fox", 1),
        ("the second fox", 2),
        ("the third fox", 2),
    ]
    expect(page.get_by_role("button", name="Show this model's options")).to_be_hidden()


def test_focus_stays_in_the_overlay_and_returns_to_the_tile(signed_in: Page, user):
    older, newer = add_images(user, ["the older fox", "the newer fox"])
    page = signed_in
    page.goto(page.base_url + "/")
    page.locator(f"#tile-{newer.pk} a").focus()
    page.keyboard.press("Enter")
    overlay = page.locator("#overlay")
    expect(overlay.get_by_role("heading", name="the newer fox")).to_be_visible()
    expect(page.locator("#image-close")).to_be_focused()

    page.keyboard.press("ArrowRight")
    expect(overlay.get_by_role("heading", name="the older fox")).to_be_visible()
    expect(page.locator("#image-close")).to_be_focused()

    # Pressing "Older" itself, then "Newer": focus follows to the button of the new image.
    page.keyboard.press("ArrowLeft")
    expect(overlay.get_by_role("heading", name="the newer fox")).to_be_visible()
    page.locator("#image-older").focus()
    page.keyboard.press("Enter")
    expect(overlay.get_by_role("heading", name="the older fox")).to_be_visible()
    # The oldest image has no "Older" button: focus goes to Close, not to <body>.
    assert focused(page) != "body"

    page.locator("#favorite-toggle").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#favorite-toggle")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#favorite-toggle")).to_be_focused()
    assert Image.objects.get(pk=older.pk).is_favorite

    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()
    expect(page).to_have_url(page.base_url + "/w/ada/")
    expect(page.locator(f"#tile-{newer.pk} a")).to_be_focused()


def test_escape_closes_the_header_menus(signed_in: Page, user):
    page = signed_in
    page.goto(page.base_url + "/")
    for menu in ("#account-menu", "#workspace-menu"):
        page.locator(f"{menu} summary").click()
        expect(page.locator(menu)).to_have_attribute("open", "")
        page.keyboard.press("Tab")  # into the menu
        page.keyboard.press("Escape")
        expect(page.locator(menu)).not_to_have_attribute("open", "")
        expect(page.locator(f"{menu} summary")).to_be_focused()
    # A click elsewhere closes it too.
    page.locator("#account-menu summary").click()
    page.locator("#generate-heading").click()
    expect(page.locator("#account-menu")).not_to_have_attribute("open", "")


def tabs_to_first_tile(page: Page, limit: int = 60) -> int:
    for count in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("() => Boolean(document.activeElement.closest('#grid .tile'))"):
            return count
    raise AssertionError(f"no tile reached in {limit} Tab presses")


def test_the_first_tile_is_a_few_tab_stops_away(signed_in: Page, user):
    add_images(user, ["a fox", "another fox"])
    page = signed_in
    page.goto(page.base_url + "/")
    assert tabs_to_first_tile(page) <= 30  # header, generate form, search: no more

    page.goto(page.base_url + "/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the images")).to_be_focused()
    page.keyboard.press("Enter")
    assert tabs_to_first_tile(page) == 1


def test_on_a_phone_a_new_generation_is_shown_and_announced(signed_in: Page, user):
    add_images(user, [f"fox {number}" for number in range(6)])
    page = signed_in
    page.set_viewport_size(PHONE)
    page.goto(page.base_url + "/")
    page.get_by_label("Prompt", exact=True).fill("a fox seen on a phone")
    page.get_by_role("button", name="Generate").click()
    card = page.locator("#queue-list .queue-item").first
    expect(card).to_contain_text("a fox seen on a phone")
    expect(card).to_be_in_viewport()
    expect(page.locator("#announcer")).to_contain_text("a fox seen on a phone")
