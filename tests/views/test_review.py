"""Compare and lineage pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gallery.services.differences import UNSET
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


def images(user, *prompts, **fields):
    return [
        make_generation(created_by=user, prompt=prompt, n_images=1, **fields).images.get()
        for prompt in prompts
    ]


def test_compare_shows_the_images_their_prompt_diff_and_the_options_that_differ(
    user_client, user, django_assert_num_queries
):
    first, second = images(user, "a red fox", "a blue fox")
    second.generation.quality = "high"
    second.generation.save()
    url = reverse("gallery:compare", args=["ada"])
    user_client.get(url, {"image": [first.pk, second.pk]})
    # Session, user, membership, the images (with their generations), the header's switcher.
    with django_assert_num_queries(5):
        response = user_client.get(url, {"image": [first.pk, second.pk]})
    content = response.content.decode()
    assert response.status_code == 200
    assert content.index(f'id="compare-{first.pk}"') < content.index(f'id="compare-{second.pk}"')
    assert '<del class="diff-removed">red </del><ins class="diff-added">blue </ins>fox' in content
    assert f'<th scope="row">Quality</th><td>{UNSET}</td><td>high</td>' in content
    assert '<th scope="row">Model</th>' not in content


def test_compare_takes_2_to_4_of_the_workspace_s_images(user_client, user, other_user):
    mine = images(user, "a", "b", "c", "d", "e")
    theirs = images(other_user, "secret")[0]
    url = reverse("gallery:compare", args=["ada"])
    assert "Tick 2 to 4 images" in user_client.get(url, {"image": [mine[0].pk]}).content.decode()
    five = user_client.get(url, {"image": [image.pk for image in mine]}).content.decode()
    assert five.count('class="compare-pane"') == 4
    assert user_client.get(url, {"image": [mine[0].pk, theirs.pk]}).status_code == 404


def test_the_selection_form_posts_to_a_page_naming_only_the_images(user_client, user):
    first, second = images(user, "a", "b")
    url = reverse("gallery:compare", args=["ada"])
    response = user_client.post(url, {"image": [first.pk, second.pk], "next": "/x"})
    assert response["Location"] == f"{url}?image={first.pk}&image={second.pk}"
    grid = user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    assert f'formaction="{url}"' in grid


def test_the_generation_page_shows_its_remix_tree_with_diffs(user_client, user):
    root = make_generation(created_by=user, prompt="a fox", n_images=1)
    child = make_generation(created_by=user, prompt="a fox <b>jumping</b>", parent=root, n_images=1)
    content = user_client.get(reverse("gallery:generation", args=[root.pk])).content.decode()
    assert 'id="lineage"' in content
    assert f'id="lineage-{child.pk}"' in content
    assert '<ins class="diff-added">&lt;b&gt;jumping&lt;/b&gt;</ins>' in content
    alone = make_generation(created_by=user, prompt="alone")
    content = user_client.get(reverse("gallery:generation", args=[alone.pk])).content.decode()
    assert 'id="lineage"' not in content


def test_compare_and_the_remix_tree_read_in_chinese(user_client, user):
    first, second = images(user, "a red fox", "a blue fox")
    second.generation.quality = "high"
    second.generation.save()
    second.generation.parent = first.generation
    second.generation.save()
    user_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    url = reverse("gallery:compare", args=["ada"])
    page = user_client.get(url, {"image": [first.pk, second.pk]}).content.decode()
    assert "<h1" in page
    assert ">对比</h1>" in page
    assert f'<th scope="row">质量</th><td>{UNSET}</td><td>high</td>' in page
    assert "不同的选项" in page
    assert "图片 2" in page
    assert "勾选 2 到 4 张图片" in user_client.get(url, {"image": [first.pk]}).content.decode()
    tree = user_client.get(reverse("gallery:generation", args=[second.generation.pk]))
    assert "再创作树" in tree.content.decode()
