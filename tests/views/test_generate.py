from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from gallery.models import Generation

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def generate_data(**overrides):
    data = {
        "model": "demo",
        "prompt": "a lighthouse at dusk",
        "n": "2",
        "size": "960x960",
        "aspect_ratio": "16:9",
        "quality": "",
        "resolution": "",
        "idempotency_key": "k-1",
    }
    return {**data, **overrides}


def test_the_gallery_shows_the_generate_form_with_the_demo_model_labelled(user_client):
    content = user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    assert 'id="generate-form"' in content
    assert ">Demo (offline)<" in content
    assert 'name="idempotency_key"' in content


def test_generate_without_htmx_creates_a_queued_generation_and_redirects(
    user_client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = user_client.post(reverse("gallery:generate", args=["ada"]), generate_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("gallery:index", args=["ada"])
    generation = Generation.objects.get()
    assert generation.created_by == user
    assert (generation.model, generation.n, generation.size, generation.aspect_ratio) == (
        "demo",
        2,
        "960x960",
        "16:9",
    )
    assert generation.status == Generation.Status.QUEUED
    assert len(callbacks) == 1  # the task is enqueued when the transaction commits


def test_a_double_submit_creates_one_generation(user_client):
    user_client.post(reverse("gallery:generate", args=["ada"]), generate_data())
    user_client.post(reverse("gallery:generate", args=["ada"]), generate_data())
    assert Generation.objects.count() == 1


def test_a_repeated_htmx_submit_adds_no_second_card(user_client):
    user_client.post(reverse("gallery:generate", args=["ada"]), generate_data(), **HTMX)
    response = user_client.post(reverse("gallery:generate", args=["ada"]), generate_data(), **HTMX)
    assert response["HX-Reswap"] == "none"
    assert 'hx-swap-oob="outerHTML"' in response.content.decode()
    assert Generation.objects.count() == 1


def test_generate_with_htmx_returns_the_pending_card_and_a_fresh_form(user_client):
    response = user_client.post(reverse("gallery:generate", args=["ada"]), generate_data(), **HTMX)
    content = response.content.decode()
    generation = Generation.objects.get()
    assert response.status_code == 200
    assert f'id="generation-{generation.pk}"' in content
    assert content.count('class="placeholder-tile"') == 2
    assert "aspect-ratio: 16 / 9" in content
    assert 'hx-swap-oob="outerHTML"' in content
    assert 'value="k-1"' not in content  # the next submit gets a new idempotency key


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"prompt": ""}, "This field is required."),
        ({"prompt": "x" * 1001}, "Ensure this value has at most 1000 characters"),
        ({"n": "11"}, "Ensure this value is less than or equal to 10."),
        ({"n": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"size": "1024x1024"}, "Select a valid choice."),
        ({"aspect_ratio": "5:4"}, "Select a valid choice."),
    ],
)
def test_bad_input_is_explained_in_place_and_nothing_is_created(user_client, overrides, message):
    response = user_client.post(
        reverse("gallery:generate", args=["ada"]), generate_data(**overrides), **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#generate-form"
    assert response["HX-Reswap"] == "outerHTML"
    assert message in response.content.decode()
    assert not Generation.objects.exists()


def test_bad_input_without_htmx_renders_the_page_with_errors(user_client):
    response = user_client.post(reverse("gallery:generate", args=["ada"]), generate_data(prompt=""))
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Generation.objects.exists()


def test_changing_the_model_swaps_the_option_fields(user_client, settings):
    settings.IMAGES_API_KEY = "sk-test"
    response = user_client.get(
        reverse("gallery:generate", args=["ada"]), {"model": "gpt-image-1", "n": "2"}, **HTMX
    )
    content = response.content.decode()
    assert 'id="generate-options"' in content
    assert 'name="prompt"' not in content  # what the user typed is not swapped away
    assert 'name="aspect_ratio"' not in content  # a relay option gpt-image does not take
    assert 'name="response_format"' not in content  # gpt-image always answers base64
    assert 'name="n" value="2"' in content
    assert 'id="prompt-help" hx-swap-oob="true">Up to 32,000 characters.' in content
    response = user_client.get(
        reverse("gallery:generate", args=["ada"]), {"model": "grok-3-image"}, **HTMX
    )
    assert 'name="aspect_ratio"' in response.content.decode()


def test_changing_the_model_works_without_javascript(user_client, user, settings):
    from tests.factories import make_generation

    settings.IMAGES_API_KEY = "sk-test"
    parent = make_generation(created_by=user, prompt="the original")
    response = user_client.post(
        reverse("gallery:generate", args=["ada"]),
        {
            "model": "dall-e-3",
            "prompt": "typed so far",
            "n": "1",
            "switch_model": "1",
            "idempotency_key": "k-9",
            "parent": parent.pk,
        },
    )
    content = response.content.decode()
    assert 'value="dall-e-3" selected' in content
    assert 'name="style"' in content
    assert "typed so far</textarea>" in content
    assert f'name="parent" value="{parent.pk}"' in content  # still a remix
    assert "Remixing" in content
    assert not Generation.objects.exclude(pk=parent.pk).exists()


def test_the_no_javascript_model_switch_answers_htmx_with_the_form_only(user_client, settings):
    """Sent through htmx (an Enter that reached it), it swaps the form, never the whole page."""
    settings.IMAGES_API_KEY = "sk-test"
    data = {**generate_data(model="dall-e-3", prompt="typed so far"), "switch_model": "1"}
    response = user_client.post(reverse("gallery:generate", args=["ada"]), data, **HTMX)
    content = response.content.decode()
    assert response["HX-Retarget"] == "#generate-form"
    assert response["HX-Reswap"] == "outerHTML"
    assert content.lstrip().startswith('<form id="generate-form"')
    assert "<html" not in content
    assert "typed so far</textarea>" in content
    assert not Generation.objects.exists()


def test_generate_is_the_default_button_of_the_form(user_client):
    """Enter submits a form with its first submit button: that must be Generate, not the no-JS
    model switch."""
    content = user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    form = content.split('id="generate-form"')[1].split("</form>")[0]
    first_submit = re.search(r'<button type="submit"[^>]*>', form)[0]
    assert 'id="generate-submit"' in first_submit
    assert 'name="switch_model"' in form


def test_real_models_are_offered_only_with_a_key(user_client, settings):
    settings.IMAGES_API_KEY = ""
    content = user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    generate_form = content.split('id="generate-form"')[1].split("</form>")[0]
    assert 'value="grok-3-image"' not in generate_form
    assert 'value="demo"' in generate_form
    response = user_client.post(
        reverse("gallery:generate", args=["ada"]), generate_data(model="grok-3-image")
    )
    assert "This model is not offered to you here" in response.content.decode()


def test_the_form_remembers_the_last_choices(user_client):
    user_client.post(
        reverse("gallery:generate", args=["ada"]), generate_data(n="3", aspect_ratio="9:16")
    )
    content = user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    assert '<option value="9:16" selected>' in content
    assert 'name="n" value="3"' in content


def test_a_pending_card_polls_itself_and_a_finished_one_stops_polling(user_client, user):
    from tests.factories import make_generation

    pending = make_generation(created_by=user, status=Generation.Status.RUNNING, n=3)
    response = user_client.get(reverse("gallery:generation", args=[pending.pk]), **HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert f'hx-get="{reverse("gallery:generation", args=[pending.pk])}"' in content
    assert 'hx-trigger="every 1s"' in content
    assert content.count('class="placeholder-tile"') == 3

    finished = make_generation(created_by=user, n_images=2)
    response = user_client.get(reverse("gallery:generation", args=[finished.pk]), **HTMX)
    assert response.status_code == 286  # htmx stops polling
    assert "hx-trigger" not in response.content.decode()
    assert response.content.decode().count("<img") == 2


def test_polling_backs_off_as_the_wait_grows(user_client, user):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import make_generation

    old = make_generation(
        created_by=user,
        status=Generation.Status.RUNNING,
        created_at=timezone.now() - timedelta(minutes=5),
    )
    content = user_client.get(reverse("gallery:generation", args=[old.pk]), **HTMX).content
    assert b'hx-trigger="every 8s"' in content


@pytest.mark.parametrize("n_images", [1, 10])
def test_card_views_make_a_fixed_number_of_queries(
    user_client, user, django_assert_num_queries, n_images
):
    from tests.factories import make_generation

    pending = make_generation(created_by=user, status=Generation.Status.QUEUED, n=n_images)
    finished = make_generation(created_by=user, n_images=n_images)
    url_pending = reverse("gallery:generation", args=[pending.pk])
    url_finished = reverse("gallery:generation", args=[finished.pk])
    # session, user, the generation with the viewer's membership, its images
    with django_assert_num_queries(4):
        user_client.get(url_pending, **HTMX)
    with django_assert_num_queries(4):
        user_client.get(url_finished, **HTMX)


def test_dismissing_a_failed_generation_takes_its_card_away(user_client, user):
    from tests.factories import make_generation

    failed = make_generation(created_by=user, status=Generation.Status.FAILED, error_message="No.")
    assert (
        f'id="generation-{failed.pk}"'
        in user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    )
    response = user_client.post(reverse("gallery:generation_delete", args=[failed.pk]), **HTMX)
    assert response.content == b""
    failed.refresh_from_db()
    assert failed.deleted_at is not None
    assert (
        f'id="generation-{failed.pk}"'
        not in user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    )


def test_cancel_and_retry_as_pages_and_fragments(user_client, user):
    from tests.factories import make_generation

    queued = make_generation(created_by=user, status=Generation.Status.QUEUED)
    fragment = user_client.post(reverse("gallery:generation_cancel", args=[queued.pk]), **HTMX)
    assert 'data-status="canceled"' in fragment.content.decode()
    assert ">Retry</button>" in fragment.content.decode()
    page = user_client.post(reverse("gallery:generation_retry", args=[queued.pk]), follow=True)
    assert page.redirect_chain[-1][0] == reverse("gallery:generation", args=[queued.pk])
    assert 'data-status="queued"' in page.content.decode()
    again = user_client.post(reverse("gallery:generation_retry", args=[queued.pk]), follow=True)
    assert "Only a failed or canceled generation can be retried." in again.content.decode()


def test_history_restores_ask_for_whole_pages(user_client):
    content = user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    config = json.loads(re.search(r'<meta name="htmx-config" content=\'([^\']*)\'>', content)[1])
    assert config["historyRestoreAsHxRequest"] is False
