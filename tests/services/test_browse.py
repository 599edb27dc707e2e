from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.http import QueryDict
from django.utils import timezone

from gallery.models import Generation, Image, Membership
from gallery.services.browse import (
    GridFilters,
    Page,
    generation_page,
    image_page,
    prompt_history,
    usage_summary,
)
from gallery.services.workspaces import personal_membership
from tests.factories import make_generation, make_image, make_team, trash_generation, trash_image


def member(user) -> Membership:
    return personal_membership(user=user)


pytestmark = pytest.mark.django_db

NO_FILTERS = GridFilters()


def all_pages(fetch, *, per_page: int) -> list[list]:
    """Every page, following the cursors, as lists of items."""
    pages, cursor = [], None
    while True:
        page = fetch(cursor=cursor, per_page=per_page)
        pages.append(page.items)
        assert page.has_next == (page.next_cursor is not None)
        if not page.has_next:
            return pages
        cursor = page.next_cursor
        assert len(pages) < 1000


def ids(items) -> list[int]:
    return [item.id for item in items]


# -- GridFilters ---------------------------------------------------------------------------------


def test_filters_read_from_the_query_string():
    filters = GridFilters.from_query(
        QueryDict(
            "q=+a+fox+&model=dall-e-3&size=1024x1024&aspect_ratio=16:9&status=failed"
            "&favorites=1&date_from=2026-01-02&date_to=2026-02-03&cursor=99&unknown=1"
        )
    )

    assert filters == GridFilters(
        q="a fox",
        model="dall-e-3",
        size="1024x1024",
        aspect_ratio="16:9",
        status="failed",
        favorites=True,
        date_from=dt.date(2026, 1, 2),
        date_to=dt.date(2026, 2, 3),
    )
    assert not filters.is_empty
    assert GridFilters.from_query(QueryDict(urlencode(filters.as_query()))) == filters


def urlencode(query: dict[str, str]) -> str:
    q = QueryDict(mutable=True)
    q.update(query)
    return q.urlencode()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "status=nonsense",
        "status=",
        "date_from=yesterday&date_to=2026-13-45",
        "date_from=2026-1-2",
        "date_to=99999-01-01",
        "favorites=0",
        "favorites=maybe",
        "model=" + "m" * 65,
        "size=" + "1" * 17,
        "aspect_ratio=123456789",
        "q=%00",
        "model=%00",
    ],
)
def test_bad_filter_values_are_dropped_not_raised(query):
    assert GridFilters.from_query(QueryDict(query)).is_empty


def test_filters_from_a_plain_dict_with_odd_values():
    filters = GridFilters.from_query(
        {"q": 3, "favorites": ["1"], "model": None, "status": "partial"}
    )
    assert filters == GridFilters(status="partial")


def test_as_query_holds_only_what_differs_from_the_defaults():
    assert GridFilters().as_query() == {}
    assert GridFilters().is_empty
    assert GridFilters(favorites=True, date_to=dt.date(2026, 3, 1)).as_query() == {
        "favorites": "1",
        "date_to": "2026-03-01",
    }


def test_a_long_query_is_cut():
    assert len(GridFilters.from_query({"q": "x" * 5000}).q) == 200


# -- image_page --------------------------------------------------------------------------------


def images_of(user, filters=NO_FILTERS):
    return lambda cursor, per_page: image_page(
        membership=member(user), filters=filters, cursor=cursor, per_page=per_page
    )


def test_image_pages_cover_every_live_image_once_newest_first(user):
    generations = [make_generation(created_by=user, n_images=3) for _ in range(4)]
    expected = sorted((i.id for g in generations for i in g.images.all()), reverse=True)

    for per_page in (1, 5, 12, 48):
        pages = all_pages(images_of(user), per_page=per_page)
        assert [image.id for page in pages for image in page] == expected
        assert all(len(page) == per_page for page in pages[:-1])


def test_an_empty_gallery_is_one_empty_page(user):
    page = image_page(membership=member(user), filters=NO_FILTERS, cursor=None)
    assert page == Page(items=[], next_cursor=None)
    assert not page.has_next


def test_rows_added_between_page_loads_never_repeat_or_shift_what_comes_next(user):
    generation = make_generation(created_by=user, n_images=6)
    first = image_page(membership=member(user), filters=NO_FILTERS, cursor=None, per_page=4)
    newer = make_generation(created_by=user, n_images=3)

    second = image_page(
        membership=member(user), filters=NO_FILTERS, cursor=first.next_cursor, per_page=4
    )

    assert ids(first.items) + ids(second.items) == sorted(ids(generation.images.all()))[::-1]
    assert not set(ids(second.items)) & set(ids(newer.images.all()))
    assert not second.has_next


@pytest.mark.parametrize(
    "cursor", ["", "abc", "-5", "0", "1e3", "12.5", " 12", "\uff11\uff12", "9" * 40, "g12", "None"]
)
def test_a_malformed_cursor_gives_the_first_page(user, cursor):
    make_generation(created_by=user, n_images=3)
    first = image_page(membership=member(user), filters=NO_FILTERS, cursor=None, per_page=2)

    assert (
        image_page(membership=member(user), filters=NO_FILTERS, cursor=cursor, per_page=2) == first
    )


def test_trashed_images_and_generations_are_not_in_the_grid(user):
    kept = make_generation(created_by=user, n_images=2)
    trashed = make_generation(created_by=user, n_images=2)
    trash_generation(trashed)
    trash_image(kept.images.get(index=0))

    page = image_page(membership=member(user), filters=NO_FILTERS, cursor=None)

    assert ids(page.items) == [kept.images.get(index=1).id]


def test_the_grid_is_the_users_own(user, other_user):
    mine = make_generation(created_by=user, n_images=1)
    make_generation(created_by=other_user, n_images=3)

    assert ids(image_page(membership=member(user), filters=NO_FILTERS, cursor=None).items) == ids(
        mine.images.all()
    )
    # Another user's cursor shows them nothing of mine.
    theirs = image_page(membership=member(other_user), filters=NO_FILTERS, cursor=None, per_page=1)
    other_page = image_page(
        membership=member(other_user), filters=NO_FILTERS, cursor=theirs.next_cursor
    )
    assert not set(ids(other_page.items)) & set(ids(mine.images.all()))


def test_a_team_grid_holds_every_member_s_rows_and_nothing_else(user, other_user):
    team = make_team(members={user: "owner", other_user: "viewer"})
    ours = [
        make_generation(created_by=maker, workspace=team, prompt="a fox", n_images=1)
        for maker in (user, other_user)
    ]
    make_generation(created_by=user, prompt="a fox", n_images=1)  # in ada's own workspace
    viewer = Membership.objects.get(workspace=team, user=other_user)
    for filters in (NO_FILTERS, GridFilters(q="fox")):
        page = image_page(membership=viewer, filters=filters, cursor=None)
        assert {image.generation for image in page.items} == set(ours)
        generations = generation_page(membership=viewer, filters=filters, cursor=None)
        assert set(generations.items) == set(ours)


def test_image_filters(user):
    dalle = make_generation(created_by=user, model="dall-e-3", size="1792x1024", n_images=2)
    square = make_generation(created_by=user, model="grok-3-image", size="960x960", n_images=1)
    wide = make_generation(created_by=user, model="grok-3-image", aspect_ratio="16:9", n_images=1)
    partial = make_generation(created_by=user, status=Generation.Status.PARTIAL, n_images=1, n=2)
    favorite = make_image(generation=square, is_favorite=True)
    trashed_favorite = make_image(generation=square, is_favorite=True)
    trash_image(trashed_favorite)

    def shown(**filters) -> set[int]:
        page = image_page(membership=member(user), filters=GridFilters(**filters), cursor=None)
        return set(ids(page.items))

    assert shown(model="dall-e-3") == set(ids(dalle.images.all()))
    assert shown(model="grok-3-image", size="960x960") == {
        i.id for i in square.images.all() if i.deleted_at is None
    }
    assert shown(aspect_ratio="16:9") == set(ids(wide.images.all()))
    assert shown(status="partial") == set(ids(partial.images.all()))
    assert shown(favorites=True) == {favorite.id}
    assert shown(model="dall-e-3", favorites=True) == set()
    assert shown(model="no-such-model") == set()


def test_date_filters_take_whole_days_in_the_current_time_zone(user):
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")

    def at(day: int, hour: int) -> dt.datetime:
        return dt.datetime(2026, 3, day, hour, 30, tzinfo=tokyo)

    # 00:30 on the 2nd in Tokyo is still the 1st in UTC.
    early = make_generation(created_by=user, created_at=at(2, 0), n_images=1)
    late = make_generation(created_by=user, created_at=at(2, 23), n_images=1)
    before = make_generation(created_by=user, created_at=at(1, 23), n_images=1)
    after = make_generation(created_by=user, created_at=at(3, 0), n_images=1)

    with timezone.override(tokyo):
        on_the_2nd = GridFilters(date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 2))
        images = image_page(membership=member(user), filters=on_the_2nd, cursor=None).items
        generations = generation_page(
            membership=member(user), filters=on_the_2nd, cursor=None
        ).items
        from_the_2nd = GridFilters(date_from=dt.date(2026, 3, 2))
        until_the_2nd = GridFilters(date_to=dt.date(2026, 3, 2))
        assert {
            i.generation
            for i in image_page(membership=member(user), filters=from_the_2nd, cursor=None).items
        } == {
            early,
            late,
            after,
        }
        assert set(
            generation_page(membership=member(user), filters=until_the_2nd, cursor=None).items
        ) == {
            before,
            early,
            late,
        }

    assert {image.generation for image in images} == {early, late}
    assert set(generations) == {early, late}


def test_the_image_grid_loads_generations_with_the_page(user, django_assert_num_queries):
    membership = member(user)
    for _ in range(3):
        make_generation(created_by=user, n_images=4)

    for per_page in (2, 11):
        for filters in (NO_FILTERS, GridFilters(q="fox"), GridFilters(q="fo", favorites=True)):
            with django_assert_num_queries(1):
                page = image_page(
                    membership=membership, filters=filters, cursor=None, per_page=per_page
                )
                for image in page.items:
                    assert image.generation.prompt
                    assert image.thumbnail_small.name


# -- image_page with a search ----------------------------------------------------------------


def test_search_pages_run_newest_generation_first_and_end_at_a_generation(user):
    foxes = [
        make_generation(created_by=user, prompt=f"fox {i}", n_images=n)
        for i, n in enumerate([3, 1, 4, 2, 5, 1, 2])
    ]
    make_generation(created_by=user, prompt="a whale", n_images=3)

    for query in ("fox", "fo"):
        for per_page in (1, 3, 4, 10):
            pages = all_pages(images_of(user, GridFilters(q=query)), per_page=per_page)
            shown = [image for page in pages for image in page]
            expected = [
                image.id
                for generation in reversed(foxes)
                for image in sorted(generation.images.all(), key=lambda i: -i.id)
            ]
            assert ids(shown) == expected
            for page in pages:
                # Whole generations only, and no more than one generation past per_page.
                by_generation = {image.generation_id for image in page}
                for generation_id in by_generation:
                    assert {i.id for i in page if i.generation_id == generation_id} == set(
                        Image.objects.filter(generation_id=generation_id).values_list(
                            "id", flat=True
                        )
                    )
            for page in pages[:-1]:
                assert len(page) >= per_page
                last_generation = [i for i in page if i.generation_id == page[-1].generation_id]
                assert len(page) - len(last_generation) < per_page


def test_search_pages_do_not_repeat_when_generations_are_added(user):
    older = [make_generation(created_by=user, prompt="a fox", n_images=2) for _ in range(3)]
    filters = GridFilters(q="fox")
    first = image_page(membership=member(user), filters=filters, cursor=None, per_page=2)
    make_generation(created_by=user, prompt="a new fox", n_images=2)

    second = image_page(
        membership=member(user), filters=filters, cursor=first.next_cursor, per_page=2
    )
    third = image_page(
        membership=member(user), filters=filters, cursor=second.next_cursor, per_page=2
    )

    assert [ids(p.items) for p in (first, second, third)] == [
        sorted(ids(g.images.all()), reverse=True) for g in reversed(older)
    ]
    assert not third.has_next


def test_a_plain_cursor_on_a_search_page_is_ignored(user):
    make_generation(created_by=user, prompt="a fox", n_images=3)
    plain = image_page(membership=member(user), filters=NO_FILTERS, cursor=None, per_page=1)
    first = image_page(
        membership=member(user), filters=GridFilters(q="fox"), cursor=None, per_page=1
    )

    assert (
        image_page(
            membership=member(user),
            filters=GridFilters(q="fox"),
            cursor=plain.next_cursor,
            per_page=1,
        )
        == first
    )


def test_search_combines_with_the_other_filters(user, other_user):
    fox = make_generation(created_by=user, prompt="a fox", model="dall-e-3", n_images=2)
    make_generation(created_by=user, prompt="a fox", model="gpt-image-1", n_images=2)
    make_generation(created_by=user, prompt="a whale", model="dall-e-3", n_images=2)
    make_generation(created_by=other_user, prompt="a fox", model="dall-e-3", n_images=2)
    favorite = fox.images.get(index=1)
    Image.objects.filter(pk=favorite.pk).update(is_favorite=True)

    def shown(**filters) -> set[int]:
        return set(
            ids(
                image_page(
                    membership=member(user), filters=GridFilters(**filters), cursor=None
                ).items
            )
        )

    assert shown(q="fox", model="dall-e-3") == set(ids(fox.images.all()))
    assert shown(q="fo", model="dall-e-3") == set(ids(fox.images.all()))
    assert shown(q="fox", favorites=True) == {favorite.id}
    assert shown(q="fox whale") == set()


# -- generation_page -----------------------------------------------------------------------------


def generations_of(user, filters=NO_FILTERS):
    return lambda cursor, per_page: generation_page(
        membership=member(user), filters=filters, cursor=cursor, per_page=per_page
    )


def test_generation_pages_cover_every_live_generation_once_newest_first(user, other_user):
    made = [make_generation(created_by=user, prompt=f"fox {i}", n_images=i % 3) for i in range(9)]
    trash_generation(made[4])
    make_generation(created_by=other_user, n_images=1)
    expected = [g.id for g in reversed(made) if g.deleted_at is None]

    for filters in (NO_FILTERS, GridFilters(q="fox"), GridFilters(q="fo")):
        for per_page in (1, 4, 24):
            pages = all_pages(generations_of(user, filters), per_page=per_page)
            assert [g.id for page in pages for g in page] == expected


def test_generations_made_between_page_loads_do_not_repeat(user):
    older = [make_generation(created_by=user, prompt="a fox") for _ in range(4)]
    for filters in (NO_FILTERS, GridFilters(q="fox")):
        first = generation_page(membership=member(user), filters=filters, cursor=None, per_page=2)
        make_generation(created_by=user, prompt="a fox")
        second = generation_page(
            membership=member(user), filters=filters, cursor=first.next_cursor, per_page=2
        )

        assert first.items + second.items == older[::-1]
        assert not second.has_next
        Generation.objects.filter(pk__gt=older[-1].pk).delete()


def test_generation_pages_hold_their_live_images_in_index_order(user, django_assert_num_queries):
    membership = member(user)
    for _ in range(4):
        generation = make_generation(created_by=user, n_images=0)
        for index in (2, 0, 3, 1):
            make_image(generation=generation, index=index)
        trash_image(generation.images.get(index=3))

    for per_page in (1, 3, 10):
        for filters in (NO_FILTERS, GridFilters(q="fox", favorites=False), GridFilters(q="ox")):
            with django_assert_num_queries(2):
                page = generation_page(
                    membership=membership, filters=filters, cursor=None, per_page=per_page
                )
                for generation in page.items:
                    assert [image.index for image in generation.images.all()] == [0, 1, 2]


def test_generation_filters(user):
    favorite = make_generation(created_by=user, model="dall-e-3", n_images=2)
    Image.objects.filter(generation=favorite, index=0).update(is_favorite=True)
    trashed_favorite = make_generation(created_by=user, n_images=1)
    Image.objects.filter(generation=trashed_favorite).update(is_favorite=True)
    trash_image(trashed_favorite.images.get())
    failed = make_generation(created_by=user, status=Generation.Status.FAILED)
    plain = make_generation(created_by=user, model="dall-e-3", size="1792x1024", n_images=1)

    def shown(**filters) -> list[Generation]:
        return generation_page(
            membership=member(user), filters=GridFilters(**filters), cursor=None
        ).items

    assert shown(favorites=True) == [favorite]
    assert shown(status="failed") == [failed]
    assert shown(model="dall-e-3") == [plain, favorite]
    assert shown(size="1792x1024") == [plain]
    assert shown(model="dall-e-3", favorites=True) == [favorite]


# -- prompt_history ----------------------------------------------------------------------------


def test_prompts_are_grouped_by_their_normalised_form(user, other_user):
    first = make_generation(
        created_by=user, prompt="A fox  in the snow", model="dall-e-3", n_images=2
    )
    make_generation(created_by=user, prompt="a whale", n_images=1)
    second = make_generation(
        created_by=user, prompt="a fox in the snow", model="gpt-image-1", n_images=1
    )
    latest = make_generation(
        created_by=user, prompt=" A FOX in the\nsnow ", model="dall-e-3", n_images=0
    )
    make_generation(created_by=other_user, prompt="a fox in the snow", n_images=1)
    trashed = make_generation(
        created_by=user, prompt="a fox in the snow", model="dall-e-2", n_images=1
    )
    trash_generation(trashed)

    page = prompt_history(membership=member(user))

    assert [item.prompt_normalized for item in page.items] == ["a fox in the snow", "a whale"]
    fox = page.items[0]
    assert fox.prompt == " A FOX in the\nsnow "
    assert fox.generation_id == latest.id
    assert fox.last_used == latest.created_at
    assert fox.count == 3
    assert fox.models == ("dall-e-3", "gpt-image-1")
    assert [image.id for image in fox.thumbnails] == sorted(
        [*ids(first.images.all()), *ids(second.images.all())], reverse=True
    )
    assert page.items[1].count == 1
    assert not page.has_next


def test_the_thumbnail_strip_holds_the_newest_six_live_images(user):
    generations = [make_generation(created_by=user, prompt="a fox", n_images=3) for _ in range(3)]
    trash_image(generations[-1].images.get(index=2))
    live = sorted(
        (i.id for g in generations for i in g.images.all() if i.deleted_at is None), reverse=True
    )

    (fox,) = prompt_history(membership=member(user)).items

    assert [image.id for image in fox.thumbnails] == live[:6]


def test_prompt_history_pages_by_last_use(user):
    for i in range(7):
        make_generation(created_by=user, prompt=f"prompt {i}")
    make_generation(created_by=user, prompt="PROMPT 2")  # prompt 2 is now the most recent
    expected = ["prompt 2", "prompt 6", "prompt 5", "prompt 4", "prompt 3", "prompt 1", "prompt 0"]

    for per_page in (1, 2, 3, 30):
        pages = all_pages(
            lambda cursor, per_page: prompt_history(
                membership=member(user), cursor=cursor, per_page=per_page
            ),
            per_page=per_page,
        )
        assert [item.prompt_normalized for page in pages for item in page] == expected

    assert prompt_history(membership=member(user), cursor="garbage") == prompt_history(
        membership=member(user)
    )


def test_prompt_history_query_count_does_not_grow_with_the_page(user, django_assert_num_queries):
    membership = member(user)
    for i in range(12):
        for model in ("dall-e-3", "gpt-image-1"):
            make_generation(created_by=user, prompt=f"prompt {i}", model=model, n_images=2)

    for per_page in (1, 5, 12):
        with django_assert_num_queries(3):
            page = prompt_history(membership=membership, per_page=per_page)
            for item in page.items:
                assert item.count == 2
                assert len(item.thumbnails) == 4
                assert [image.thumbnail_small.name for image in item.thumbnails]
    with django_assert_num_queries(1):
        assert prompt_history(membership=membership, query="nothing like it").items == []


def test_prompt_history_search(user):
    make_generation(created_by=user, prompt="画一只猫在月亮上")
    make_generation(created_by=user, prompt="a fox", revised_prompt="a red fox in a golden field")
    make_generation(created_by=user, prompt="a whale")

    def found(query: str) -> list[str]:
        return [item.prompt for item in prompt_history(membership=member(user), query=query).items]

    assert found("一只猫") == ["画一只猫在月亮上"]
    assert found("猫") == ["画一只猫在月亮上"]
    assert found("golden") == ["a fox"]
    assert found("a") == ["a whale", "a fox"]
    assert found("nothing") == []


# -- usage_summary -------------------------------------------------------------------------------


def test_usage_sums_images_and_tokens_per_day_and_model(user, other_user):
    today = timezone.localdate()
    now = timezone.now()
    yesterday = now - dt.timedelta(days=1)
    make_generation(created_by=user, model="dall-e-3", n_images=2, usage={"total_tokens": 100})
    make_generation(
        created_by=user, model="dall-e-3", n_images=1, usage={"input_tokens": 5, "output_tokens": 7}
    )
    make_generation(
        created_by=user,
        model="gpt-image-1",
        n_images=3,
        created_at=yesterday,
        usage={"total_tokens": 50, "input_tokens": 1, "output_tokens": 1},
    )
    trashed = make_generation(
        created_by=user, model="gpt-image-1", n_images=1, created_at=yesterday
    )
    trash_generation(trashed)
    make_generation(created_by=user, status=Generation.Status.FAILED, usage=None)
    # Odd shapes count as nothing rather than raising.
    for odd in ([1, 2], "n/a", {"total_tokens": None}, {"total_tokens": "x"}, 42, {"input": 3}):
        make_generation(created_by=user, model="demo", usage=odd)
    make_generation(
        created_by=user,
        n_images=5,
        usage={"total_tokens": 1000},
        created_at=now - dt.timedelta(days=40),
    )
    make_generation(created_by=other_user, n_images=5, usage={"total_tokens": 1000})

    summary = usage_summary(membership=member(user), days=30)

    assert summary.end == today
    assert summary.start == today - dt.timedelta(days=29)
    assert len(summary.days) == 30
    assert [day.day for day in summary.days] == sorted(day.day for day in summary.days)
    by_day = {day.day: day for day in summary.days}
    assert by_day[today].total.images == 3
    assert by_day[today].total.tokens == 112
    assert by_day[today].by_model["dall-e-3"].images == 3
    assert by_day[today].by_model["demo"].tokens == 0
    assert by_day[today - dt.timedelta(days=1)].by_model["gpt-image-1"].images == 4
    assert by_day[today - dt.timedelta(days=1)].by_model["gpt-image-1"].tokens == 50
    assert by_day[today - dt.timedelta(days=2)].total.images == 0
    assert list(summary.models) == ["gpt-image-1", "dall-e-3", "demo"]
    assert summary.models["gpt-image-1"].images == 4
    assert summary.total.images == 7
    assert summary.total.tokens == 162


def test_usage_days_follow_the_current_time_zone(user):
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    with timezone.override(tokyo):
        today = timezone.localdate()
        midnight = dt.datetime.combine(today, dt.time(0, 30), tzinfo=tokyo)
        make_generation(created_by=user, n_images=1, created_at=midnight, usage={"total_tokens": 9})

        summary = usage_summary(membership=member(user), days=1)

    assert [(day.day, day.total.images, day.total.tokens) for day in summary.days] == [
        (today, 1, 9)
    ]


@pytest.mark.parametrize(
    ("usage", "tokens"),
    [
        (None, 0),
        ({}, 0),
        ([], 0),
        ([{"total_tokens": 3}], 0),
        ("12", 0),
        (12, 0),
        ({"total_tokens": 12}, 12),
        ({"total_tokens": 12, "input_tokens": 1, "output_tokens": 2}, 12),
        ({"input_tokens": 1, "output_tokens": 2}, 3),
        ({"input_tokens": 1}, 1),
        ({"total_tokens": "12"}, 0),
        ({"total_tokens": 12.7}, 12),
        ({"total_tokens": True}, 0),
        ({"total_tokens": -5}, 0),
        ({"total_tokens": None, "input_tokens": 4}, 4),
        ({"total_tokens": "lots", "input_tokens": 2, "output_tokens": 2}, 4),
        ({"total_tokens": {"value": 3}}, 0),
        ({"total_tokens": 1e30}, 10**15),
        ({"input_tokens": 2, "output_tokens": [5]}, 2),
    ],
)
def test_token_counts_tolerate_every_usage_shape(user, usage, tokens):
    make_generation(created_by=user, usage=usage)
    make_generation(created_by=user, usage={"total_tokens": 1000}, n_images=2)

    summary = usage_summary(membership=member(user), days=1)

    assert summary.total.tokens == tokens + 1000
    assert summary.total.images == 2


# -- needing_attention ---------------------------------------------------------------------------


def test_needing_attention_is_the_pending_and_the_recent_failures(user, other_user):
    now = timezone.now()
    queued = make_generation(created_by=user, status=Generation.Status.QUEUED)
    running = make_generation(created_by=user, status=Generation.Status.RUNNING)
    failed_now = make_generation(created_by=user, status=Generation.Status.FAILED)
    make_generation(
        created_by=user, status=Generation.Status.FAILED, created_at=now - dt.timedelta(days=2)
    )
    make_generation(created_by=user, status=Generation.Status.SUCCEEDED)
    make_generation(created_by=other_user, status=Generation.Status.QUEUED)
    trashed = make_generation(created_by=user, status=Generation.Status.RUNNING)
    trash_generation(trashed)

    attention = (
        Generation.objects.for_member(member(user))
        .live()
        .needing_attention(failed_since=now - dt.timedelta(hours=24))
    )

    assert list(attention.order_by("-id")) == [failed_now, running, queued]
