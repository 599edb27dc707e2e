"""Languages, time zones and the language of user text (gallery/i18n.py), through real
requests where a person would see them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from gallery.forms import GenerateForm
from gallery.i18n import Message, text_language
from gallery.models import Invitation, Role, UserPreference
from gallery.services import budgets, workspaces
from tests.conftest import make_user


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("a watercolor fox under a neon moon", "en"),
        ("霓虹月光下的水彩狐狸", "zh"),
        ("一只猫在窗台上睡觉，4K, cinematic", "zh"),  # a character weighs more than a letter
        ("a cinematic photo of a cat sleeping on a windowsill, 猫", "en"),
        ("桜の下で眠る猫", "ja"),
        ("달빛 아래의 여우", "ko"),
        ("1234 !!! ...", ""),
        ("", ""),
    ],
)
def test_text_language_tells_the_script(text, language):
    assert text_language(text) == language


def render(source: str, **context) -> str:
    return Template("{% load gallery_tags %}" + source).render(Context(context))


def test_user_text_in_another_language_than_the_page_carries_its_own_lang():
    source = "<p{{ prompt|lang_attr }}>{{ prompt }}</p>"
    with translation.override("en"):
        assert render(source, prompt="水彩狐狸") == '<p lang="zh">水彩狐狸</p>'
        assert render(source, prompt="a fox") == "<p>a fox</p>"
    with translation.override("zh-hans"):
        assert render(source, prompt="水彩狐狸") == "<p>水彩狐狸</p>"
        assert render(source, prompt="a fox") == '<p lang="en">a fox</p>'


@pytest.mark.django_db
def test_a_chinese_prompt_on_an_english_page_is_marked_zh(user_client, user, membership):
    from tests.factories import make_generation

    make_generation(created_by=user, workspace=membership.workspace, prompt="水彩狐狸，霓虹月亮")
    page = user_client.get(reverse("gallery:prompts", args=["ada"])).content.decode()
    assert '<div class="prompt" lang="zh">水彩狐狸，霓虹月亮</div>' in page
    assert '<html lang="en">' in page


@pytest.mark.django_db
def test_an_anonymous_visitor_gets_the_language_their_browser_asks_for(client):
    page = client.get(reverse("login"), headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    text = page.content.decode()
    assert '<html lang="zh-hans">' in text
    assert "<h1>登录</h1>" in text
    assert page["Content-Language"] == "zh-hans"
    assert "Accept-Language" in page["Vary"]
    english = client.get(reverse("login"), headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "<h1>Log in</h1>" in english.content.decode()


@pytest.mark.django_db
def test_the_switch_sets_an_anonymous_visitor_s_cookie(client):
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": "/accounts/login/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    # The cookie wins over the browser's Accept-Language.
    page = client.get(reverse("login"), headers={"Accept-Language": "en"})
    assert "<h1>登录</h1>" in page.content.decode()


@pytest.mark.django_db
def test_the_switch_refuses_an_unknown_language_and_a_foreign_next(client):
    assert client.post(reverse("set_language"), {"language": "xx"}).status_code == 400
    response = client.post(
        reverse("set_language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("login")


@pytest.mark.django_db
def test_a_user_s_choice_is_stored_and_follows_them_to_a_new_session(client, user, password):
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert UserPreference.objects.get(user=user).language == "zh-hans"
    page = client.get(reverse("gallery:usage", args=["ada"]), headers={"Accept-Language": "en"})
    assert "<h1>ada 的用量</h1>" in page.content.decode()

    # Another browser (no cookie, English Accept-Language): logging in brings the choice back.
    other = type(client)()
    other.post(reverse("login"), {"username": "ada", "password": password})
    page = other.get(reverse("gallery:usage", args=["ada"]), headers={"Accept-Language": "en"})
    assert "<h1>ada 的用量</h1>" in page.content.decode()
    # ... and sets the cookie, so the page stays Chinese after logging out.
    assert page.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


@pytest.mark.django_db
def test_the_settings_page_stores_language_and_time_zone(user_client, user):
    page = user_client.get(reverse("gallery:preferences"))
    assert page.status_code == 200
    response = user_client.post(
        reverse("gallery:preferences"), {"language": "zh-hans", "time_zone": "Asia/Shanghai"}
    )
    assert response.status_code == 302
    stored = UserPreference.objects.get(user=user)
    assert (stored.language, stored.time_zone) == ("zh-hans", "Asia/Shanghai")
    page = user_client.get(reverse("gallery:preferences")).content.decode()
    assert "设置已保存。" in page
    assert "Asia/Shanghai" in page
    refused = user_client.post(reverse("gallery:preferences"), {"time_zone": "Mars/Olympus"})
    assert refused.status_code == 200  # the form again, with its error
    assert UserPreference.objects.get(user=user).time_zone == "Asia/Shanghai"


@pytest.mark.django_db
def test_the_browser_s_time_zone_is_stored_once_and_never_over_a_chosen_one(user_client, user):
    page = user_client.get(reverse("gallery:usage", args=["ada"])).content.decode()
    detect = reverse("gallery:time_zone_detect")
    assert f'data-time-zone-url="{detect}"' in page
    assert user_client.post(detect, {"time_zone": "Nowhere/Else"}).status_code == 400
    assert user_client.post(detect, {"time_zone": "Europe/Paris"}).status_code == 204
    assert UserPreference.objects.get(user=user).time_zone == "Europe/Paris"
    page = user_client.get(reverse("gallery:usage", args=["ada"])).content.decode()
    assert "data-time-zone-url" not in page
    assert user_client.post(detect, {"time_zone": "Asia/Tokyo"}).status_code == 204
    assert UserPreference.objects.get(user=user).time_zone == "Europe/Paris"


@pytest.mark.django_db
def test_times_are_shown_in_the_user_s_time_zone(user_client, user):
    team = workspaces.create_team_workspace(user=user, name="Studio")
    invitation, _token = workspaces.create_invitation(
        membership=team, role=Role.VIEWER, days=7, max_uses=1
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=dt.datetime(2030, 1, 1, 20, 0, tzinfo=dt.UTC)
    )
    members = reverse("gallery:members", args=[team.workspace.slug])
    assert "Jan. 1, 2030, 8 p.m." in user_client.get(members).content.decode()
    UserPreference.objects.create(user=user, time_zone="Asia/Shanghai", language="zh-hans")
    user_client.force_login(user)  # a new session reads the stored preferences
    page = user_client.get(members).content.decode()
    assert "2030年1月2日 04:00" in page
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE  # not left active


def test_numbers_are_grouped_by_thousands_in_both_languages():
    form_help = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            form_help[language] = str(GenerateForm().fields["prompt"].help_text)
            assert budgets.money(Decimal("12345.5")) == "$12,345.50"
    assert form_help["en"] == "Up to 1,000 characters."  # the demo model's limit
    assert form_help["zh-hans"] == "最多 1,000 个字符。"


def test_a_message_stored_now_is_read_in_each_viewer_s_language():
    message = Message.join(
        [
            Message(gettext_noop("Moved to the trash.")),
            Message(gettext_noop("Welcome to Atelier, %(username)s."), username="ada"),
            "The provider said: no.",
        ]
    )
    stored = message.to_json()
    again = Message.from_json(stored)
    assert again == message
    with translation.override("en"):
        assert str(again) == "Moved to the trash. Welcome to Atelier, ada. The provider said: no."
    with translation.override("zh-hans"):
        assert str(again) == "已移到回收站。欢迎来到 Atelier，ada。The provider said: no."
    assert (
        message.english() == "Moved to the trash. Welcome to Atelier, ada. The provider said: no."
    )
    assert str(Message.from_json("plain old text")) == "plain old text"


@pytest.mark.django_db
def test_a_signed_in_page_costs_no_query_for_the_preferences(
    client, user, django_assert_num_queries
):
    client.force_login(user)
    client.get(reverse("gallery:preferences"))
    # session, user, the header's workspaces: the preferences come from the session.
    with django_assert_num_queries(3):
        client.get(reverse("gallery:preferences"))


@pytest.mark.django_db
def test_role_names_and_statuses_are_translated(user_client):
    make_user("grace", "a-long-unusual-pass-42")
    with translation.override("zh-hans"):
        assert str(Role.EDITOR.label) == "编辑者"


@pytest.mark.django_db
def test_a_failed_generation_s_error_is_kept_as_a_message_and_shown_in_the_viewer_s_language(
    client, user, membership
):
    from gallery.services import images_api
    from gallery.services.generations import error_fields, gave_up_message
    from tests.factories import make_generation

    error = images_api.RateLimitedError(
        Message.join(
            [
                Message(gettext_noop("The image service is busy with too many requests.")),
                images_api.errors.try_again(5),
            ]
        )
    )
    assert error.user_message == (
        "The image service is busy with too many requests. Try again in about 5 seconds."
    )
    last_word = gave_up_message(error, attempts=3)
    fields = error_fields(error.kind, last_word)
    assert fields["error_message"] == (
        "The image service is busy with too many requests. Atelier tried 3 times, then "
        "stopped. Press Retry to try again later."
    )
    generation = make_generation(
        created_by=user, workspace=membership.workspace, status="failed", **fields
    )
    UserPreference.objects.create(user=user, language="zh-hans")
    client.force_login(user)
    page = client.get(reverse("gallery:generation", args=[generation.pk])).content.decode()
    assert "图像服务请求过多，正忙。Atelier 已尝试 3 次，现已停止。请稍后点击“重试”。" in page
    assert "失败" in page
