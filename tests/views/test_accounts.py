from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from gallery.models import Membership

pytestmark = pytest.mark.django_db


def test_signup_creates_the_account_logs_in_and_lands_on_the_gallery(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "grace",
            "password1": "a-long-unusual-pass-42",
            "password2": "a-long-unusual-pass-42",
        },
        follow=True,
    )
    assert response.redirect_chain == [(reverse("gallery:index", args=["grace"]), 302)]
    assert response.context["user"].get_username() == "grace"
    (membership,) = Membership.objects.filter(user__username="grace").select_related("workspace")
    assert (membership.role, membership.workspace.is_personal) == ("owner", True)
    assert b"Nothing here yet" in response.content
    assert get_user_model().objects.filter(username="grace").exists()


def test_signup_with_a_taken_username_says_so_in_place(client, user):
    response = client.post(
        reverse("signup"),
        {
            "username": user.username,
            "password1": "a-long-unusual-pass-42",
            "password2": "a-long-unusual-pass-42",
        },
    )
    assert response.status_code == 200
    assert "A user with that username already exists." in response.content.decode()


def test_signup_with_a_weak_password_says_why(client):
    response = client.post(
        reverse("signup"), {"username": "grace", "password1": "12345678", "password2": "12345678"}
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "This password is too common." in content
    assert "This password is entirely numeric." in content
    assert not get_user_model().objects.filter(username="grace").exists()


def test_signup_with_mismatched_passwords(client):
    response = client.post(
        reverse("signup"),
        {"username": "grace", "password1": "a-long-unusual-pass-42", "password2": "another-one-43"},
    )
    assert "The two password fields" in response.content.decode()


def test_login_with_a_wrong_password_says_so(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_login_returns_to_the_page_asked_for(client, user, password):
    response = client.post(
        reverse("login") + "?next=/prompts/",
        {"username": user.username, "password": password, "next": "/prompts/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/prompts/"


def test_pages_require_login_and_come_back_after_it(client):
    response = client.get(reverse("gallery:index", args=["ada"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/w/ada/"


def test_logged_in_user_sees_an_empty_gallery_with_a_first_run_message(user_client):
    response = user_client.get(reverse("gallery:index", args=["ada"]))
    assert response.status_code == 200
    assert "Nothing here yet" in response.content.decode()


def test_logout_needs_post_and_ends_the_session(user_client):
    response = user_client.post(reverse("logout"))
    assert response.status_code == 302
    assert user_client.get(reverse("gallery:index", args=["ada"])).status_code == 302


def test_change_password(user_client, user, password):
    response = user_client.post(
        reverse("password_change"),
        {
            "old_password": password,
            "new_password1": "an-even-longer-pass-99",
            "new_password2": "an-even-longer-pass-99",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("an-even-longer-pass-99")


def test_change_password_with_a_wrong_old_password(user_client):
    response = user_client.post(
        reverse("password_change"),
        {
            "old_password": "wrong",
            "new_password1": "x-9-long-pass",
            "new_password2": "x-9-long-pass",
        },
    )
    assert "Your old password was entered incorrectly" in response.content.decode()


def test_static_files_are_served_and_htmx_comes_from_django_htmx(user_client):
    content = user_client.get(reverse("gallery:index", args=["ada"])).content.decode()
    assert "/static/django_htmx/htmx-2.min.js" in content
    assert 'hx-headers=\'{"x-csrftoken": "' in content
    assert "/static/gallery/app.css" in content


def post_login(client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_failed_logins_lock_the_account_even_with_the_right_password(
    client, user, password, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        post_login(client, user.username, "wrong")
    response = post_login(client, user.username, password)
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed log-ins" in text
    assert "paused for 15 minutes" in text
    assert "_auth_user_id" not in client.session


def test_failed_logins_lock_the_account_from_any_address(client, user, password, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for number in range(3):
        post_login(client, user.username, "wrong", REMOTE_ADDR=f"198.51.100.{number}")
    assert post_login(client, user.username, password, REMOTE_ADDR="192.0.2.9").status_code == 429


def test_failed_logins_lock_the_address_for_every_account(
    client, user, other_user, password, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    for number in range(3):
        post_login(client, f"guess{number}", "wrong", REMOTE_ADDR="198.51.100.1")
    response = post_login(client, other_user.username, password, REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 429
    assert post_login(client, user.username, password, REMOTE_ADDR="192.0.2.9").status_code == 302


def test_the_lock_lifts_after_the_cool_off(client, user, password, settings):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        post_login(client, user.username, "wrong")
    assert post_login(client, user.username, password).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME)
    assert post_login(client, user.username, password).status_code == 302


def signup_data(username: str) -> dict[str, str]:
    return {
        "username": username,
        "password1": "a-long-unusual-pass-42",
        "password2": "a-long-unusual-pass-42",
    }


def test_signups_from_one_address_are_throttled(client, settings):
    settings.SIGNUP_RATE_LIMIT = 2
    for name in ("one", "two"):
        client.post(reverse("signup"), signup_data(name), REMOTE_ADDR="198.51.100.7")
        client.logout()
    response = client.post(reverse("signup"), signup_data("three"), REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429
    assert "Too many accounts were created from your address" in response.content.decode()
    assert not get_user_model().objects.filter(username="three").exists()
    response = client.post(reverse("signup"), signup_data("four"), REMOTE_ADDR="192.0.2.1")
    assert response.status_code == 302


def test_a_username_that_looks_like_an_existing_one_is_refused(client):
    get_user_model().objects.create_user("ape", password="x")
    # All Cyrillic, full-width (Django folds it to "ape"), Cyrillic mixed with Latin.
    for lookalike in ("\u0430\u0440\u0435", "\uff41\uff50\uff45", "\u0430pe"):
        response = client.post(reverse("signup"), signup_data(lookalike))
        assert response.status_code == 200
        assert response.context["form"].errors["username"], lookalike
    assert get_user_model().objects.count() == 1
