from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def test_a_new_user_signs_up_sees_the_gallery_logs_out_and_is_locked_out(page: Page):
    page.goto(page.base_url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password", exact=True).fill("a-long-unusual-pass-42")
    page.get_by_label("Password confirmation").fill("a-long-unusual-pass-42")
    page.get_by_role("button", name="Sign up").click()

    expect(page).to_have_url(page.base_url + "/w/grace/")
    expect(page.get_by_role("heading", name="Nothing here yet")).to_be_visible()

    page.locator("summary").filter(has_text="grace").last.click()  # the account menu
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))

    page.goto(page.base_url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Nothing here yet")).to_have_count(0)


def test_a_wrong_password_is_shown_in_place(page: Page, user):
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Please enter a correct username and password"
    )
