"""Search on the real index of the sample corpus: entities across languages, collapse, paging, filters, facets."""

from __future__ import annotations

import pytest

from newsflow.search import QueryError, SearchRequest, entity_table, search
from newsflow.urls import article_id

from .conftest import seed_files

ENTITIES = entity_table()
A03 = article_id("https://www.northbridgepress.example/business/2026/03/03/egypt-central-bank-holds-rates")
A04 = article_id(
    "https://nileherald.example/business/central-bank-of-egypt-keeps-rates-on-hold-signals-cuts-may-come-soon"
)


@pytest.fixture(scope="module")
def find(corpus, corpus_es):
    def run(**fields):
        return search(corpus_es, corpus.articles_alias, SearchRequest(**fields), ENTITIES)

    return run


@pytest.fixture(scope="module")
def with_entities(find):
    if not find(size=0)["facets"]["entity_ids"]:
        pytest.skip("the worker indexed no entity ids (entity stage not in the pipeline yet); see test_entity_search")


def reasons(hit) -> set[str]:
    return {reason["kind"] for reason in hit["matched"]}


@pytest.mark.parametrize("query", ["Daesh", "ISIS", "داعش"])
def test_any_name_finds_the_entity_in_both_languages_and_says_why(find, with_entities, query):
    result = find(query=query, size=50, collapse="none")
    languages = {hit["language"] for hit in result["hits"]}
    assert {"en", "ar"} <= languages, languages
    for hit in result["hits"]:
        assert hit["matched"], hit
    by_entity_only = [hit for hit in result["hits"] if reasons(hit) == {"entity"}]
    assert by_entity_only, "some articles must be found through the canonical id alone"
    assert all(
        any(reason.get("entity_id") == "org:islamic-state" for reason in hit["matched"]) for hit in by_entity_only
    )


def test_the_same_entity_gives_the_same_articles_whatever_its_name(find, with_entities):
    ids = [{hit["id"] for hit in find(query=name, size=100, collapse="none")["hits"]} for name in ("Daesh", "داعش")]
    assert ids[0] == ids[1]


def test_near_duplicates_collapse_into_one_hit_with_the_group_size(find):
    every = find(query="Egypt central bank rates", collapse="none", size=20)
    assert {A03, A04} <= {hit["id"] for hit in every["hits"]}
    collapsed = find(query="Egypt central bank rates", collapse="duplicates", size=20)
    in_group = [hit for hit in collapsed["hits"] if hit["id"] in (A03, A04)]
    assert len(in_group) == 1 and in_group[0]["group"]["size"] == 2
    assert in_group[0]["group"]["others"][0]["id"] in (A03, A04)
    stories = find(query="Egypt central bank rates", collapse="stories", size=20)
    assert len(stories["hits"]) <= len(collapsed["hits"])


def test_pages_follow_search_after_without_gaps_or_repeats(find):
    total = find(size=0, collapse="none")["total"]
    seen: list[str] = []
    cursor = None
    while True:
        page = find(size=7, sort="date", collapse="none", cursor=cursor)
        seen.extend(hit["id"] for hit in page["hits"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == total


def test_collapsed_pages_continue_by_offset(find):
    first = find(size=5, sort="date")
    second = find(size=5, sort="date", cursor=first["next_cursor"])
    assert not {hit["id"] for hit in first["hits"]} & {hit["id"] for hit in second["hits"]}


def test_filters_narrow_and_facets_count(find):
    everything = find(size=0)
    languages = {bucket["key"]: bucket["count"] for bucket in everything["facets"]["languages"]}
    assert languages["en"] > languages["ar"] > 0
    arabic = find(languages=["ar"], size=50, collapse="none")
    assert arabic["total"] == languages["ar"] and all(hit["direction"] == "rtl" for hit in arabic["hits"])
    outlet = everything["facets"]["outlets"][0]
    assert find(outlets=[outlet["key"]], size=0)["total"] == outlet["count"]
    march_2 = find(since=_day(2), until=_day(3), size=50, collapse="none")
    assert march_2["total"] and all(hit["published_at"] < "2026-03-03T02" for hit in march_2["hits"])
    assert everything["facets"]["published"]


def _day(number: int):
    from datetime import UTC, datetime

    return datetime(2026, 3, number, tzinfo=UTC)


def test_highlights_mark_the_words_in_the_documents_language(find):
    result = find(query="الأمن", languages=["ar"], size=5)
    assert result["hits"] and all("<mark>" in hit["snippet_html"] + hit["title_html"] for hit in result["hits"])


def test_phrases_and_exclusions(find):
    phrase = find(query='"central bank"', size=20, collapse="none")
    assert A03 in {hit["id"] for hit in phrase["hits"]}
    excluded = find(query='"central bank" -Egypt', size=20, collapse="none")
    assert A03 not in {hit["id"] for hit in excluded["hits"]}


@pytest.mark.skipif(not seed_files(), reason="../shared/seeds is not beside this checkout")
def test_arabic_spelling_variants_of_a_name_find_the_arabic_seeds(find):
    written = {hit["id"] for hit in find(query="بورتنيكوف", languages=["ar"], size=20)["hits"]}
    variant = {hit["id"] for hit in find(query="وبورتينكوف", languages=["ar"], size=20)["hits"]}
    assert len(written) >= 2 and written <= variant


def test_bad_input_is_refused_before_elasticsearch(find):
    with pytest.raises(QueryError, match="never closed"):
        find(query='ISIS "Islamic')
