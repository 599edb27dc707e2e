from __future__ import annotations

import pytest
from django.db import connection

from gallery.models import Generation, Image
from gallery.services.search import (
    MAX_TERMS,
    filter_generations,
    filter_images,
    fts_match_expression,
    newest_first,
    parse_terms,
)
from gallery.services.workspaces import personal_membership
from tests.factories import make_generation, make_team

pytestmark = pytest.mark.django_db


def ws(user) -> int:
    return personal_membership(user=user).workspace_id


def generations_of(user):
    return Generation.objects.for_member(personal_membership(user=user))


def images_of(user):
    return Image.objects.for_member(personal_membership(user=user))


def matching(user, query: str) -> set[str]:
    """The prompts of the generations of the user's personal workspace that match `query`."""
    generations = filter_generations(generations_of(user), workspace_id=ws(user), query=query)
    return set(generations.values_list("prompt", flat=True))


@pytest.fixture
def prompts(user):
    for prompt in (
        "a watercolor fox under a neon moon",
        "A Pixel-Art FOX in the snow",
        "画一只猫在月亮上",
        "一只狗在海边",
        "a robot painting a mural",
        "studio photo of a teapot",
    ):
        make_generation(created_by=user, prompt=prompt, n_images=1)


def test_an_english_word_matches_wherever_it_is_and_in_any_case(user, prompts):
    assert matching(user, "fox") == {
        "a watercolor fox under a neon moon",
        "A Pixel-Art FOX in the snow",
    }
    assert matching(user, "WATERCOLOR") == {"a watercolor fox under a neon moon"}
    assert matching(user, "teapo") == {"studio photo of a teapot"}  # a substring, not a word


def test_a_chinese_substring_matches_without_word_boundaries(user, prompts):
    assert matching(user, "一只猫") == {"画一只猫在月亮上"}
    assert matching(user, "月亮上") == {"画一只猫在月亮上"}
    assert matching(user, "一只") == {"画一只猫在月亮上", "一只狗在海边"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("猫", {"画一只猫在月亮上"}),
        ("月亮", {"画一只猫在月亮上"}),
        ("ai", {"a robot painting a mural"}),
        ("AI", {"a robot painting a mural"}),
        ("x", {"a watercolor fox under a neon moon", "A Pixel-Art FOX in the snow"}),
        ("猫 moon", set()),
        ("fox 雪", set()),
        ("fox sn", {"A Pixel-Art FOX in the snow"}),
    ],
)
def test_one_and_two_character_terms_match_too(user, prompts, query, expected):
    assert matching(user, query) == expected


def test_every_term_must_match_in_any_order(user, prompts):
    assert matching(user, "fox moon") == {"a watercolor fox under a neon moon"}
    assert matching(user, "moon fox") == {"a watercolor fox under a neon moon"}
    assert matching(user, "fox teapot") == set()


def test_a_quoted_phrase_is_one_term(user, prompts):
    assert matching(user, '"neon moon"') == {"a watercolor fox under a neon moon"}
    assert matching(user, '"fox moon"') == set()
    assert matching(user, '"a   neon   moon"') == {"a watercolor fox under a neon moon"}


def test_the_revised_prompt_is_searched_too(user):
    make_generation(
        created_by=user, prompt="a cat", revised_prompt="A fluffy ginger cat, oil paint"
    )
    make_generation(created_by=user, prompt="a dog", revised_prompt="猫和狗")

    assert matching(user, "ginger") == {"a cat"}
    assert matching(user, "oil paint") == {"a cat"}
    assert matching(user, "猫和") == {"a dog"}
    assert matching(user, "猫") == {"a dog"}
    # Terms may match across the two texts.
    assert matching(user, "dog 猫和狗") == {"a dog"}


def test_another_users_rows_never_match(user, other_user):
    make_generation(created_by=user, prompt="my own fox")
    make_generation(created_by=other_user, prompt="their fox")
    make_generation(created_by=other_user, prompt="their 猫")

    assert matching(user, "fox") == {"my own fox"}
    assert matching(user, "their") == set()
    assert matching(user, "猫") == set()


def test_an_empty_or_blank_query_filters_nothing(user, prompts):
    everything = set(generations_of(user).values_list("prompt", flat=True))

    assert matching(user, "") == everything
    assert matching(user, "   ") == everything
    assert matching(user, '""') == everything


FTS_SYNTAX = [
    '"',
    '""',
    '"fox',
    'fox"',
    "*",
    "fox*",
    "fo*",
    "AND",
    "fox AND",
    "OR",
    "fox OR moon",
    "NOT fox",
    "NOT",
    "(",
    ")",
    "(fox",
    "fox)",
    "-",
    "-fox",
    "fox -moon",
    "NEAR(fox moon)",
    "NEAR",
    "^fox",
    "prompt:fox",
    "revised_prompt : fox",
    "{prompt}: fox",
    "+",
    ":",
    "%",
    "_",
    "\\",
    "'",
    "fox's",
    "a'b\"c",
    "fox\x00moon",
    "\x00",
    "[fault]",
    ";--",
    "' OR 1=1 --",
    "🦊",
    "🦊🌙✨",
    "\uff46\uff4f\uff58",  # full-width letters
]


@pytest.mark.parametrize("query", FTS_SYNTAX)
def test_query_syntax_in_what_people_type_never_raises(user, prompts, query):
    generations = filter_generations(generations_of(user), workspace_id=ws(user), query=query)
    images = filter_images(images_of(user), workspace_id=ws(user), query=query)

    list(generations)
    list(images)
    list(newest_first(generations, workspace_id=ws(user)))
    list(newest_first(images, workspace_id=ws(user)))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("fox*", set()),  # not a prefix search: the star is text
        ("fox AND moon", set()),  # AND is a word to find, and no prompt holds it
        ('"fox"', {"a watercolor fox under a neon moon", "A Pixel-Art FOX in the snow"}),
        ("fox -moon", set()),
        ("pixel-art", {"A Pixel-Art FOX in the snow"}),
    ],
)
def test_syntax_characters_are_text(user, prompts, query, expected):
    assert matching(user, query) == expected


def test_like_wildcards_are_text(user):
    make_generation(created_by=user, prompt="100% cotton t-shirt")
    make_generation(created_by=user, prompt="a snake_case sign")
    make_generation(created_by=user, prompt="a snakes case")
    make_generation(created_by=user, prompt="C:\\path\\to")

    assert matching(user, "%") == {"100% cotton t-shirt"}
    assert matching(user, "0%") == {"100% cotton t-shirt"}
    assert matching(user, "100%") == {"100% cotton t-shirt"}
    assert matching(user, "_") == {"a snake_case sign"}
    assert matching(user, "e_c") == {"a snake_case sign"}
    assert matching(user, "snake_case") == {"a snake_case sign"}
    assert matching(user, "\\") == {"C:\\path\\to"}
    assert matching(user, "\\path") == {"C:\\path\\to"}


def test_quotes_inside_prompts_can_be_found(user):
    make_generation(created_by=user, prompt='a sign that says "hello" in neon')
    make_generation(created_by=user, prompt="the fox's den")

    assert matching(user, '"hello"') == {'a sign that says "hello" in neon'}
    assert matching(user, "fox's") == {"the fox's den"}
    assert matching(user, "'s") == {"the fox's den"}


def test_the_index_follows_updates_and_deletes(user):
    generation = make_generation(created_by=user, prompt="a red fox")
    other = make_generation(created_by=user, prompt="a blue whale", revised_prompt="a humpback")

    generation.prompt = "a green parrot"
    generation.save()
    assert matching(user, "fox") == set()
    assert matching(user, "parrot") == {"a green parrot"}

    Generation.objects.filter(pk=other.pk).update(revised_prompt="an orca in the arctic")
    assert matching(user, "arctic") == {"a blue whale"}
    assert matching(user, "humpback") == set()

    # Saving unrelated fields (as workers do) leaves the index as it was.
    Generation.objects.filter(pk=other.pk).update(status=Generation.Status.FAILED)
    other.refresh_from_db()
    other.save()
    assert matching(user, "orca") == {"a blue whale"}

    generation.delete()
    assert matching(user, "parrot") == set()
    Generation.objects.filter(pk=other.pk).delete()
    assert matching(user, "orca") == set()
    assert_search_index_is_consistent()


def assert_search_index_is_consistent() -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        # FTS5 compares its index with the content table and raises when they disagree.
        cursor.execute(
            "INSERT INTO gallery_generation_fts(gallery_generation_fts, rank) "
            "VALUES ('integrity-check', 1)"
        )


def test_the_index_is_consistent_after_many_changes(user, other_user):
    generations = [
        make_generation(created_by=owner, prompt=f"prompt {i} 画一只猫", revised_prompt=f"r{i}")
        for i in range(20)
        for owner in (user, other_user)
    ]
    for generation in generations[::3]:
        generation.prompt += " edited"
        generation.save(update_fields=["prompt"])
    for generation in generations[1::5]:
        generation.delete()

    assert_search_index_is_consistent()
    assert len(matching(user, "edited")) == len(
        [g for g in generations[::3] if g.created_by == user and g.pk]
    )


def test_filter_images_finds_the_images_of_matching_generations(user, other_user):
    fox = make_generation(created_by=user, prompt="a fox", n_images=2)
    make_generation(created_by=user, prompt="a whale", n_images=1)
    make_generation(created_by=other_user, prompt="a fox", n_images=1)

    for query in ("fox", "fo"):
        images = filter_images(images_of(user), workspace_id=ws(user), query=query)
        assert set(images) == set(fox.images.all())


def test_results_are_lazy_querysets_that_chain(user, django_assert_num_queries):
    make_generation(created_by=user, prompt="a fox", model="dall-e-3", n_images=1)
    make_generation(created_by=user, prompt="a fox", model="gpt-image-1", n_images=1)
    make_generation(created_by=user, prompt="a whale", model="dall-e-3", n_images=1)

    workspace_id, everything = ws(user), generations_of(user)
    with django_assert_num_queries(0):
        generations = filter_generations(everything, workspace_id=workspace_id, query="fox")
        generations = generations.of_model("dall-e-3")
        generations = filter_generations(generations, workspace_id=workspace_id, query="a f")
    with django_assert_num_queries(1):
        assert generations.count() == 1
    # A search is usable as a subquery of another query.
    images = Image.objects.filter(generation__in=generations)
    assert images.count() == 1
    assert (
        filter_images(images_of(user), workspace_id=ws(user), query="fox")
        .of_model("dall-e-3")
        .count()
    )


def test_newest_first_orders_by_generation_and_bounds_by_the_cursor(user):
    made = [
        make_generation(created_by=user, prompt=f"fox number {i}", n_images=2) for i in range(5)
    ]
    newest = [g.pk for g in reversed(made)]

    for query in ("fox", "fo", "fox fo"):
        generations = filter_generations(generations_of(user), workspace_id=ws(user), query=query)
        assert (
            list(newest_first(generations, workspace_id=ws(user)).values_list("pk", flat=True))
            == newest
        )
        older = newest_first(generations, workspace_id=ws(user), before_generation=newest[1])
        assert list(older.values_list("pk", flat=True)) == newest[2:]

        images = filter_images(images_of(user), workspace_id=ws(user), query=query)
        generation_ids = list(
            newest_first(images, workspace_id=ws(user)).values_list("generation_id", flat=True)
        )
        assert generation_ids == [pk for pk in newest for _ in range(2)]


def test_parse_terms():
    assert parse_terms("  fox   moon ") == ["fox", "moon"]
    assert parse_terms('"neon moon" fox') == ["neon moon", "fox"]
    assert parse_terms('"fox') == ["fox"]
    assert parse_terms("fox FOX Fox") == ["fox"]
    assert parse_terms('""') == []
    assert parse_terms("a\x00b") == ["ab"]
    assert len(parse_terms(" ".join(f"w{i}" for i in range(50)))) == MAX_TERMS


def test_fts_expression_quotes_every_term():
    assert fts_match_expression(["fox", 'say "hi"', "NEAR(a"]) == (
        '"fox" AND "say ""hi""" AND "NEAR(a"'
    )


def test_a_long_query_is_cut_not_refused(user, prompts):
    assert matching(user, "fox " + "x" * 10_000) == set()
    assert matching(user, "fox " * 500) == {
        "a watercolor fox under a neon moon",
        "A Pixel-Art FOX in the snow",
    }


def test_search_results_can_be_updated_and_deleted_in_bulk(user, other_user):
    mine = [make_generation(created_by=user, prompt=f"a fox {i}", n_images=1) for i in range(3)]
    kept = make_generation(created_by=user, prompt="a whale", n_images=1)
    theirs = make_generation(created_by=other_user, prompt="a fox", n_images=1)

    for query in ("fox", "fo"):
        images = filter_images(images_of(user), workspace_id=ws(user), query=query)
        assert images.update(is_favorite=True) == 3
        assert images.update(is_favorite=False) == 3
    deleted, _ = filter_images(images_of(user), workspace_id=ws(user), query="fox 0").delete()
    assert deleted == 1
    assert not mine[0].images.exists()
    generations = filter_generations(generations_of(user), workspace_id=ws(user), query="fox")
    assert generations.update(status=Generation.Status.FAILED) == 3

    assert set(Generation.objects.filter(status=Generation.Status.FAILED)) == set(mine)
    deleted, _ = generations.delete()
    assert deleted == 5  # three generations and their two remaining images
    assert set(Generation.objects.all()) == {kept, theirs}
    assert_search_index_is_consistent()


def test_a_workspace_finds_only_its_own_rows_and_pages_within_them(user, other_user):
    """The index is keyed by workspace: the same words in another workspace never match, and
    the cursor bounds stay inside the workspace's part of the index."""
    team = make_team(members={user: "owner", other_user: "editor"})
    in_team = [
        make_generation(created_by=other_user, workspace=team, prompt=f"fox {i}", n_images=1)
        for i in range(3)
    ]
    mine = [make_generation(created_by=user, prompt=f"fox {i}", n_images=1) for i in range(3)]
    team_generations = Generation.objects.filter(workspace=team)
    for query in ("fox", "fo"):
        found = filter_generations(team_generations, workspace_id=team.pk, query=query)
        ordered = list(newest_first(found, workspace_id=team.pk).values_list("pk", flat=True))
        assert ordered == [g.pk for g in reversed(in_team)]
        older = newest_first(found, workspace_id=team.pk, before_generation=in_team[1].pk)
        assert list(older.values_list("pk", flat=True)) == [in_team[0].pk]
        assert matching(user, query) == {g.prompt for g in mine}
    # A generation moved to another workspace is found there, and only there.
    Generation.objects.filter(pk=mine[0].pk).update(workspace=team)
    assert_search_index_is_consistent()
    assert "fox 0" not in matching(user, "fox")
    moved = filter_generations(team_generations, workspace_id=team.pk, query="fox 0")
    assert set(moved.values_list("pk", flat=True)) == {in_team[0].pk, mine[0].pk}
