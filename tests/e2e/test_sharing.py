"""A share link as two people use it: Ada shares an image from its page; someone with no account
opens the link and sees it; Ada turns the link off and the page stops opening."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from gallery.services import imaging
from tests.e2e.test_teams import log_in
from tests.factories import make_generation
from tests.images import make_image_bytes


def test_a_share_link_opens_logged_out_and_stops_after_revoke(
    page: Page, browser: Browser, live_server, user
):
    generation = make_generation(created_by=user, prompt="a shared fox", n=1, model="demo")
    image = imaging.store_image(
        generation=generation, index=0, data=make_image_bytes(format="PNG", size=(24, 24))
    )
    ada = log_in(page, user)
    ada.goto(f"{ada.base_url}/images/{image.pk}/")
    ada.locator(".share-form summary").click()
    ada.get_by_label("Link opens for").select_option("1")
    ada.get_by_role("button", name="Make a share link").click()
    link = ada.get_by_role("textbox", name="Share link").input_value()
    assert re.fullmatch(rf"{re.escape(ada.base_url)}/s/[\w-]{{59}}/", link)

    stranger = browser.new_context().new_page()
    stranger.set_default_timeout(10_000)
    stranger.goto(link)
    expect(stranger.get_by_text("a shared fox")).to_be_visible()
    shown = stranger.locator("figure img")
    expect(shown).to_be_visible()
    assert shown.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(stranger.get_by_role("link", name="Download")).to_have_count(0)

    ada.goto(f"{ada.base_url}/w/{user.username}/shares/")
    expect(ada.get_by_role("cell", name="1", exact=True)).to_be_visible()  # one view
    ada.get_by_role("button", name="Turn off").click()
    expect(ada.get_by_text("No live share links.")).to_be_visible()

    response = stranger.goto(link)
    assert response is not None
    assert response.status == 410
    expect(stranger.get_by_text("This link does not open")).to_be_visible()
    expect(stranger.locator("figure img")).to_have_count(0)
