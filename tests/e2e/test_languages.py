"""Chinese and English in a real browser: the header's switch, the browser's language and time
zone, and the scripts' own words (the /jsi18n/ catalogue, under the Content-Security-Policy)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from gallery.models import UserPreference
from tests.e2e.test_generate import sign_up


@pytest.mark.browser_context_args(timezone_id="Asia/Shanghai", locale="en-US")
def test_switching_to_chinese_is_remembered_and_the_time_zone_is_detected(page: Page, db):
    sign_up(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Gallery")).to_be_visible()

    # The browser reported its time zone once, by itself.
    page.goto(page.base_url + "/w/grace/usage/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Usage of grace")
    page.wait_for_function("() => !document.body.dataset.timeZoneUrl")
    assert UserPreference.objects.get(user__username="grace").time_zone == "Asia/Shanghai"

    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("grace 的用量")
    expect(
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="图库")
    ).to_be_visible()
    # The scripts' words come in Chinese too.
    assert page.evaluate("() => gettext('Copied')") == "已复制"

    # Remembered with the user: a fresh browser that asks for English still gets Chinese.
    page.context.clear_cookies()
    page.goto(page.base_url + "/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password").fill("a-long-unusual-pass-42")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="主导航")).to_be_visible()

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert UserPreference.objects.get(user__username="grace").language == "en"


@pytest.mark.browser_context_args(locale="zh-CN")
def test_a_chinese_browser_gets_the_chinese_log_in_page(page: Page, db):
    page.goto(page.base_url + "/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    expect(page.get_by_role("button", name="English")).to_be_visible()
