from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def sign_up(page: Page, username: str = "grace") -> None:
    page.goto(page.base_url + "/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill("a-long-unusual-pass-42")
    page.get_by_label("Password confirmation").fill("a-long-unusual-pass-42")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(page.base_url + "/w/grace/")


def choose_model(page: Page, model: str) -> None:
    """Pick a model and wait until htmx has swapped in that model's options."""
    page.evaluate(
        """() => {
            window.optionsSwapped = false;
            document.body.addEventListener(
                "htmx:afterSettle", () => { window.optionsSwapped = true; }, { once: true });
        }"""
    )
    page.get_by_label("Model", exact=True).select_option(model)
    page.wait_for_function("() => window.optionsSwapped")


def test_generate_four_images_and_watch_them_arrive(page: Page, workers, fake_images_api):
    workers.start()
    sign_up(page)

    prompt = page.get_by_label("Prompt", exact=True)
    prompt.fill("a lighthouse on a cliff at dusk [fault:slow=1]")
    choose_model(page, "grok-3-image")
    expect(prompt).to_have_value("a lighthouse on a cliff at dusk [fault:slow=1]")
    page.get_by_label("Number of images").fill("4")
    page.get_by_label("Size", exact=True).select_option("1280x720")
    page.get_by_label("Aspect ratio", exact=True).select_option("16:9")
    page.get_by_role("button", name="Generate").click()

    row = page.locator("#queue-list .queue-item").first
    expect(row).to_contain_text("a lighthouse on a cliff at dusk")
    expect(row.locator(".status")).to_have_text(re.compile("Queued|Running"))
    expect(page.locator("#announcer")).to_contain_text("Queued: a lighthouse")

    # The images slide into the grid as they land; the row leaves the tray.
    tiles = page.locator("#grid figure.tile")
    expect(tiles).to_have_count(4, timeout=30_000)
    expect(page.locator("#announcer")).to_contain_text("Finished: a lighthouse")
    expect(page.locator("#queue-list .queue-item")).to_have_count(0, timeout=10_000)
    expect(page.locator("#queue-tray")).to_be_hidden()
    for index in range(4):
        image = tiles.nth(index).locator("img")
        expect(image).to_have_js_property("complete", True)
        width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert width > 0
        # Each tile is laid out at its image's own aspect ratio.
        box = image.bounding_box()
        assert abs(box["width"] / box["height"] - width / height) < 0.05

    body = fake_images_api.generation_requests[0].json
    assert body["n"] == 4
    assert body["size"] == "1280x720"
    assert body["aspect_ratio"] == ["16:9"] * 4


def test_a_failure_shows_its_reason_and_retry_works(page: Page, workers, fake_images_api):
    workers.start()
    sign_up(page)
    choose_model(page, "grok-3-image")
    page.get_by_label("Prompt", exact=True).fill("a fox [fault:400-policyx1]")
    page.get_by_label("Number of images").fill("1")
    page.get_by_role("button", name="Generate").click()

    row = page.locator("#queue-list .queue-item").first
    expect(row.locator(".queue-error")).to_contain_text("safety", ignore_case=True, timeout=20_000)
    expect(row.locator(".status")).to_have_text("Failed")
    expect(page.locator("#announcer")).to_contain_text("Failed: a fox")
    row.get_by_role("button", name="Retry").click()
    expect(page.locator("#grid figure.tile")).to_have_count(1, timeout=20_000)
    expect(page.locator("#queue-list .queue-item")).to_have_count(0, timeout=10_000)


def test_bad_input_is_explained_in_the_form(page: Page, user, password):
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Prompt", exact=True).fill("   ")
    page.get_by_label("Prompt", exact=True).evaluate("el => el.removeAttribute('required')")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#generate-form").get_by_role("alert")).to_contain_text(
        "This field is required."
    )
    expect(page.locator(".queue-item")).to_have_count(0)


def test_the_first_run_message_gives_way_to_the_first_card(page: Page, user, password):
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Nothing here yet")).to_be_visible()
    page.get_by_label("Prompt", exact=True).fill("a first fox")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator(".queue-item")).to_have_count(1)
    expect(page.get_by_role("heading", name="Nothing here yet")).to_be_hidden()


def test_the_first_images_replace_the_first_run_message(page: Page, workers, fake_images_api):
    workers.start()
    sign_up(page)
    page.get_by_label("Prompt", exact=True).fill("the very first fox")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#grid figure.tile")).to_have_count(1, timeout=30_000)
    expect(page.get_by_role("heading", name="Nothing here yet")).to_have_count(0)
