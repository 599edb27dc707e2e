"""axe-core on every page and state, desktop and phone, light and dark: any violation fails.

Each test brings a page to a state and audits it at both sizes in both colour schemes
(tests/e2e/axe.py). The language is a parameter of the audit, so the same states can be audited
in another language of the interface by passing it.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from gallery.models import Generation, Image
from gallery.services import boards
from tests.e2e.axe import audit_everywhere
from tests.e2e.test_gallery import add_images
from tests.factories import make_generation


@pytest.fixture
def lived_in(user, membership):
    """A workspace as a person leaves it: images (one a favourite, one on a board, one in the
    trash), a generation under way, one that failed."""
    images = add_images(user, ["a watercolor fox", "画一只猫在月亮上", "a neon city", "a gone fox"])
    Image.objects.filter(pk=images[0].pk).update(is_favorite=True)
    Image.objects.filter(pk=images[3].pk).update(deleted_at=timezone.now())
    board = boards.create_board(membership=membership, name="Foxes", visibility="workspace")
    boards.add_images(board=board, membership=membership, ids=[images[0].pk])
    make_generation(
        created_by=user,
        prompt="a fox on the way",
        n=2,
        model="demo",
        size="960x960",
        status=Generation.Status.QUEUED,
    )
    make_generation(
        created_by=user,
        prompt="a fox that failed",
        n=1,
        model="demo",
        size="960x960",
        status=Generation.Status.FAILED,
        error_message="The service refused the prompt.",
    )
    return {"images": images, "board": board}


PAGES = [
    "/w/ada/",
    "/w/ada/?view=generations",
    "/w/ada/?q=zebra",
    "/w/ada/?model=demo",
    "/w/ada/prompts/",
    "/w/ada/usage/",
    "/w/ada/boards/",
    "/w/ada/trash/",
    "/w/ada/members/",
    "/w/ada/budget/",
    "/workspaces/new/",
    "/accounts/password/",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_passes_the_audit(signed_in: Page, lived_in, path):
    page = signed_in
    audit_everywhere(page, lambda page: page.goto(page.base_url + path), name=path)


def test_pages_of_one_row_pass_the_audit(signed_in: Page, lived_in, user):
    page = signed_in
    image = lived_in["images"][0]
    generation = Generation.objects.get(prompt="a fox that failed")
    for path in (
        f"/images/{image.pk}/",
        f"/generations/{generation.pk}/",
        f"/boards/{lived_in['board'].pk}/",
    ):
        audit_everywhere(page, lambda page, path=path: page.goto(page.base_url + path), name=path)


def test_open_menus_and_the_overlay_pass_the_audit(signed_in: Page, lived_in):
    page = signed_in
    image = lived_in["images"][1]

    def menu_open(page: Page) -> None:
        page.goto(page.base_url + "/w/ada/")
        page.locator("#account-menu summary").click()
        expect(page.locator("#account-menu")).to_have_attribute("open", "")

    def overlay_open(page: Page) -> None:
        page.goto(page.base_url + "/w/ada/")
        page.locator(f"#tile-{image.pk} a").click()
        expect(page.locator("#overlay")).to_be_visible()
        expect(page.locator("#image-close")).to_be_focused()

    audit_everywhere(page, menu_open, name="account menu")
    audit_everywhere(page, overlay_open, name="overlay")


def test_signed_out_pages_pass_the_audit(page: Page):
    for path in ("/accounts/login/", "/accounts/signup/"):
        audit_everywhere(page, lambda page, path=path: page.goto(page.base_url + path), name=path)


def test_the_first_run_passes_the_audit(signed_in: Page, user):
    page = signed_in

    def first_run(page: Page) -> None:
        page.goto(page.base_url + "/w/ada/")
        expect(page.get_by_role("heading", name="Nothing here yet")).to_be_visible()

    audit_everywhere(page, first_run, name="first run")
