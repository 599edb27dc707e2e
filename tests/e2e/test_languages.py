"""Chinese and English in a real browser: the header's switch, the browser's language and time
zone, and the scripts' own words (the /jsi18n/ catalogue, under the Content-Security-Policy)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from gallery.models import Generation, UserPreference
from tests.e2e.axe import audit_everywhere
from tests.e2e.test_accessibility import PAGES, lived_in  # noqa: F401 (a fixture)
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


def test_the_main_flow_in_chinese(page: Page, workers, db):
    """Sign up, switch to Chinese, generate with the demo model, and read the result in Chinese."""
    workers.start()
    sign_up(page)
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name="生成图片")).to_be_visible()

    prompt = page.get_by_label("提示词", exact=True)
    prompt.fill("月光下的水彩狐狸")
    page.get_by_label("图片数量").fill("2")
    page.get_by_role("button", name="生成", exact=True).click()

    row = page.locator("#queue-list .queue-item").first
    expect(row).to_contain_text("月光下的水彩狐狸")
    expect(row.locator(".status")).to_have_text(re.compile("排队中|生成中|已完成"))
    expect(page.locator("#announcer")).to_contain_text("已排队：月光下的水彩狐狸")
    # The prompt is Chinese on a Chinese page: it needs no lang of its own.
    expect(row.locator(".queue-prompt")).not_to_have_attribute("lang", re.compile(".*"))

    # The images slide into the grid, and the finish is announced in Chinese.
    tiles = page.locator("#grid figure.tile")
    expect(tiles).to_have_count(2, timeout=30_000)
    expect(page.locator("#announcer")).to_contain_text("已完成：月光下的水彩狐狸（2 张图片）")
    expect(tiles.first.locator("img")).to_have_attribute("alt", "月光下的水彩狐狸")
    tiles.first.locator("a").first.click()
    expect(page.locator("#overlay")).to_be_visible()
    expect(page.get_by_role("link", name="关闭")).to_be_visible()
    expect(page.locator("#overlay")).to_contain_text("模型")

    # Back in English, the Chinese prompt says it is Chinese.
    page.goto(page.base_url + "/w/grace/prompts/")
    page.get_by_role("button", name="English").click()
    expect(page.locator(".prompt-row .prompt").first).to_have_attribute("lang", "zh")


@pytest.fixture
def signed_in_chinese(page: Page, user):
    """The page signed in as a user whose stored language is Chinese."""
    UserPreference.objects.create(user=user, language="zh-hans", time_zone="Asia/Shanghai")
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": page.base_url}])
    return page


@pytest.mark.usefixtures("lived_in")
@pytest.mark.parametrize("path", PAGES)
def test_every_page_passes_the_audit_in_chinese(signed_in_chinese: Page, path):
    page = signed_in_chinese
    audit_everywhere(
        page, lambda page: page.goto(page.base_url + path), language="zh-hans", name=path
    )


def test_pages_of_one_row_and_the_overlay_pass_the_audit_in_chinese(
    signed_in_chinese: Page, request
):
    rows = request.getfixturevalue("lived_in")
    page = signed_in_chinese
    image = rows["images"][0]
    generation = Generation.objects.get(prompt="a fox that failed")
    for path in (
        f"/images/{image.pk}/",
        f"/generations/{generation.pk}/",
        f"/boards/{rows['board'].pk}/",
        "/settings/",
    ):
        audit_everywhere(
            page,
            lambda page, path=path: page.goto(page.base_url + path),
            language="zh-hans",
            name=path,
        )

    def overlay_open(page: Page) -> None:
        page.goto(page.base_url + "/w/ada/")
        page.locator(f"#tile-{image.pk} a").click()
        expect(page.locator("#overlay")).to_be_visible()

    audit_everywhere(page, overlay_open, language="zh-hans", name="overlay")


@pytest.mark.browser_context_args(locale="zh-CN")
def test_signed_out_pages_pass_the_audit_in_chinese(page: Page, db):
    for path in ("/accounts/login/", "/accounts/signup/"):
        audit_everywhere(
            page,
            lambda page, path=path: page.goto(page.base_url + path),
            language="zh-hans",
            name=path,
        )
