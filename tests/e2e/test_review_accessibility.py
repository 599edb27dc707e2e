"""axe-core on the review pages (tests/e2e/axe.py): share links and the shared page, an image
with a pinned comment, compare, and a generation's remix tree."""

from __future__ import annotations

from playwright.sync_api import Page

from gallery.services import comments, imaging, sharing
from tests.e2e.axe import audit_everywhere
from tests.factories import make_generation
from tests.images import make_image_bytes


def test_review_pages_pass_the_audit(signed_in: Page, user, membership):
    page = signed_in
    images = [
        imaging.store_image(
            generation=make_generation(created_by=user, prompt=prompt, n=1, model="demo"),
            index=0,
            data=make_image_bytes(format="PNG", size=(400, 300)),
        )
        for prompt in ("a watercolor fox", "a watercolor fox at night")
    ]
    remix = make_generation(
        created_by=user, prompt="a watercolor fox at dawn", parent=images[0].generation
    )
    comments.add_comment(
        membership=membership,
        image=images[0],
        body="The ear @ada https://example.com",
        x=0.3,
        y=0.4,
    )
    _, token = sharing.create_share_link(
        membership=membership, image=images[0], hours=1, allow_download=True, show_creator=True
    )
    revoked, revoked_token = sharing.create_share_link(
        membership=membership, image=images[1], hours=1
    )
    sharing.revoke_share_link(link=revoked)
    for path in (
        f"/images/{images[0].pk}/",
        f"/generations/{images[0].generation_id}/",
        f"/generations/{remix.pk}/",
        f"/w/ada/compare/?image={images[0].pk}&image={images[1].pk}",
        "/w/ada/shares/",
    ):
        audit_everywhere(page, lambda page, path=path: page.goto(page.base_url + path), name=path)
    page.context.clear_cookies()
    for path in (f"/s/{token}/", f"/s/{revoked_token}/"):
        audit_everywhere(page, lambda page, path=path: page.goto(page.base_url + path), name=path)
