"""Searching as a person types, in any language: nothing is searched while an input method is
composing (pinyin on its way to Chinese characters is not a query)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_gallery import add_images

COMPOSE = """([box, steps, committed]) => {
    const composing = (data) => new InputEvent("input", { bubbles: true, isComposing: true, data });
    box.focus();
    box.dispatchEvent(new CompositionEvent("compositionstart", { bubbles: true, data: "" }));
    for (const step of steps) {
        box.value = step;
        box.dispatchEvent(new CompositionEvent("compositionupdate", { bubbles: true, data: step }));
        box.dispatchEvent(composing(step));
    }
    box.value = committed;
    box.dispatchEvent(composing(committed));
}"""

COMMIT = """([box, committed]) => {
    box.dispatchEvent(new CompositionEvent("compositionend", { bubbles: true, data: committed }));
}"""


def test_nothing_is_searched_while_an_input_method_composes(signed_in: Page, user):
    add_images(user, ["画一只猫在月亮上", "a neon city at night", "a cat"])
    page = signed_in
    page.goto(page.base_url + "/")
    searches: list[str] = []
    page.on(
        "request", lambda request: searches.append(request.url) if "q=" in request.url else None
    )
    box = page.get_by_role("searchbox", name="Search prompts")

    box.evaluate("(box, args) => (" + COMPOSE + ")([box, ...args])", [["m", "ma", "mao"], "猫"])
    # Longer than the search's 300 ms pause after typing: a composing input would have gone out.
    page.wait_for_timeout(900)
    assert searches == []
    expect(page.locator("#grid figure.tile")).to_have_count(3)

    box.evaluate("(box, committed) => (" + COMMIT + ")([box, committed])", "猫")
    expect(page.locator("#grid figure.tile")).to_have_count(1)
    expect(page.locator("#grid img")).to_have_attribute("alt", "画一只猫在月亮上")
    assert len(searches) == 1
    assert re.search(r"q=%E7%8C%AB", searches[0])
