"""Query bodies built from search requests: per-language matching, entities, filters, sort, paging, collapse."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from newsflow.search import QueryError, SearchRequest, build_body, entity_table
from newsflow.search.body import FILTER_FIELDS, MAX_COLLAPSED_OFFSET, Page, decode_cursor, encode_cursor
from newsflow.search.results import marked_html, why_matched

ENTITIES = entity_table()


def named_queries(node) -> list[str]:
    """Every `_name` in a query, depth first."""
    if isinstance(node, dict):
        own = [node["_name"]] if "_name" in node else []
        return own + [name for value in node.values() for name in named_queries(value)]
    if isinstance(node, list):
        return [name for value in node for name in named_queries(value)]
    return []


def fields_queried(node) -> set[str]:
    text = orjson.dumps(node).decode()
    return {field for field in ("title.en^2", "body.ar", "body.ar_skeleton", "title^2", "body.exact") if field in text}


def test_words_match_each_document_in_its_own_language_fields():
    body = build_body(SearchRequest(query="central bank rates"))
    (clause,) = body["query"]["bool"]["must"]
    per_language = clause["bool"]["should"]
    assert [c["bool"].get("filter") for c in per_language[:2]] == [
        [{"term": {"language": "en"}}],
        [{"term": {"language": "ar"}}],
    ]
    assert per_language[2]["bool"]["must_not"] == [{"terms": {"language": ["en", "ar"]}}]
    assert fields_queried(clause) == {"title.en^2", "body.ar", "body.ar_skeleton", "title^2"}
    assert clause["bool"]["_name"] == "text:central bank rates"


@pytest.mark.parametrize("query", ["Daesh", "ISIS", "isis", "داعش", '"Islamic State"'])
def test_any_name_of_an_entity_also_matches_its_canonical_id(query):
    body = build_body(SearchRequest(query=query), ENTITIES)
    assert "entity:org:islamic-state" in named_queries(body["query"])
    (either,) = body["query"]["bool"]["must"]
    assert either["bool"]["minimum_should_match"] == 1 and len(either["bool"]["should"]) == 2


def test_words_around_an_entity_must_still_match_as_text():
    body = build_body(SearchRequest(query="ISIS merger Moscow"), ENTITIES)
    names = named_queries(body["query"])
    assert {"entity:org:islamic-state", "entity:loc:moscow", "text:merger"} <= set(names)
    assert len(body["query"]["bool"]["must"]) == 3


def test_a_phrase_that_only_contains_a_name_stays_a_phrase():
    body = build_body(SearchRequest(query='"ISIS fighters"'), ENTITIES)
    assert named_queries(body["query"]) == ["phrase:ISIS fighters"]
    assert fields_queried(body["query"]) == {"body.exact"}


def test_exclusions_and_no_entities_without_a_table():
    body = build_body(SearchRequest(query="Lavrov -football"))
    assert named_queries(body["query"]) == ["text:Lavrov"]
    (excluded,) = body["query"]["bool"]["must_not"]
    assert excluded["multi_match"]["query"] == "football"


def test_every_facet_is_a_filter_and_an_aggregation():
    values = {attribute: [f"{attribute}-value"] for attribute in FILTER_FIELDS}
    body = build_body(SearchRequest(**values, since=datetime(2026, 3, 1), until=datetime(2026, 3, 5)))
    filters = body["query"]["bool"]["filter"]
    for attribute, indexed in FILTER_FIELDS.items():
        assert {"terms": {indexed: [f"{attribute}-value"]}} in filters
        assert body["aggs"][attribute] == {"terms": {"field": indexed, "size": 10}}
    assert {"range": {"published_at": {"gte": "2026-03-01T00:00:00", "lt": "2026-03-05T00:00:00"}}} in filters
    assert "auto_date_histogram" in body["aggs"]["published"]


def test_sorts_end_with_a_unique_tie_breaker():
    assert build_body(SearchRequest())["sort"][0] == "_score"
    date_sort = build_body(SearchRequest(sort="date"))["sort"]
    assert date_sort == [{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]


def test_uncollapsed_pages_continue_with_search_after():
    first = SearchRequest(collapse="none", sort="date")
    cursor = encode_cursor(first, Page(search_after=["2026-03-02T00:00:00Z", "abc"]))
    body = build_body(SearchRequest(collapse="none", sort="date", cursor=cursor))
    assert body["search_after"] == ["2026-03-02T00:00:00Z", "abc"] and "collapse" not in body


def test_collapsed_pages_continue_by_offset_up_to_the_result_window():
    request = SearchRequest(collapse="stories")
    body = build_body(SearchRequest(collapse="stories", cursor=encode_cursor(request, Page(offset=20))))
    assert body["from"] == 20 and body["collapse"]["field"] == "story_group"
    assert build_body(SearchRequest())["collapse"]["field"] == "duplicate_group"
    with pytest.raises(QueryError, match="paged"):
        build_body(SearchRequest(collapse="stories", cursor=encode_cursor(request, Page(offset=MAX_COLLAPSED_OFFSET))))


@pytest.mark.parametrize("cursor", ["not a cursor", "e30", encode_cursor(SearchRequest(sort="date"), Page(offset=1))])
def test_foreign_or_forged_cursors_are_refused(cursor):
    with pytest.raises(QueryError, match="cursor"):
        decode_cursor(SearchRequest(cursor=cursor))


@pytest.mark.parametrize(
    "request_fields",
    [{"size": 101}, {"size": -1}, {"sort": "popularity"}, {"collapse": "outlets"}, {"query": 'say "hi'}],
)
def test_invalid_requests_raise_query_error(request_fields):
    with pytest.raises(QueryError):
        build_body(SearchRequest(**request_fields))


def test_highlights_escape_article_text_and_mark_only_the_matches():
    assert marked_html('<script>x</script> \ue000ISIS\ue001 & "co"') == (
        "&lt;script&gt;x&lt;/script&gt; <mark>ISIS</mark> &amp; &quot;co&quot;"
    )


def test_why_matched_names_the_entity():
    reasons = why_matched(["entity:org:islamic-state", "text:Daesh"], ENTITIES)
    assert reasons == [
        {"kind": "entity", "entity_id": "org:islamic-state", "label": "Islamic State"},
        {"kind": "text", "text": "Daesh"},
    ]


def test_cli_and_api_parameter_names_build_the_request_they_name() -> None:
    request = SearchRequest.from_parameters(
        q="Daesh", outlet=["Al Jazeera"], country=["qa"], lang=["ar"], entity=["Q2429253"], size=5, sort="date"
    )
    assert request == SearchRequest(
        query="Daesh",
        outlets=["Al Jazeera"],
        outlet_countries=["qa"],
        languages=["ar"],
        entity_ids=["Q2429253"],
        size=5,
        sort="date",
    )
    with pytest.raises(QueryError):
        SearchRequest.from_parameters(size=500)
