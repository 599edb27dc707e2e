"""A team as two people use it: Ada makes a team and invites Mallory as a reviewer by link;
Mallory sees the team's images but can neither generate nor delete (no buttons, and a forged
POST is refused); Ada removes her and she is locked out."""

from __future__ import annotations

import re

from django.test import Client
from playwright.sync_api import Browser, Page, expect

from gallery.models import Image, Workspace
from gallery.services import imaging
from tests.factories import make_generation
from tests.images import make_image_bytes


def log_in(page: Page, user) -> Page:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": page.base_url}])
    return page


def test_a_reviewer_invited_by_link_sees_but_cannot_change_and_is_locked_out_once_removed(
    page: Page, browser: Browser, live_server, user, other_user
):
    ada = log_in(page, user)
    ada.goto(ada.base_url + "/")
    ada.get_by_role("group").filter(has_text="New team workspace").locator("summary").click()
    ada.get_by_role("link", name="New team workspace…").click()
    ada.get_by_label("Name").fill("Studio")
    ada.get_by_role("button", name="Create").click()
    expect(ada.get_by_role("heading", name="Studio: members")).to_be_visible()

    team = Workspace.objects.get(name="Studio")
    generation = make_generation(
        created_by=user, workspace=team, prompt="a team fox", n=1, model="demo", size="960x960"
    )
    image = imaging.store_image(
        generation=generation, index=0, data=make_image_bytes(format="PNG", size=(24, 24))
    )

    ada.get_by_label("Role", exact=True).last.select_option("reviewer")
    ada.get_by_role("button", name="Make a link").click()
    link = ada.get_by_role("textbox", name="Invitation link").input_value()
    assert re.fullmatch(rf"{re.escape(ada.base_url)}/invite/\d+/[\w-]{{40,}}/", link)

    context = browser.new_context()
    mallory = context.new_page()
    mallory.set_default_timeout(10_000)
    mallory.base_url = live_server.url
    log_in(mallory, other_user)
    mallory.goto(link)
    expect(mallory.get_by_text("as reviewer")).to_be_visible()
    mallory.get_by_role("button", name=re.compile("Join as")).click()
    expect(mallory).to_have_url(f"{mallory.base_url}/w/{team.slug}/")

    # She sees the team's images, and no way to generate or delete.
    expect(mallory.locator(f"#tile-{image.pk}")).to_be_visible()
    expect(mallory.get_by_role("button", name="Generate")).to_have_count(0)
    mallory.goto(f"{mallory.base_url}/images/{image.pk}/")
    expect(mallory.get_by_role("heading", name="a team fox")).to_be_visible()
    expect(mallory.get_by_role("button", name="Delete")).to_have_count(0)
    expect(mallory.get_by_role("link", name="Download")).to_be_visible()

    # A request made by hand is refused too.
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": csrf, "Referer": mallory.base_url + "/"}
    refused = mallory.request.post(
        f"{mallory.base_url}/images/{image.pk}/delete/", headers=headers, max_redirects=0
    )
    assert refused.status == 403
    generate = mallory.request.post(
        f"{mallory.base_url}/w/{team.slug}/generate/",
        headers=headers,
        form={"model": "demo", "prompt": "sneaky", "n": "1", "idempotency_key": "k"},
        max_redirects=0,
    )
    assert generate.status == 403
    assert Image.objects.get(pk=image.pk).deleted_at is None

    # Ada removes her; what the team holds is no longer hers to see.
    ada.goto(f"{ada.base_url}/w/{team.slug}/members/")
    ada.once("dialog", lambda dialog: dialog.accept())
    ada.get_by_role("button", name=f"Remove {other_user.username}").click()
    expect(ada.get_by_text("was removed")).to_be_visible()

    for locked in (f"/w/{team.slug}/", f"/images/{image.pk}/"):
        response = mallory.goto(mallory.base_url + locked)
        assert response is not None
        assert response.status == 404
    context.close()
