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


def test_generate_with_htmx_returns_the_queue_row_and_a_fresh_form(user_client, user):
    from tests.factories import make_generation

    make_generation(created_by=user, status=Generation.Status.QUEUED)  # one ahead in line
    response = user_client.post(reverse("gallery:generate", args=["ada"]), generate_data(), **HTMX)
    content = response.content.decode()
    generation = Generation.objects.get(idempotency_key="k-1")
    assert response.status_code == 200
    row = content.split("</li>")[0]
    assert f'<li class="queue-item" id="queue-item-{generation.pk}" data-status="queued"' in row
    assert f'hx-get="{reverse("gallery:generation", args=[generation.pk])}"' in row
    assert "#2 in line" in row
    assert 'data-announce="Queued: a lighthouse at dusk"' in row
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


QUEUE_ROW = {"HTTP_HX_REQUEST": "true"}


def as_queue_row(generation):
    return {**QUEUE_ROW, "HTTP_HX_TARGET": f"queue-item-{generation.pk}"}


def test_a_queue_row_polls_until_done_then_carries_its_images_for_the_grid(user_client, user):
    from tests.factories import make_generation

    running = make_generation(created_by=user, status=Generation.Status.RUNNING, n=3)
    url = reverse("gallery:generation", args=[running.pk])
    response = user_client.get(url, **as_queue_row(running))
    content = response.content.decode()
    assert response.status_code == 200
    assert f'<li class="queue-item" id="queue-item-{running.pk}"' in content
    assert 'hx-trigger="every 1s"' in content
    assert "data-announce" not in content  # a poll while it waits is quiet
    assert "in line" not in content  # running, not queued

    finished = make_generation(created_by=user, n_images=2, prompt="two foxes")
    response = user_client.get(
        reverse("gallery:generation", args=[finished.pk]), **as_queue_row(finished)
    )
    content = response.content.decode()
    assert response.status_code == 286  # htmx stops polling
    assert "hx-trigger" not in content
    assert 'data-announce="Finished: two foxes (2 images)"' in content
    tiles = content.split('<template class="arrived-tiles">')[1].split("</template>")[0]
    ids = [image.pk for image in finished.images.order_by("-pk")]
    assert [int(pk) for pk in re.findall(r'id="tile-(\d+)"', tiles)] == ids  # newest first


def test_failed_rows_offer_retry_and_dismiss_and_dismiss_can_be_undone(user_client, user):
    from tests.factories import make_generation

    failed = make_generation(
        created_by=user, status=Generation.Status.FAILED, error_message="Refused.", n_images=0
    )
    index = user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    assert f'id="queue-item-{failed.pk}" data-status="failed"' in index
    assert "<span>1 failed</span>" in index

    response = user_client.post(
        reverse("gallery:generation_delete", args=[failed.pk]), **as_queue_row(failed)
    )
    content = response.content.decode()
    assert 'data-status="dismissed"' in content
    assert reverse("gallery:generation_restore", args=[failed.pk]) in content
    failed.refresh_from_db()
    assert failed.deleted_at is not None

    response = user_client.post(
        reverse("gallery:generation_restore", args=[failed.pk]), **as_queue_row(failed)
    )
    assert f'id="queue-item-{failed.pk}" data-status="failed"' in response.content.decode()
    failed.refresh_from_db()
    assert failed.deleted_at is None


def test_dismiss_and_undo_without_javascript(user_client, user):
    from tests.factories import make_generation

    failed = make_generation(created_by=user, status=Generation.Status.FAILED, n_images=0)
    page = user_client.post(reverse("gallery:generation_delete", args=[failed.pk]), follow=True)
    restore_url = reverse("gallery:generation_restore", args=[failed.pk])
    assert f'action="{restore_url}"' in page.content.decode()  # the message's Undo
    page = user_client.post(restore_url, follow=True)
    assert "Restored." in page.content.decode()
    assert f'id="queue-item-{failed.pk}"' in page.content.decode()


def test_undo_brings_back_only_the_images_dismissed_with_the_generation(user, membership):
    from gallery.services import trash
    from tests.factories import make_generation, trash_image

    generation = make_generation(created_by=user, n_images=2)
    earlier, later = generation.images.order_by("pk")
    trash_image(earlier)
    trash.trash_generation(generation=generation)
    trash.restore_generation(generation=generation)
    assert set(generation.images.live().values_list("pk", flat=True)) == {later.pk}


def test_queue_rows_know_their_place_in_line_in_one_query(
    user_client, user, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import make_generation

    user_client.get(reverse("gallery:index", args=["ada"]))

    def count_for(queued):
        for _ in range(queued):
            make_generation(created_by=user, status=Generation.Status.QUEUED)
        with CaptureQueriesContext(connection) as queries:
            content = user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
        return len(queries), content

    few, _ = count_for(1)
    many, content = count_for(9)
    assert few == many
    assert "#10 in line" in content
    assert "#1 in line" in content


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


def test_dismissing_a_failed_generation_takes_it_away(user_client, user):
    from tests.factories import make_generation

    failed = make_generation(created_by=user, status=Generation.Status.FAILED, error_message="No.")
    assert (
        f'id="queue-item-{failed.pk}"'
        in user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    )
    # From the generation's own page (its card, not a queue row) the card goes away.
    response = user_client.post(reverse("gallery:generation_delete", args=[failed.pk]), **HTMX)
    assert response.content == b""
    failed.refresh_from_db()
    assert failed.deleted_at is not None
    assert (
        f'id="queue-item-{failed.pk}"'
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
